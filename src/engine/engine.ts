import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { sameVertex } from '../graph/canonical.js';
import { edgeKey, type Graph, type Vertex } from '../graph/graph.js';
import { roundMs } from '../log/events.js';
import { memberContexts, type ContextShared } from './member-context.js';
import { linkWorkers, sameEdges } from './link-workers.js';
import { RunGate } from './run-gate.js';
import { Semaphores } from '../os/semaphores.js';
import { SignalPool } from './signal-pool.js';
import { isIdleStatus, isStuckStatus, VertexWorker, type WorkerContextFactory, type WorkerHost, type WorkerStatus } from './worker.js';
import type { EngineObserver } from './observer.js';

/** EngineOptions are what an engine needs from the agent around it: what its resources' contexts share, and who observes it. */
export interface EngineOptions extends ContextShared {
  /** Told what the engine does (metrics, --prometheus); absent costs nothing but a field read per event. */
  readonly observer?: EngineObserver;
}

/** SwapStats says what a graph swap did. */
export interface SwapStats {
  /** Vertices that compared equal and kept running untouched. */
  readonly kept: number;
  readonly added: number;
  readonly removed: number;
  readonly ms: number;
}

/** ResourceFailure is a resource that failed for good, with its last error. */
export interface ResourceFailure {
  readonly resource: string;
  readonly message: string;
}


/**
 * Engine runs a graph: one worker per vertex, swapped in place when a new graph arrives (vertices
 * that compare equal keep running), with `idle$` telling when every vertex is idle.
 */
export class Engine {
  private graph: Graph | undefined;
  private workers = new Map<string, VertexWorker>();
  /** The notify edges whose refresh is pending, each with the mark it was last set with (WorkerHost.clearRefresh). */
  private readonly refreshPending = new Map<string, number>();
  private refreshMarks = 0;
  private readonly semaphores = new Semaphores();
  /** The AbortControllers its checks borrow. */
  readonly signals = new SignalPool();
  private clock = 0;
  private generation = 0;
  /** Workers waiting on or blocked by a parent. */
  private stuck = 0;
  private busy = 0;
  private swapping = 0;
  private readonly idleSubject = new BehaviorSubject<boolean>(true);
  private readonly host: WorkerHost;
  private readonly makeContext: WorkerContextFactory;

  /** idle$ emits whether every vertex is idle right now, on each change. */
  readonly idle$: Observable<boolean>;

  constructor(options: EngineOptions) {
    this.makeContext = memberContexts(options);
    this.idle$ = this.idleSubject.pipe(distinctUntilChanged());
    this.host = {
      log: options.log,
      semaphores: this.semaphores,
      signals: this.signals,
      observer: options.observer,
      tick: () => ++this.clock,
      // Most graphs notify nobody: no key is built per edge and per pass then.
      hasRefresh: (edge) => this.refreshPending.size > 0 && this.refreshPending.has(edgeKey(edge.from, edge.to)),
      setRefresh: (edge) => void this.refreshPending.set(edgeKey(edge.from, edge.to), ++this.refreshMarks),
      refreshMark: (edge) => (this.refreshPending.size > 0 ? (this.refreshPending.get(edgeKey(edge.from, edge.to)) ?? 0) : 0),
      clearRefresh: (edge, mark) => {
        const key = edgeKey(edge.from, edge.to);
        if (this.refreshPending.get(key) === mark) this.refreshPending.delete(key);
      },
      statusChanged: (_worker, from, to) => this.statusChanged(from, to),
      offerPass: (worker) => gate.offer(worker),
    };
    const gate = new RunGate();
  }

  /**
   * swap makes `next` the running graph: equal vertices keep their workers (no re-check),
   * removed and changed ones are stopped and cleaned up first, new ones start.
   */
  async swap(next: Graph): Promise<SwapStats> {
    const started = performance.now();
    this.swapping++;
    this.publishIdle();
    try {
      // Allocation-free where it runs 10,000 times: kept workers are stamped with this swap's
      // generation and the worker map is edited in place (building new maps and sets made the
      // swap pay for the compile's garbage in a young-generation GC).
      const generation = ++this.generation;
      const workers = this.workers;
      const added: Vertex[] = [];
      let kept = 0;
      // forEach, not for-of: this code runs once per swap, unoptimized, where each step of a Map
      // iterator allocates its result (10,000 vertices' passes here and at the stop were ~1 MB).
      next.vertices.forEach((vertex) => {
        const worker = workers.get(vertex.id);
        if (worker && sameVertex(worker.vertex, vertex)) {
          worker.generation = generation;
          kept++;
        } else {
          added.push(vertex);
        }
      });
      const removed: VertexWorker[] = [];
      workers.forEach((worker) => {
        if (worker.generation !== generation) removed.push(worker);
      });
      await stopAll(removed);
      for (let i = 0; i < removed.length; i++) workers.delete(removed[i]!.vertex.id);

      const previousGraph = this.graph;
      this.graph = next;
      this.pruneRefreshFlags(next);
      const fresh = new Array<VertexWorker>(added.length);
      for (let i = 0; i < added.length; i++) {
        const vertex = added[i]!;
        const worker = new VertexWorker(vertex, this.host);
        worker.generation = generation;
        this.busy++; // a new worker starts as 'starting', which is activity
        workers.set(vertex.id, worker);
        fresh[i] = worker;
      }
      const edgesChanged = previousGraph !== undefined && !sameEdges(previousGraph.edges, next.edges);
      const reparented = linkWorkers(next, workers, generation, fresh, removed, edgesChanged);
      // Kept vertices whose parents changed, or that wait on a parent, may need a poke. Usually
      // neither holds (same edges, nobody waiting): then the 10,000-vertex pass is skipped. Before
      // the fresh workers start, so none of them is poked: they run on their first event.
      for (const worker of reparented) worker.poke();
      if (this.stuck > 0) for (const worker of workers.values()) if (isStuckStatus(worker.status)) worker.poke();
      for (let i = 0; i < fresh.length; i++) fresh[i]!.start(this.makeContext);
      this.host.observer?.swapped(next);
      return { kept, added: added.length, removed: removed.length, ms: roundMs(performance.now() - started) };
    } finally {
      this.swapping--;
      this.publishIdle();
    }
  }

  /**
   * stop stops every worker (aborting running checkApplys) and waits for their cleanup. With
   * `exiting` the process exits next and releases the shared file watcher (FsWatcher.release):
   * watches of that watcher alone are left to it, not ended one by one.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    const exiting = options.exiting === true;
    await stopAll(this.workers, exiting);
  }

  /** abortAll aborts every running checkApply (first step of a shutdown). */
  abortAll(reason: Error): void {
    // Only a busy worker has a check in flight: a converged graph has none to walk through.
    if (this.busy === 0) return;
    this.workers.forEach((worker) => worker.abortInflight(reason));
  }

  /** failures lists the resources that failed for good. */
  failures(): ResourceFailure[] {
    const out: ResourceFailure[] = [];
    this.workers.forEach((worker) => {
      if (worker.failed) out.push({ resource: worker.vertex.id, message: worker.lastError ?? 'failed' });
    });
    return out;
  }

  /** unfinished lists the resources still at work (not idle): a run that stops with one is not known to be OK. */
  unfinished(): string[] {
    const out: string[] = [];
    if (this.busy === 0) return out;
    this.workers.forEach((worker, id) => {
      if (!isIdleStatus(worker.status)) out.push(id);
    });
    return out;
  }

  /** statuses reports each vertex's status (for tests and diagnostics). */
  statuses(): Map<string, WorkerStatus> {
    const out = new Map<string, WorkerStatus>();
    for (const [id, worker] of this.workers) out.set(id, worker.status);
    return out;
  }

  private pruneRefreshFlags(next: Graph): void {
    if (this.refreshPending.size === 0) return;
    const live = new Set(next.edges.map((edge) => edgeKey(edge.from, edge.to)));
    for (const key of this.refreshPending.keys()) if (!live.has(key)) this.refreshPending.delete(key);
  }

  private statusChanged(from: WorkerStatus, to: WorkerStatus): void {
    this.stuck += (isStuckStatus(to) ? 1 : 0) - (isStuckStatus(from) ? 1 : 0);
    const wasIdle = isIdleStatus(from);
    const isIdle = isIdleStatus(to);
    if (wasIdle === isIdle) return;
    this.busy += isIdle ? -1 : 1;
    this.publishIdle();
  }

  private publishIdle(): void {
    const idle = this.busy === 0 && this.swapping === 0;
    // Only a change is news (idle$ drops repeats anyway): a subject's next allocates, and a
    // 100,000-noop chain published its busy state some 200,000 times, 95 MB of garbage.
    if (idle !== this.idleSubject.getValue()) this.idleSubject.next(idle);
  }
}

/** StopOptions say how the engine is stopped. */
export interface StopOptions {
  /** The process exits next, and releases the shared file watcher first (false: end every watch). */
  readonly exiting?: boolean;
}

/** stopAll stops every worker and waits for those that did not stop at once. */
async function stopAll(workers: { forEach(each: (worker: VertexWorker) => void): void }, exiting = false): Promise<void> {
  const pending: Promise<void>[] = [];
  workers.forEach((worker) => {
    const stopping = worker.stop(exiting);
    if (stopping) pending.push(stopping);
  });
  if (pending.length > 0) await Promise.all(pending);
}
