import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, hostname as systemHostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { combineLatest, concatMap, debounceTime, EMPTY, filter, from, identity, map, merge, NEVER, race, skip, startWith, Subject, type Subscription, take, tap, timer } from 'rxjs';
import { backoffDelay, retryWithBackoff } from '../../streams/retry-with-backoff.js';
import { convergedAfter } from '../../streams/converged-after.js';
import { whenSettled } from '../../streams/when-settled.js';
import { Engine } from '../engine/engine.js';
import { isIdleStatus } from '../engine/worker.js';
import { errorMessage, MgmtError, UsageError } from '../errors.js';
import type { CompileTimings, Graph } from '../graph/graph.js';
import { createEventLog, roundMs } from '../log/events.js';
import { delay } from '../os/time.js';
import { createFsWatcher } from '../watchers/fs.js';
import { writersOf } from '../watchers/open-writers.js';
import type { GraphSpec } from '../graph/spec.js';
import { builtinRegistry } from '../resources/index.js';
import type { PkgBackendChoice } from '../pkg/select.js';
import { exportsOf, withCollected } from '../world/collect.js';
import { ensurePrivateDir } from '../world/private-dir.js';
import type { ExportedResource } from '../world/types.js';
import { checkHostname, DEFAULT_CLUSTER_SETTINGS, setupWorld, type ClusterSettings } from './world-setup.js';
import { DEFAULT_RELOAD_QUIET_MS } from './flags.js';
import { loadGraph, type LoadedGraph } from './load-graph.js';
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
  /** `--pkg-backend`: auto (PackageKit when it answers on the system bus, else apt), packagekit or apt. */
  readonly pkgBackend?: PkgBackendChoice;
  /** etcd and clustering; absent = the local World (as with --no-server and no seeds). */
  readonly cluster?: ClusterSettings;
  /** Warnings logged at every start, before the World is set up (e.g. `--insecure` on a network). */
  readonly startWarnings?: readonly string[];
  /** Milliseconds a changed graph file must stay unchanged (and closed by its writers) before a reload. */
  readonly reloadQuietMs?: number;
  /** Install SIGINT/SIGTERM/SIGHUP handlers (the CLI does; tests driving run() in-process may not). */
  readonly handleSignals?: boolean;
  /** Resolves when the caller wants the run to stop (tests). */
  readonly stopSignal?: AbortSignal;
}

// Grace for in-flight checkApplys after a stop signal; the whole shutdown must take under 1 s.
const SHUTDOWN_GRACE_MS = 800;
// After a second stop signal, the longest the World (leaving the cluster) may take to close.
const HURRIED_CLOSE_MS = 200;
// The longest a bootstrapping host's etcd waits for the first pass of a graph that does not use the World.
const ETCD_START_DELAY_MS = 2000;
// World changes come in bursts (several keys of one export): wait for the burst to settle.
const RELOAD_DEBOUNCE_MS = 50;
// While a writer holds the graph file open, /proc is looked at again after 50 ms, doubling to 1 s.
const WRITER_RECHECK_MS = { recheckInitialMs: 50, recheckMaxMs: 1000 };
// A writer holding the graph file open this long is named in a warning.
const WRITER_WARN_MS = 5000;
// The signals that stop a run; SIGHUP reloads the graph file instead.
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * run applies the graph in `options.yaml` and keeps applying it until converged (with a timeout),
 * stopped, or signalled. It resolves to the exit code: 0 all OK, 1 a resource failed, 2 bad input.
 */
export async function run(options: RunOptions, io: CommandIO): Promise<number> {
  // Installed before anything else, so that no signal meets the default action (which kills the
  // agent and orphans what it started): a stop asked for before the engine runs is kept for it.
  const signals: RunSignals = { hangups: new Subject<void>(), onStop: (reason) => (signals.early ??= reason) };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGHUP') signals.hangups.next();
    else signals.onStop(signal);
  };
  if (options.handleSignals) for (const signal of [...STOP_SIGNALS, 'SIGHUP'] as const) process.on(signal, onSignal);
  try {
    return await runGraph(options, io, signals);
  } finally {
    if (options.handleSignals) for (const signal of [...STOP_SIGNALS, 'SIGHUP'] as const) process.off(signal, onSignal);
  }
}

/** RunSignals connect the process's signals to a run. */
interface RunSignals {
  /** SIGHUP: reload the graph file, as an edit would. */
  readonly hangups: Subject<void>;
  /** SIGINT or SIGTERM (or the test's stop): the first stops the run, a second cuts the wait short. */
  onStop: (reason: string) => void;
  /** A stop asked for before the run could act on it. */
  early?: string;
}

async function runGraph(options: RunOptions, io: CommandIO, signals: RunSignals): Promise<number> {
  if (options.prefix && options.tmpPrefix) throw new UsageError('mgmt run: --prefix and --tmp-prefix exclude each other');
  if (options.graphviz) {
    // Loaded only when asked for: ts-graphviz is a noticeable part of start-up.
    const { GRAPHVIZ_FILTERS, isGraphvizFilter } = await import('../../graphviz/write.js');
    if (!isGraphvizFilter(options.graphvizFilter)) {
      throw new UsageError(`mgmt run: invalid graphviz filter selected: ${options.graphvizFilter} (one of ${GRAPHVIZ_FILTERS.join(', ')})`);
    }
  }
  const hostname = options.hostname || systemHostname();
  checkHostname(hostname);
  const yamlPath = resolve(options.yaml);
  const compileOptions = {
    strict: options.strict,
    noop: options.noop,
    sema: options.sema,
    noAutoedges: options.noAutoedges,
    noAutogroup: options.noAutogroup,
    // The kinds close over the run's options (the pkg backend, for resources and automatic edges alike).
    registry: builtinRegistry({ pkgBackend: options.pkgBackend }),
  };

  const prefix = await makePrefix(options, hostname);
  const log = createEventLog({
    format: options.logFormat,
    host: hostname,
    // Machines filter with jq, so JSON carries every event; people get routine ones with --verbose.
    level: options.verbose || options.logFormat === 'json' ? 'debug' : 'info',
    stdout: io.stdout,
    stderr: io.stderr,
  });
  const removeTmpPrefix = async (): Promise<void> => {
    if (options.tmpPrefix) await rm(prefix, { recursive: true, force: true }).catch(() => undefined);
  };
  for (const warning of options.startWarnings ?? []) log.emit({ level: 'warn', event: 'warning', message: warning });
  const settings = options.cluster ?? NO_CLUSTER;
  let setup;
  try {
    setup = await setupWorld(settings, hostname, prefix, log, (line) => io.stderr.write(`${line}\n`));
  } catch (err) {
    await removeTmpPrefix();
    throw err;
  }
  const { world } = setup;
  let stopping = false;
  let worldFailed = false;
  // A second stop signal cuts the waits of a shutdown short; what the run started is killed all the
  // same (each exec's process group gets its SIGKILL when the agent exits) and a temporary prefix removed.
  let secondSignal: string | undefined;
  let hurry!: () => void;
  const hurried = new Promise<void>((done) => (hurry = done));
  // releaseState leaves the cluster, closes the World and removes a temporary prefix, which is this
  // run's alone. After a second stop signal the World gets HURRIED_CLOSE_MS more to close (our etcd
  // dies with the agent anyway); the temporary prefix is removed all the same.
  const releaseState = async (): Promise<void> => {
    const closed = setup.close().catch((err: unknown) => log.emit({ level: 'warn', event: 'error', phase: 'world', message: errorMessage(err) }));
    await Promise.race([closed, hurried.then(() => delay(HURRIED_CLOSE_MS))]);
    await removeTmpPrefix();
  };
  let collects = false;
  let usesWorld = false;
  let firstLoaded = false;
  let lastCollected: ExportedResource[] = [];
  let collectFailures = 0;
  let standingRefusals = new Set<string>();
  // Asks for another reload after a collect failed.
  const recollect = new Subject<void>();
  const loadOptions = {
    ...compileOptions,
    // Collecting only reads the World; exporting waits until the graph compiled (nothing half-applied).
    prepare: async (spec: GraphSpec): Promise<GraphSpec> => {
      collects = spec.collect.length > 0;
      usesWorld = collects || exportsOf(spec).length > 0;
      if (usesWorld && firstLoaded) setup.start(); // a reload that starts to use the World
      if (!collects) return spec;
      const kinds = [...new Set(spec.collect.map((entry) => entry.kind))];
      const problem = (message: string): void => log.emit({ level: 'warn', event: 'collect', message: `refused: ${message}` });
      let collected: ExportedResource[];
      try {
        collected = await world.collectResources(kinds, problem);
        lastCollected = collected;
        collectFailures = 0;
      } catch (err) {
        // The World is unreachable for now (etcd restarting, a leader change): keep what was
        // collected before rather than dropping it from the graph, and look again shortly.
        collectFailures++;
        const retryInMs = backoffDelay(collectFailures, 100, 5000);
        log.emit({ level: 'warn', event: 'collect', message: `could not collect, keeping the last collected set: ${errorMessage(err)}`, retryInMs });
        setTimeout(() => recollect.next(), retryInMs).unref();
        collected = lastCollected.filter((res) => kinds.includes(res.kind));
      }
      // A refusal is reported once while it stands: every reload (and a one-shot run's second
      // pass) collects the same exports again.
      const refusedNow = new Set<string>();
      const merged = withCollected(spec, collected, compileOptions.registry, ({ from, reason, field, allow }) => {
        const message = `refused: ${from}: ${reason}`;
        if (!standingRefusals.has(message) && !refusedNow.has(message)) log.emit({ level: 'warn', event: 'collect', message, from, field, allow });
        refusedNow.add(message);
      });
      standingRefusals = refusedNow;
      log.emit({ level: 'info', event: 'collect', kinds, count: merged.resources.length - spec.resources.length });
      return merged;
    },
  };
  let lastExport: string | undefined;
  const exportFrom = async (spec: GraphSpec): Promise<void> => {
    if (options.noop) return; // like upstream: a noop run exports nothing
    const exports = exportsOf(spec);
    const encoded = JSON.stringify(exports);
    // Our own export changes the store and wakes our watch: an unchanged set is not written again.
    if (encoded === lastExport || stopping) return;
    try {
      await world.exportResources(exports);
      lastExport = encoded;
      log.emit({ level: 'info', event: 'export', count: exports.length });
    } catch (err) {
      // A write cut short by our own shutdown (the prefix removed, etcd stopped) is no failure.
      if (stopping) return;
      // Other hosts keep the previous set; the next graph change tries again.
      worldFailed = true;
      log.emit({ level: 'error', event: 'error', phase: 'export', message: errorMessage(err) });
    }
  };

  // The whole graph is validated before anything runs: a bad graph throws here, nothing applied.
  let first: LoadedGraph;
  try {
    first = await loadGraph(yamlPath, loadOptions);
  } catch (err) {
    await releaseState();
    throw err;
  }
  for (const warning of first.warnings) io.stderr.write(`warning: ${warning}\n`);

  const watcher = createFsWatcher();
  const engine = new Engine({ log, hostname, prefix, watcher, world });
  const subscriptions: Subscription[] = [];

  let finish!: (code: number) => void;
  const finished = new Promise<number>((done) => (finish = done));

  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.emit({ level: 'info', event: 'stopping', reason });
    for (const subscription of subscriptions) subscription.unsubscribe();
    engine.abortAll(new Error(`stopping: ${reason}`));
    const stopped = engine.stop();
    await Promise.race([stopped, delay(SHUTDOWN_GRACE_MS), hurried]);
    watcher.close();
    await releaseState();
    const failures = engine.failures();
    // All OK is exit 0 however the run was stopped; a resource still at work when the run
    // stopped (aborted, retrying, waiting) is not known to be OK.
    const unfinished = [...engine.statuses()].filter(([, status]) => !isIdleStatus(status)).map(([id]) => id);
    const code = failures.length > 0 || unfinished.length > 0 || worldFailed ? 1 : 0;
    const why = secondSignal === undefined ? reason : `${reason}, then ${secondSignal}`;
    // The last event of a run, whatever a stopped resource still says after it.
    log.emit({ level: code === 0 ? 'info' : 'error', event: 'exit', code, reason: why, failed: failures.map((f) => f.resource), unfinished: unfinished.length > 0 ? unfinished : undefined });
    finish(code);
  };
  // This host cannot go on in the cluster (its etcd did not start; the error is logged): exit 1,
  // never run on without a World.
  void setup.failed.then(() => {
    if (stopping) return;
    worldFailed = true;
    void shutdown('the cluster failed');
  });
  signals.onStop = (reason) => {
    if (!stopping) return void shutdown(reason);
    if (secondSignal !== undefined) return; // already hurrying
    secondSignal = reason;
    log.emit({ level: 'warn', event: 'stopping', reason, message: 'not waiting for running resources; what they started is killed as the agent exits' });
    hurry();
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
        const { writeGraphviz } = await import('../../graphviz/write.js');
        await writeGraphviz(graph, options.graphviz, { filter: options.graphvizFilter });
      } catch (err) {
        log.emit({ level: 'error', event: 'error', phase: 'graphviz', message: errorMessage(err) });
      }
    }
  };

  log.emit({ level: 'info', event: 'start', yaml: yamlPath, prefix, noop: options.noop || undefined });
  // Watch before the first graph runs, so an edit made meanwhile is not missed; reloads wait for it.
  let markApplied!: () => void;
  const firstApplied = new Promise<void>((done) => (markApplied = done));
  // The graph file is read again when it changed (unless --no-watch) or on SIGHUP, but only once
  // its writer is done: after reloadQuietMs without a change, and while no process holds it open
  // for writing, so a file still being written is never parsed (an edit saved by rename reloads
  // after the quiet period, a `>` or `>>` writer after it closed the file).
  let graphFileBusy = false;
  let writersSince: number | undefined;
  let writersNamed = false;
  // graphFileClosed says whether no process holds the graph file open for writing; a writer that
  // keeps it open long is named once, so the operator knows why the edit is not applied yet.
  const graphFileClosed = async (): Promise<boolean> => {
    const writers = await writersOf(yamlPath);
    if (writers.length === 0) {
      writersSince = undefined;
      writersNamed = false;
      return true;
    }
    writersSince ??= performance.now();
    if (!writersNamed && performance.now() - writersSince >= WRITER_WARN_MS) {
      writersNamed = true;
      log.emit({ level: 'warn', event: 'reload', message: `waiting to reload: ${yamlPath} is still open for writing by pid ${writers.join(', ')}` });
    }
    return false;
  };
  const graphFileChanged = options.noWatch ? signals.hangups : merge(watcher.watchPath(yamlPath).pipe(skip(1)), signals.hangups); // the watch's first emission only says "ready"
  const graphFileSettled = graphFileChanged.pipe(
    tap(() => (graphFileBusy = true)),
    whenSettled({
      quietMs: options.reloadQuietMs ?? DEFAULT_RELOAD_QUIET_MS,
      isSettled: () => from(graphFileClosed()),
      ...WRITER_RECHECK_MS,
    }),
    tap(() => (graphFileBusy = false)),
  );
  // reloadGraph reads, collects, compiles and swaps the graph again, then exports its set.
  const reloadGraph = async (): Promise<void> => {
    try {
      const next = await loadGraph(yamlPath, loadOptions);
      // Written to again while it was read: the reload that follows the writer reads it whole.
      if (stopping || graphFileBusy) return;
      await applyGraph(next.graph, next.warnings);
      await exportFrom(next.spec);
    } catch (err) {
      // A broken edit never stops the running graph.
      log.emit({ level: 'error', event: 'error', phase: 'reload', message: `graph not swapped: ${errorMessage(err)}` });
    }
  };
  const reload = async (): Promise<void> => {
    await firstApplied;
    // A reload for the World waits for the graph file's own, which collects too.
    if (!graphFileBusy) await reloadGraph();
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
          filter(() => collects),
        ),
        recollect,
      ).pipe(debounceTime(RELOAD_DEBOUNCE_MS));
  subscriptions.push(merge(graphFileSettled, worldChanged).pipe(concatMap(reload)).subscribe());
  firstLoaded = true;
  // A stop asked for while the run was being set up: nothing is applied.
  if (signals.early !== undefined) void shutdown(signals.early);
  else await applyGraph(first.graph, []);
  // Our own etcd (if any) starts once the first graph runs: local resources never wait for it. A
  // graph that does not use the World lets its first pass finish first (etcd's start-up and the
  // etcd3 client's loading would slow it down), or waits at most ETCD_START_DELAY_MS; a one-shot
  // run that converges meanwhile starts no etcd at all.
  if (usesWorld) setup.start();
  else {
    subscriptions.push(
      // A run that exits once converged (timeout 0) serves no cluster: it never waits on the timer.
      race(engine.idle$.pipe(debounceTime(10), filter(Boolean)), options.convergedTimeout === 0 ? NEVER : timer(ETCD_START_DELAY_MS))
        .pipe(take(1))
        .subscribe(() => {
          if (!stopping) setup.start();
        }),
    );
  }
  // The first export may wait for our own etcd to come up: the graph runs meanwhile (and a graph
  // that exports counts as converged only once it is written); reloads wait for it.
  const firstExport = exportFrom(first.spec);
  // Upstream exports, then collects, in one pass: the first collect ran before this host's exports
  // were written (and, on a host starting its own etcd, before the World was up), so a graph that
  // collects is collected again once they are, with or without --no-watch, before it can count as
  // converged.
  const firstPass = Promise.all([firstExport, setup.settled])
    .then(() => (collects && !stopping ? reloadGraph() : undefined))
    .finally(markApplied);

  if (options.convergedTimeout >= 0) {
    // A graph that exports or collects is not converged before the World is up (its exports written).
    const worldSettled = usesWorld ? Promise.all([setup.settled, firstPass]) : Promise.resolve();
    const worldSettled$ = from(worldSettled.then(() => true)).pipe(startWith(!usesWorld));
    subscriptions.push(
      combineLatest([engine.idle$, worldSettled$])
        .pipe(
          map(([idle, settled]) => idle && settled),
          // With a zero timeout, a momentary idle between two microtasks must not count: settle first.
          options.convergedTimeout === 0 ? debounceTime(0) : identity,
          convergedAfter(options.convergedTimeout * 1000),
        )
        .subscribe((converged) => {
          log.emit({ level: 'info', event: converged ? 'converged' : 'unconverged', timeout: options.convergedTimeout });
          // Published before a converged exit, so whoever waits on the key sees it (classic converger).
          const published = setup.publishConverged(converged);
          if (converged) void published.then(() => shutdown('converged'));
        }),
    );
  }

  options.stopSignal?.addEventListener('abort', () => void shutdown('stopped'), { once: true });

  const code = await finished;
  await log.flush();
  return code;
}

// Without cluster settings (in-process callers): the local World, as with --no-server and no seeds.
const NO_CLUSTER: ClusterSettings = { ...DEFAULT_CLUSTER_SETTINGS, noServer: true };

/**
 * makePrefix creates (or checks) the directory the run keeps its state in and returns its real
 * path. An existing prefix that another user owns or can write is refused, as is one that cannot
 * be written (a read-only mount): a clear error, exit 1, before anything runs.
 */
async function makePrefix(options: RunOptions, hostname: string): Promise<string> {
  if (options.tmpPrefix) {
    try {
      return await mkdtemp(join(tmpdir(), `mgmt-${hostname}-`));
    } catch (err) {
      throw new MgmtError(`mgmt run: cannot create a temporary prefix in ${tmpdir()}: ${errorMessage(err)} (set TMPDIR, or use --prefix DIR)`);
    }
  }
  // The operator's own symlink (e.g. /var/lib/mgmt -> /srv/mgmt) is followed; a planted one is not.
  return ensurePrivateDir(options.prefix ?? defaultPrefix(), { parents: true, followOwnLink: true });
}

/** defaultPrefix is /var/lib/mgmt for root, else $XDG_CACHE_HOME/mgmt or ~/.cache/mgmt. */
export function defaultPrefix(): string {
  if (process.env.MGMT_PREFIX) return process.env.MGMT_PREFIX;
  if (process.getuid?.() === 0) return '/var/lib/mgmt';
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mgmt');
}

function roundTimings(timings: CompileTimings): CompileTimings {
  return { parse: roundMs(timings.parse), autoedges: roundMs(timings.autoedges), autogroup: roundMs(timings.autogroup), toposort: roundMs(timings.toposort) };
}
