import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { homedir, hostname as systemHostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { concatMap, debounceTime, identity, skip, type Subscription } from 'rxjs';
import { convergedAfter } from '../../streams/converged-after.js';
import { GRAPHVIZ_FILTERS, isGraphvizFilter, writeGraphviz } from '../../graphviz/write.js';
import { Engine } from '../engine/engine.js';
import { errorMessage, UsageError } from '../errors.js';
import type { CompileTimings, Graph } from '../graph/graph.js';
import { createEventLog } from '../log/events.js';
import { createFsWatcher } from '../watchers/fs.js';
import { loadGraph } from './load-graph.js';
import type { CommandIO } from './main.js';

/** RunOptions are the settings of one `mgmt run`. */
export interface RunOptions {
  readonly yaml: string;
  /** Seconds converged before exiting; -1 = never exit. */
  readonly convergedTimeout: number;
  readonly graphviz?: string;
  readonly graphvizFilter: string;
  readonly hostname?: string;
  readonly prefix?: string;
  readonly tmpPrefix: boolean;
  readonly noop: boolean;
  readonly sema: number;
  readonly noWatch: boolean;
  readonly noAutoedges: boolean;
  readonly noAutogroup: boolean;
  readonly strict: boolean;
  readonly logFormat: 'text' | 'json';
  readonly verbose: boolean;
  /** Install SIGINT/SIGTERM handlers (the CLI does; tests driving run() in-process may not). */
  readonly handleSignals?: boolean;
  /** Resolves when the caller wants the run to stop (tests). */
  readonly stopSignal?: AbortSignal;
}

// Grace for in-flight checkApplys after a stop signal; the whole shutdown must take under 1 s.
const SHUTDOWN_GRACE_MS = 800;
// Editors save in bursts (write, rename, chmod): wait for the burst to settle before reloading.
const RELOAD_DEBOUNCE_MS = 50;

/**
 * run applies the graph in `options.yaml` and keeps applying it until converged (with a timeout),
 * stopped, or signalled. It resolves to the exit code: 0 all OK, 1 a resource failed, 2 bad input.
 */
export async function run(options: RunOptions, io: CommandIO): Promise<number> {
  if (options.prefix && options.tmpPrefix) throw new UsageError('mgmt run: --prefix and --tmp-prefix exclude each other');
  if (!isGraphvizFilter(options.graphvizFilter)) {
    throw new UsageError(`mgmt run: invalid graphviz filter selected: ${options.graphvizFilter} (one of ${GRAPHVIZ_FILTERS.join(', ')})`);
  }
  const hostname = options.hostname || systemHostname();
  const yamlPath = resolve(options.yaml);
  const compileOptions = {
    strict: options.strict,
    noop: options.noop,
    sema: options.sema,
    noAutoedges: options.noAutoedges,
    noAutogroup: options.noAutogroup,
  };

  // The whole graph is validated before anything runs: a bad graph throws here, nothing applied.
  const first = await loadGraph(yamlPath, compileOptions);
  for (const warning of first.warnings) io.stderr.write(`warning: ${warning}\n`);

  const prefix = await makePrefix(options, hostname);
  const log = createEventLog({
    format: options.logFormat,
    host: hostname,
    // Machines filter with jq, so JSON carries every event; people get routine ones with --verbose.
    level: options.verbose || options.logFormat === 'json' ? 'debug' : 'info',
    stdout: io.stdout,
    stderr: io.stderr,
  });
  const watcher = createFsWatcher();
  const engine = new Engine({ log, hostname, prefix, watcher });
  const subscriptions: Subscription[] = [];

  let finish!: (code: number) => void;
  const finished = new Promise<number>((done) => (finish = done));
  let stopping = false;

  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const subscription of subscriptions) subscription.unsubscribe();
    engine.abortAll(new Error(`stopping: ${reason}`));
    const stopped = engine.stop();
    await Promise.race([stopped, delay(SHUTDOWN_GRACE_MS)]);
    const failures = engine.failures();
    const code = failures.length > 0 ? 1 : 0;
    log.emit({ level: failures.length > 0 ? 'error' : 'info', event: 'exit', code, reason, failed: failures.map((f) => f.resource) });
    watcher.close();
    // A temporary prefix is this run's alone: leave nothing behind in /tmp.
    if (options.tmpPrefix) await rm(prefix, { recursive: true, force: true }).catch(() => undefined);
    finish(code);
  };

  const applyGraph = async (graph: Graph, warnings: readonly string[]): Promise<void> => {
    for (const warning of warnings) log.emit({ level: 'warn', event: 'warning', message: warning });
    const swap = await engine.swap(graph);
    log.emit({
      level: 'info',
      event: 'graph',
      graph: graph.name,
      vertices: graph.vertices.size,
      edges: graph.edges.length,
      ms: roundTimings(graph.timings),
      swap,
    });
    if (options.graphviz) {
      try {
        await writeGraphviz(graph, options.graphviz, { filter: options.graphvizFilter });
      } catch (err) {
        log.emit({ level: 'error', event: 'error', phase: 'graphviz', message: errorMessage(err) });
      }
    }
  };

  log.emit({ level: 'info', event: 'start', yaml: yamlPath, prefix, noop: options.noop || undefined });
  await applyGraph(first.graph, []);

  if (options.convergedTimeout >= 0) {
    subscriptions.push(
      engine.idle$
        // With a zero timeout, a momentary idle between two microtasks must not count: settle first.
        .pipe(options.convergedTimeout === 0 ? debounceTime(0) : identity, convergedAfter(options.convergedTimeout * 1000))
        .subscribe((converged) => {
          log.emit({ level: 'info', event: converged ? 'converged' : 'unconverged', timeout: options.convergedTimeout });
          if (converged) void shutdown('converged');
        }),
    );
  }

  if (!options.noWatch) {
    subscriptions.push(
      watcher
        .watchPath(yamlPath)
        .pipe(
          skip(1), // the first emission only says the watch is ready
          debounceTime(RELOAD_DEBOUNCE_MS),
          concatMap(async () => {
            try {
              const next = await loadGraph(yamlPath, compileOptions);
              if (!stopping) await applyGraph(next.graph, next.warnings);
            } catch (err) {
              // A broken edit never stops the running graph.
              log.emit({ level: 'error', event: 'error', phase: 'reload', message: `graph not swapped: ${errorMessage(err)}` });
            }
          }),
        )
        .subscribe(),
    );
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal: stop waiting for anything.
      log.emit({ level: 'warn', event: 'exit', code: 1, reason: `second ${signal}` });
      finish(1);
      return;
    }
    void shutdown(signal);
  };
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  options.stopSignal?.addEventListener('abort', () => void shutdown('stopped'), { once: true });

  const code = await finished;
  if (options.handleSignals) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await log.flush();
  return code;
}

async function makePrefix(options: RunOptions, hostname: string): Promise<string> {
  if (options.tmpPrefix) return mkdtemp(join(tmpdir(), `mgmt-${hostname}-`));
  const prefix = options.prefix ?? defaultPrefix();
  try {
    await mkdir(prefix, { recursive: true });
  } catch (err) {
    throw new UsageError(`mgmt run: cannot create the prefix directory ${prefix}: ${errorMessage(err)} (use --prefix DIR or --tmp-prefix)`);
  }
  return prefix;
}

/** defaultPrefix is /var/lib/mgmt for root, else $XDG_CACHE_HOME/mgmt or ~/.cache/mgmt. */
export function defaultPrefix(): string {
  if (process.env.MGMT_PREFIX) return process.env.MGMT_PREFIX;
  if (process.getuid?.() === 0) return '/var/lib/mgmt';
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mgmt');
}

function roundTimings(timings: CompileTimings): CompileTimings {
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return { parse: round(timings.parse), autoedges: round(timings.autoedges), autogroup: round(timings.autogroup), toposort: round(timings.toposort) };
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms).unref());
}
