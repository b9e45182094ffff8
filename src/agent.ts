import { rm } from 'node:fs/promises';
import { concatMap, type Observable, type Subscription } from 'rxjs';
import { convergedStates } from './agent/converged.js';
import { etcdStartDue } from './agent/etcd-start.js';
import { DEFAULT_CLUSTER_SETTINGS, setupWorld, type ClusterSettings, type WorldSetup } from './agent/world-setup.js';
import { createExporter } from './agent/exporter.js';
import { inotifyOverflowWarning } from './agent/inotify-overflow.js';
import { makePrefix } from './agent/prefix.js';
import { serviceNotifier } from './agent/ready-notify.js';
import { Engine } from './engine/engine.js';
import { errorMessage, MgmtError } from './errors.js';
import type { Frontend, FrontendContext, FrontendEvent, GraphInput } from './frontend/types.js';
import type { CompileTimings, Graph } from './graph/graph.js';
import { createEventLog, roundMs } from './log/events.js';
import { delay } from './os/time.js';
import { createFsWatcher } from './watchers/fs.js';
import type { MetricsOptions, RunningMetrics } from './metrics/start.js';

/** AgentOptions are the settings of one agent run; what it runs comes from `frontend`. */
export interface AgentOptions {
  readonly frontend: Frontend;
  /** What the frontend reads, for the start event (e.g. `{ yaml: '/etc/mgmt/graph.yaml' }`). */
  readonly origin?: Readonly<Record<string, string>>;
  /** This host's name, already checked (checkHostname). */
  readonly hostname: string;
  /** Seconds converged before exiting; -1 = never exit. */
  readonly convergedTimeout: number;
  /** Write each swapped graph as DOT (and .svg/.png) here; its filter is already checked. */
  readonly graphviz?: string;
  readonly graphvizFilter: string;
  readonly prefix?: string;
  /** Use a fresh temporary prefix, removed when the run ends. */
  readonly tmpPrefix: boolean;
  /** Check only: a noop run exports nothing, as upstream. */
  readonly noop: boolean;
  readonly logFormat: 'text' | 'json';
  readonly verbose: boolean;
  /** etcd and clustering; absent = the local World (as with --no-server and no seeds). */
  readonly cluster?: ClusterSettings;
  /** Warnings logged at every start, before the World is set up (e.g. `--insecure` on a network). */
  readonly startWarnings?: readonly string[];
  /**
   * Requests to stop, each with its reason (SIGTERM): the first stops the run, a second cuts the
   * waits short. One made before the first graph is read is acted on once it is (replay it).
   */
  readonly stops: Observable<string>;
  /** Requests to read the input again (SIGHUP), passed on to the frontend. */
  readonly reloads: Observable<void>;
  /** Serve Prometheus metrics (--prometheus); absent = none of the metrics code, prom-client included, ever runs. */
  readonly prometheus?: MetricsOptions;
}

/** AgentIO is where the agent writes: the event log, and warnings of the first graph on stderr. */
export interface AgentIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

// Grace for in-flight checkApplys after a stop signal; the whole shutdown must take under 1 s.
const SHUTDOWN_GRACE_MS = 800;
// After a second stop signal, the longest the World (leaving the cluster) may take to close.
const HURRIED_CLOSE_MS = 200;

// Without cluster settings (in-process callers): the local World, as with --no-server and no seeds.
const NO_CLUSTER: ClusterSettings = { ...DEFAULT_CLUSTER_SETTINGS, noServer: true };

/**
 * runAgent runs the graphs its frontend emits until converged (with a timeout) or stopped: it sets
 * up the World, swaps each graph into the engine, exports what the graph exports, and closes the
 * World at the end. It resolves to the exit code: 0 all OK, 1 a resource (or the World) failed;
 * a first graph the frontend could not make is thrown (exit 2 for bad input), nothing applied.
 */
export async function runAgent(options: AgentOptions, io: AgentIO): Promise<number> {
  const { hostname } = options;
  // First of all: a taken port fails the run before anything is set up, let alone applied.
  const metrics = options.prometheus ? await startMetrics(options.prometheus) : undefined;
  let prefix: string;
  try {
    prefix = await makePrefix(options.prefix, options.tmpPrefix, hostname);
  } catch (err) {
    await metrics?.close();
    throw err;
  }
  const log = createEventLog({
    format: options.logFormat,
    host: hostname,
    // Machines filter with jq, so JSON carries every event; people get routine ones with --verbose.
    level: options.verbose || options.logFormat === 'json' ? 'debug' : 'info',
    stdout: io.stdout,
    stderr: io.stderr,
  });
  // Under systemd (Type=notify): ready once the first graph has been applied, see below.
  const notifier = serviceNotifier(log);
  const removeTmpPrefix = async (): Promise<void> => {
    if (options.tmpPrefix) await rm(prefix, { recursive: true, force: true }).catch(() => undefined);
  };
  for (const warning of options.startWarnings ?? []) log.emit({ level: 'warn', event: 'warning', message: warning });
  if (metrics) log.emit({ level: 'info', event: 'metrics', url: metrics.url });
  let setup: WorldSetup;
  try {
    setup = await setupWorld(options.cluster ?? NO_CLUSTER, hostname, prefix, metrics?.clusterLog(log) ?? log, (line) => io.stderr.write(`${line}\n`));
  } catch (err) {
    await metrics?.close();
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
  const exporter = createExporter({ world, log, noop: options.noop, stopping: () => stopping });

  const watcher = createFsWatcher({ onResync: inotifyOverflowWarning(log) });
  const engine = new Engine({ log, hostname, prefix, watcher, world, observer: metrics?.observer });
  const subscriptions: Subscription[] = [];
  const applyGraph = async (graph: Graph, warnings: readonly string[]): Promise<void> => {
    for (const warning of warnings) log.emit({ level: 'warn', event: 'warning', message: warning });
    const swap = await engine.swap(graph);
    log.emit({ level: 'info', event: 'graph', graph: graph.name, vertices: graph.vertices.size, edges: graph.edges.length, ms: roundTimings(graph.timings), swap });
    if (options.graphviz) {
      try {
        // Loaded only when asked for: ts-graphviz is a noticeable part of start-up.
        const { writeGraphviz } = await import('./agent/graphviz-file.js');
        await writeGraphviz(graph, options.graphviz, { filter: options.graphvizFilter });
      } catch (err) {
        log.emit({ level: 'error', event: 'error', phase: 'graphviz', message: errorMessage(err) });
      }
    }
  };
  // A later graph is swapped in and its set exported; a broken one never stops the running graph.
  const applyLater = async (event: FrontendEvent): Promise<void> => {
    if (stopping) return;
    try {
      if ('error' in event) throw event.error;
      if (event.graph.usesWorld) setup.start(); // a graph that starts to use the World
      await applyGraph(event.graph.graph, event.graph.warnings);
      await exporter.exportSet(event.graph.exports);
    } catch (err) {
      log.emit({ level: 'error', event: 'error', phase: 'reload', message: `graph not swapped: ${errorMessage(err)}` });
    }
  };

  // The frontend's events are handled one at a time, in order; the first waits until it is running.
  let markExported!: () => void;
  const firstExported = new Promise<void>((done) => (markExported = done));
  let markSwapped!: () => void;
  const firstSwapped = new Promise<void>((done) => (markSwapped = done));
  let markLaterHandled!: () => void;
  const laterHandled = new Promise<void>((done) => (markLaterHandled = done));
  const context: FrontendContext = { world, log, reloads: options.reloads, watchPath: (path) => watcher.watchPath(path), firstExported };
  let received = false;
  let running = false;
  const firstInput = new Promise<GraphInput>((resolve, reject) => {
    const events = options.frontend(context).pipe(
      concatMap(async (event) => {
        if (received) {
          await applyLater(event);
          return markLaterHandled();
        }
        received = true;
        if ('error' in event) throw event.error;
        running = true;
        resolve(event.graph);
        await firstSwapped;
      }),
    );
    subscriptions.push(
      events.subscribe({
        error: (err: unknown) => {
          // After the first graph (a frontend that broke): the running graph stays, and no second
          // pass is waited for.
          if (!running) return reject(err);
          log.emit({ level: 'error', event: 'error', phase: 'frontend', message: errorMessage(err) });
          markLaterHandled();
        },
        complete: () => reject(new MgmtError('mgmt run: the frontend ended without a graph')),
      }),
    );
  });
  let first: GraphInput;
  try {
    first = await firstInput;
  } catch (err) {
    for (const subscription of subscriptions) subscription.unsubscribe();
    watcher.close();
    await metrics?.close();
    await releaseState();
    throw err;
  }
  // The first graph's warnings are the operator's to read before anything runs.
  for (const warning of first.warnings) io.stderr.write(`warning: ${warning}\n`);

  let finish!: (code: number) => void;
  const finished = new Promise<number>((done) => (finish = done));
  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.emit({ level: 'info', event: 'stopping', reason });
    void notifier.stopping();
    for (const subscription of subscriptions) subscription.unsubscribe();
    engine.abortAll(new Error(`stopping: ${reason}`));
    // The run ends here: the file watches are released at once, not ended one by one.
    const stopped = engine.stop({ exiting: true });
    await Promise.race([stopped, delay(SHUTDOWN_GRACE_MS), hurried]);
    watcher.release();
    await Promise.all([releaseState(), metrics?.close()]);
    const failures = engine.failures();
    // All OK is exit 0 however the run was stopped; a resource still at work when the run
    // stopped (aborted, retrying, waiting) is not known to be OK.
    const unfinished = engine.unfinished();
    const code = failures.length > 0 || unfinished.length > 0 || worldFailed || exporter.failed ? 1 : 0;
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

  log.emit({ level: 'info', event: 'start', ...options.origin, prefix, noop: options.noop || undefined });
  // Not among the subscriptions a shutdown ends: a second stop must still reach it.
  const stops = options.stops.subscribe((reason) => {
    if (!stopping) return void shutdown(reason);
    if (secondSignal !== undefined) return; // already hurrying
    secondSignal = reason;
    log.emit({ level: 'warn', event: 'stopping', reason, message: 'not waiting for running resources; what they started is killed as the agent exits' });
    hurry();
  });
  // A stop asked for while the run was being set up: nothing is applied.
  if (!stopping) await applyGraph(first.graph, []);
  markSwapped();
  // A service is ready after its first pass (firstPassDone); etcd is not awaited.
  subscriptions.push(notifier.readyAfterFirstPass(engine.idle$));
  // Our own etcd (if any) starts once the first graph runs: local resources never wait for it. A
  // graph that does not use the World lets its first pass finish first (etcd's start-up and the
  // etcd3 client's loading would slow it down), or waits a while (etcdStartDue); a one-shot run
  // (timeout 0) starts no etcd at all.
  if (first.usesWorld) setup.start();
  else {
    subscriptions.push(
      etcdStartDue(engine.idle$, options.convergedTimeout).subscribe(() => {
        if (!stopping) setup.start();
      }),
    );
  }
  // The first export may wait for our own etcd to come up: the graph runs meanwhile (and a graph
  // that exports counts as converged only once it is written); the frontend reloads nothing before.
  const firstPass = Promise.all([exporter.exportSet(first.exports), setup.settled]).then(() => {
    markExported();
    // The frontend collects the first graph again now that its exports are written.
    return first.recollects && !stopping ? laterHandled : undefined;
  });

  // A graph that exports or collects is not converged before the World is up and its first pass done.
  const worldSettled = first.usesWorld ? Promise.all([setup.settled, firstPass]) : undefined;
  // The metrics' convergence is --converged-timeout 0's, whatever the run's timeout.
  if (metrics) subscriptions.push(convergedStates(engine.idle$, worldSettled, 0).subscribe((converged) => metrics.setConverged(converged)));
  if (options.convergedTimeout >= 0) {
    subscriptions.push(
      convergedStates(engine.idle$, worldSettled, options.convergedTimeout)
        .subscribe((converged) => {
          log.emit({ level: 'info', event: converged ? 'converged' : 'unconverged', timeout: options.convergedTimeout });
          // Published before a converged exit, so whoever waits on the key sees it (classic converger).
          const published = setup.publishConverged(converged);
          if (converged) void published.then(() => shutdown('converged'));
        }),
    );
  }

  const code = await finished;
  stops.unsubscribe();
  await log.flush();
  return code;
}

function roundTimings(timings: CompileTimings): CompileTimings {
  return { parse: roundMs(timings.parse), autoedges: roundMs(timings.autoedges), autogroup: roundMs(timings.autogroup), toposort: roundMs(timings.toposort) };
}

/** startMetrics loads the metrics (and prom-client with them) only when asked for. */
async function startMetrics(settings: MetricsOptions): Promise<RunningMetrics> {
  const { startMetrics: start } = await import('./metrics/start.js');
  return start(settings);
}
