import { resolve } from 'node:path';
import { concatMap, debounceTime, defer, EMPTY, filter, finalize, from, merge, type Observable, of } from 'rxjs';
import { retryWithBackoff } from '../../streams/retry-with-backoff.js';
import { errorMessage, UsageError } from '../errors.js';
import { exportsOf } from '../world/collect.js';
import { fileSettled } from './file-settled.js';
import type { Frontend, FrontendContext, FrontendEvent, FrontendFactory, GraphInput, RunSettings } from './types.js';
import { graphFileArgument } from './yaml-args.js';
import { createCollector } from './yaml-collect.js';
import { loadGraph, type LoadOptions } from './yaml-load.js';

// World changes come in bursts (several keys of one export): wait for the burst to settle.
const RELOAD_DEBOUNCE_MS = 50;

/** YamlFrontendOptions are the settings of the YAML frontend (`mgmt run --yaml FILE`). */
export interface YamlFrontendOptions extends RunSettings {
  /** The graph file, as an absolute path. */
  readonly path: string;
  readonly strict: boolean;
  readonly noAutoedges: boolean;
  readonly noAutogroup: boolean;
  /** `--no-watch`: read the file again only when asked (the context's reloads), and never for World changes. */
  readonly noWatch: boolean;
  /** Milliseconds a changed file must stay unchanged (and closed by its writers) before it is read. */
  readonly reloadQuietMs: number;
}

/**
 * yamlFrontend is the YAML graph file as a stream of graphs: the file is read, collected and compiled
 * once, then again whenever it was written (by the reload rule of fileSettled) or, if it collects,
 * whenever any host's exports change. Its first graph is collected once more after its own exports
 * are written (export-then-collect). A broken edit is an error event; the running graph stays.
 */
export function yamlFrontend(options: YamlFrontendOptions): Frontend {
  return (context) => defer(() => graphs(options, context));
}

/** yamlFromFlags makes the YAML frontend of `mgmt run --yaml FILE` from its flags. */
export const yamlFromFlags: FrontendFactory = (flags, positional, settings) => {
  const yaml = graphFileArgument(flags, positional, 'run');
  const reloadQuietMs = flags['reload-quiet'] as number;
  if (reloadQuietMs < 0 || reloadQuietMs > 60_000) throw new UsageError(`mgmt run: --reload-quiet must be from 0 to 60000 ms, not ${reloadQuietMs}`);
  const path = resolve(yaml);
  const frontend = yamlFrontend({
    ...settings,
    path,
    strict: flags.strict === true,
    noAutoedges: flags['no-autoedges'] === true,
    noAutogroup: flags['no-autogroup'] === true,
    noWatch: flags['no-watch'] === true,
    reloadQuietMs,
  });
  return { frontend, origin: { yaml: path } };
};

function graphs(options: YamlFrontendOptions, context: FrontendContext): Observable<FrontendEvent> {
  const { world, log } = context;
  const collector = createCollector(world, log, options.registry);
  const loadOptions: LoadOptions = {
    strict: options.strict,
    noop: options.noop,
    sema: options.sema,
    noAutoedges: options.noAutoedges,
    noAutogroup: options.noAutogroup,
    registry: options.registry,
    // Collecting only reads the World; the agent exports once the graph compiled (nothing half-applied).
    prepare: collector.prepare,
  };
  const file = fileSettled({
    path: options.path,
    quietMs: options.reloadQuietMs,
    watchPath: options.noWatch ? undefined : (path) => context.watchPath(path),
    reloads: context.reloads,
    log,
  });
  const load = async (): Promise<GraphInput> => {
    const loaded = await loadGraph(options.path, loadOptions);
    return { graph: loaded.graph, warnings: loaded.warnings, exports: exportsOf(loaded.spec), usesWorld: collector.usesWorld, recollects: collector.collects };
  };
  // reload reads the file again; one written to again while it was read is left to the reload that
  // follows its writer, which reads it whole.
  const reload = async (): Promise<FrontendEvent[]> => {
    try {
      const graph = await load();
      return file.busy() ? [] : [{ graph }];
    } catch (err) {
      return [{ error: err instanceof Error ? err : new Error(errorMessage(err)) }];
    }
  };
  // The graph is also rebuilt when the exported resources change if it collects any (upstream's
  // stream watch).
  const worldChanged = options.noWatch
    ? EMPTY
    : merge(
        world.watchResources().pipe(
          // A watch lost with etcd is made again; its first emission then says "look again".
          retryWithBackoff({
            initialMs: 50,
            maxMs: 2000,
            onRetry: (err, attempt) => {
              if (attempt === 1 || attempt % 20 === 0) log.emit({ level: 'error', event: 'error', phase: 'world', message: `${errorMessage(err)} (retrying)` });
            },
          }),
          // Not skipped: the first emission says the watch is established, and whatever changed
          // before that (our own first export, another host's) is collected by the reload it causes.
          filter(() => collector.collects),
        ),
        collector.retries,
      ).pipe(debounceTime(RELOAD_DEBOUNCE_MS));

  // The whole graph is validated before anything runs: a bad first graph is the stream's error.
  return from(load()).pipe(
    concatMap((first) => {
      let endFirstPass!: () => void;
      const firstPass = new Promise<void>((done) => (endFirstPass = done));
      // Upstream exports, then collects, in one pass: the first collect ran before this host's
      // exports were written (and, on a host starting its own etcd, before the World was up), so a
      // graph that collects is collected again once they are, with or without --no-watch.
      const secondPass = defer(async () => {
        await context.firstExported;
        return first.recollects ? reload() : [];
      }).pipe(
        concatMap((events) => events),
        finalize(() => endFirstPass()),
      );
      // Reloads wait for the first pass; a reload for the World waits for the file's own, which collects too.
      const later = merge(file.settled, worldChanged).pipe(
        concatMap(async () => {
          await firstPass;
          return file.busy() ? [] : reload();
        }),
        concatMap((events) => events),
      );
      // Watched before the first graph is emitted, so an edit made meanwhile is not missed.
      return merge(later, of<FrontendEvent>({ graph: first }), secondPass);
    }),
  );
}
