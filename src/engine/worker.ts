import { defer, from, lastValueFrom, Observable, Subject, takeUntil, throwError, type Unsubscribable } from 'rxjs';
import { onceTick } from '../../streams/once-tick.js';
import { pollTicks } from '../../streams/poll-ticks.js';
import { rateLimit } from '../../streams/rate-limit.js';
import { backoffDelay } from '../../streams/retry-with-backoff.js';
import { retryWithDelay } from '../../streams/retry-with-delay.js';
import { errorMessage, resourceId } from '../errors.js';
import type { Edge, Vertex } from '../graph/graph.js';
import { roundMs, type EventLog, type Level, type LogEvent } from '../log/events.js';
import { startRunner, type MemberContextFactory, type VertexRunner } from './runner.js';
import type { SignalPool } from './signal-pool.js';
import type { RefreshSource } from './member-context.js';
import type { Grantee, QueuedWait, Release, SemaphoreWait, Semaphores } from '../os/semaphores.js';
import type { EngineObserver } from './observer.js';
import { PathWatch } from '../watchers/path-watch.js';
import { atTurnEnd, turnElapsedMs } from '../os/turn.js';

/**
 * WorkerStatus is where a vertex is in its life. `idle`, `blocked` and `failed` count as idle for
 * convergence; everything else is activity.
 */
export type WorkerStatus =
  | 'starting' // waiting for the watch to be ready (its first event)
  | 'pending' // has work and is about to process
  | 'waiting' // has work but waits for parents to run first
  | 'processing' // checkApply (or the cached skip) in progress
  | 'retrying' // a checkApply failed; waiting `delay` ms before trying again
  | 'idle' // state OK (or checked, in noop), nothing to do
  | 'blocked' // has work but a parent failed for good, so it can never run
  | 'failed' // failed, no retry left: waits for its next watch event (init and watch failures: for good)
  | 'stopped'; // removed from the graph

// A resource that keeps failing on every event (its own failed attempt may cause one: a failed
// apt-get rewrites dpkg's status) cannot spin: an event after a failure is tried at once the first
// time, one that came while the attempt ran (maybe its own doing) after FAILED_BACKOFF_FIRST_MS,
// and failures in a row wait twice as long each time.
const FAILED_BACKOFF_FIRST_MS = 100;
const FAILED_BACKOFF_MAX_MS = 60_000;

// An aborted checkApply that honours its signal stops what it started before it settles (a package
// transaction unwinding); stopping a worker waits that long for it at most, so a resource that
// ignores its signal cannot hang a swap or a shutdown.
const STOP_SETTLE_MS = 10_000;

/** isStuckStatus says whether a vertex has work but waits on, or is blocked by, a parent. */
export function isStuckStatus(status: WorkerStatus): boolean {
  return status === 'waiting' || status === 'blocked';
}

/** isIdleStatus says whether a status counts as idle for convergence. */
export function isIdleStatus(status: WorkerStatus): boolean {
  // Comparisons, not a Set: asked at every status change of every worker.
  return status === 'idle' || status === 'blocked' || status === 'failed' || status === 'stopped';
}

// Longest group id a member's event carries whole; 20,000 members' events each naming all 20,000
// would grow the log with the square of the group.
const MAX_GROUP_ID = 200;

/** shortGroupId is the group's id, or for a large group its first members' names and how many more. */
function shortGroupId(vertex: Vertex): string {
  if (vertex.id.length <= MAX_GROUP_ID) return vertex.id;
  const shown: string[] = [];
  let length = 0;
  for (const member of vertex.members) {
    if (length + member.name.length > MAX_GROUP_ID) break;
    shown.push(member.name);
    length += member.name.length + 1;
  }
  return resourceId(vertex.kind, `autogroup:(${shown.join(',')},...${vertex.members.length - shown.length} more)`);
}

const NO_SEMAPHORES: readonly string[] = Object.freeze([]);
const NO_EDGES: readonly Edge[] = Object.freeze([]);
const NO_MARKS: readonly number[] = Object.freeze([]);
// What a kind that ignores its signal is handed (ResourceKind.ignoresSignal): nothing aborts it.
const NEVER_ABORTED: AbortSignal = new AbortController().signal;
const NO_WORKERS: readonly VertexWorker[] = Object.freeze([]);
// What a worker that never ran has for its run loop: one settled promise for all of them.
const SETTLED: Promise<void> = Promise.resolve();
// The results of a one-resource vertex checked OK by checkOKSync.
const OK_RESULTS: readonly boolean[] = Object.freeze([true]);
const kindCaps = new Map<string, readonly string[]>();
// The last kind asked about: a graph's vertices mostly come kind after kind, and building the id
// string to look it up was as much as the lookup saved.
let lastCap: { readonly kind: string; readonly parallelism: number; readonly ids: readonly string[] } | undefined;

/**
 * kindSemaphoreIds is the semaphore list of a kind's own cap (`parallelism`): one array per kind,
 * so that Semaphores sorts and looks it up once, not once per vertex (10,000 lookups were 1% of a
 * 10,000-file re-check).
 */
function kindSemaphoreIds(kind: string, parallelism: number): readonly string[] {
  if (lastCap?.kind === kind && lastCap.parallelism === parallelism) return lastCap.ids;
  // NUL keeps the id apart from any user's.
  const id = `\0kind ${kind}:${parallelism}`;
  let ids = kindCaps.get(id);
  if (!ids) {
    ids = Object.freeze([id]);
    kindCaps.set(id, ids);
  }
  lastCap = { kind, parallelism, ids };
  return ids;
}

/** WorkerHost is what a worker needs from the engine that owns it. */
export interface WorkerHost {
  readonly log: EventLog;
  readonly semaphores: Semaphores;
  /** The AbortControllers checks borrow (signal-pool.ts). */
  readonly signals: SignalPool;
  /** Told what the workers do (metrics); absent = nobody asked. */
  readonly observer?: EngineObserver;
  /** tick returns a new, strictly increasing timestamp. */
  tick(): number;
  hasRefresh(edge: Edge): boolean;
  /** setRefresh sets the edge's refresh flag, with a new mark. */
  setRefresh(edge: Edge): void;
  /** refreshMark is the mark the edge's flag got when it was last set; 0 when it is not set. */
  refreshMark(edge: Edge): number;
  /**
   * clearRefresh clears the edge's flag if it still has `mark`: a parent that set it again while
   * the child's refresh ran (a drift repaired during a slow reload) asks for another refresh.
   */
  clearRefresh(edge: Edge, mark: number): void;
  statusChanged(worker: VertexWorker, from: WorkerStatus, to: WorkerStatus): void;
  /** offerPass offers a pass of the worker to the graph's parent gate (run-gate.ts); true = it may process. */
  offerPass(worker: VertexWorker): boolean;
}

/** WorkerContextFactory builds the ResourceContext of one member of a vertex (the engine owns shared watchers). */
export type WorkerContextFactory = MemberContextFactory;

/**
 * VertexWorker runs one vertex: its watch stream dirties it, pokes from parents and children
 * schedule it, and processing follows classic mgmt: wait until every parent ran more recently than
 * this vertex, skip checkApply when the state is known OK and no refresh waits, else checkApply,
 * then stamp a new timestamp, refresh children over notify edges, and poke children. The parent
 * gate and checkApply retries are operators of streams/ (docs/engine-gating.md).
 */
export class VertexWorker implements Grantee, RefreshSource {
  readonly vertex: Vertex;
  /** Timestamp of the last successful process; 0 = never. Children compare against it. */
  timestamp = 0;
  status: WorkerStatus = 'starting';
  /** The last attempt failed and no retry is left (until a later run succeeds). */
  failed = false;
  /** Last error message, for reports. */
  lastError: string | undefined;
  /** The engine's swap generation that last kept or created this worker. */
  generation = 0;
  /** The swap generation that last linked this worker (link-workers.ts). */
  linkedIn = 0;
  /** Its incoming edges, as the graph of the last link has them. */
  parentEdges: readonly Edge[] = NO_EDGES;
  /** The worker of each of parentEdges, index by index (the run gate and parentSettled read them). */
  parents: readonly VertexWorker[] = NO_WORKERS;
  /** Its outgoing edges, as the graph of the last link has them. */
  childEdges: readonly Edge[] = NO_EDGES;
  /** The worker of each of childEdges, index by index. */
  children: readonly VertexWorker[] = NO_WORKERS;

  private readonly host: WorkerHost;
  private readonly semaphoreIds: readonly string[];
  private runner: VertexRunner | undefined;
  private watchSubscription: Unsubscribable | undefined;
  /** Its watch is the shared file watcher's own (PathWatch): a stop before the process exits may leave it to the watcher. */
  private watchIsPath = false;
  private started = false;
  private stateOK = false;
  private dirtyGeneration = 0;
  private running = false;
  private rerun = false;
  private stopped = false;
  /** Init or the watch failed: nothing can make this vertex run again. */
  private dead = false;
  /** Failures in a row with no retry left, for the wait before the next event's attempt. */
  private failuresInRow = 0;
  private failedAt = 0;
  /** News came while the failed attempt ran: it may be the attempt's own doing. */
  private newsDuringFailure = false;
  /** An event (or a parent's run) came since the last attempt began: a failed vertex may try again. */
  private newsSinceAttempt = false;
  private refreshNow = false;
  private retriesLeft: number;
  /** The wait before the next attempt of a vertex failing in a row (deferAfterFailure). */
  private retryTimer: NodeJS.Timeout | undefined;
  /** Ends the wait of a checkApply retry (meta `delay`) while one is due; undefined otherwise. */
  private retryWait: Subject<void> | undefined;
  /** Its checks get a signal of their own (false: the kind ignores it; a group always gets one, its runner reads it between members). */
  private readonly ownSignal: boolean;
  /** Aborts the running checkApply's own signal, while one runs with one. */
  private inflight: AbortController | undefined;
  /** The running check was aborted: its resource may still be working (stop waits for it). */
  private runAborted = false;
  /** The wait for its semaphores of a worker parked before its run (schedule), while it waits. */
  private parked: QueuedWait | undefined;
  /** The semaphores a parked worker was granted, until its check takes them or its pass ends. */
  private heldSlots: Release | undefined;
  /** The semaphore wait of a check, while one waits (abortRun cancels it). */
  private semaphoreWait: SemaphoreWait | undefined;
  /** Why the semaphore wait was aborted, when it was. */
  private waitAborted: Error | undefined;
  /** Settles the running check with an abort's reason, while one runs. */
  private rejectRun: ((reason: unknown) => void) | undefined;
  /** The resource's own checkApply while it runs, even past an abort that settled the attempt. */
  private resourceRun: Promise<unknown> | undefined;
  private runDone: Promise<void> = SETTLED;
  /** How many parents of `readyOf` ran since this vertex's timestamp `readyFor` (parentSettled). */
  private settledParents = 0;
  private readyFor = -1;
  private readyOf: readonly VertexWorker[] | undefined;

  constructor(vertex: Vertex, host: WorkerHost) {
    this.vertex = vertex;
    this.host = host;
    this.retriesLeft = vertex.meta.retry;
    const { parallelism } = vertex.def;
    const kindCap = parallelism ? kindSemaphoreIds(vertex.kind, parallelism) : NO_SEMAPHORES;
    this.semaphoreIds = vertex.meta.sema.length === 0 ? kindCap : [...vertex.meta.sema, ...kindCap];
    this.ownSignal = vertex.def.ignoresSignal !== true || vertex.members.length > 1;
  }

  /** refreshing says whether a refresh waits for the checkApply in progress (its members' contexts read it). */
  get refreshing(): boolean {
    return this.refreshNow;
  }

  /** link gives the worker its neighbours: each list of workers matches its list of edges, index by index. */
  link(parentEdges: readonly Edge[], parents: readonly VertexWorker[], childEdges: readonly Edge[], children: readonly VertexWorker[]): void {
    this.parentEdges = parentEdges;
    this.parents = parents;
    this.childEdges = childEdges;
    this.children = children;
  }

  /** start creates the live resource and subscribes to its watch stream. */
  start(makeContext: WorkerContextFactory): void {
    const { vertex } = this;
    let runner: VertexRunner;
    try {
      // The worker is its members' refresh source: no closure per worker and member.
      runner = startRunner(vertex, makeContext, this);
    } catch (err) {
      this.failForGood('init', err);
      return;
    }
    this.runner = runner;
    const { meta } = vertex;
    let source: Observable<void>;
    if (meta.poll !== 0) {
      source = meta.poll > 0 ? pollTicks(meta.poll * 1000) : onceTick();
    } else if (meta.retry !== 0) {
      // A retry subscribes again: each subscription calls watch() anew.
      source = defer(() => runner.watch());
    } else {
      // Subscribed once: a watch() that throws fails the vertex as a failed subscription does.
      try {
        source = runner.watch();
      } catch (err) {
        this.failForGood('watch', err);
        return;
      }
    }
    // Operators that would pass everything through (retry 0, limit Infinity: the defaults) are
    // left out: building and subscribing them was 1.4 KB of garbage per vertex at a swap.
    if (meta.retry !== 0) {
      source = source.pipe(
        retryWithDelay({
          count: meta.retry,
          delayMs: meta.delay,
          onRetry: (err, left) =>
            this.emit('warn', 'retry', { phase: 'watch', message: `watch failed, restarting: ${errorMessage(err)}`, left }),
        }),
      );
    }
    if (meta.limit !== Infinity) source = source.pipe(rateLimit(meta.limit, meta.burst));
    // The shared file watcher's own watch is observed without an rxjs subscriber (path-watch.ts).
    const observer = new WatchObserver(this);
    this.watchIsPath = source instanceof PathWatch;
    this.watchSubscription = source instanceof PathWatch ? source.observe(observer) : source.subscribe(observer);
  }

  /** watchFailed fails the vertex for good: its watch ended with an error (WatchObserver). */
  watchFailed(err: unknown): void {
    this.failForGood('watch', err);
  }

  /** onWatchEvent dirties the vertex and schedules a pass: its watch emitted (WatchObserver). */
  onWatchEvent(): void {
    if (this.stopped || this.dead) return;
    // An event always allows a fresh attempt, with the retries of `retry` after it.
    if (this.failed) this.retriesLeft = this.vertex.meta.retry;
    this.newsSinceAttempt = true;
    this.dirtyGeneration++;
    this.stateOK = false;
    const first = !this.started;
    this.started = true;
    if (this.timestamp > 0) this.host.observer?.watched(this.vertex);
    this.emitWatch(first);
    this.schedule();
  }

  /** poke asks the worker to process if it can; it never marks the state dirty. */
  poke(): void {
    this.schedule();
  }

  /** parentRan pokes the worker for a parent that just ran: news that lets a failed vertex try again. */
  parentRan(): void {
    this.newsSinceAttempt = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.dead) return;
    if (this.retryWait) return; // a checkApply retry is due; it will process
    if (this.running) {
      this.rerun = true;
      // The loop may have published idle already; it will run again, so this is activity.
      if (isIdleStatus(this.status)) this.setStatus('pending');
      return;
    }
    if (this.retryTimer) return; // an attempt after a failure is already due; it will process
    // A failed vertex tries again on news only (not on its children's back-pokes), and not in a spin.
    if (this.failed && (!this.newsSinceAttempt || this.deferAfterFailure())) return;
    this.running = true;
    this.setStatus('pending');
    // A dirty vertex will check: it waits for its semaphores here, parked as itself in their queue,
    // not as the suspended frames of runLoop, process and checkApply (with their promises), which
    // for 10,000 files waiting on the file kind's 32 slots were ~30 MB of the start's peak heap.
    // take failed, so queue cannot grant at once: slotsGranted comes from a later release.
    if (!this.stateOK && this.semaphoreIds.length > 0) {
      const release = this.host.semaphores.take(this.semaphoreIds);
      if (!release) {
        this.parked = this.host.semaphores.queue(this.semaphoreIds, this);
        return;
      }
      this.heldSlots = release;
    }
    // A microtask hop keeps a long chain of cached vertices from recursing through the stack; one
    // shared callback, not a closure per pass (a 100,000 chain's start schedules every vertex).
    this.runDone = startRunLoop(this);
  }

  /** slotsGranted starts the run of a parked worker, which now holds its semaphores. */
  slotsGranted(release: Release): void {
    this.parked = undefined;
    if (this.stopped || this.dead) {
      release();
      this.running = false;
      return;
    }
    this.heldSlots = release;
    // Not inside the release that granted it: another worker's check is still finishing there.
    this.runDone = startRunLoop(this);
  }

  /** dropHeldSlots gives back semaphores granted for a pass that did not check (held by the gate, or known OK). */
  private dropHeldSlots(): void {
    const release = this.heldSlots;
    this.heldSlots = undefined;
    release?.();
  }

  /** runLoop runs passes until none is due (schedule starts it; not for other callers). */
  async runLoop(): Promise<void> {
    try {
      do {
        this.rerun = false;
        try {
          // A pass that ended synchronously (held, known OK, checked OK synchronously) is not
          // awaited: an await of nothing is one more microtask hop and promise per pass.
          const pass = this.passGate();
          if (pass !== undefined) await pass;
        } catch (err) {
          if (!(err instanceof CheckApplyFailure)) throw err;
          await this.retryAfter(err);
        }
        this.dropHeldSlots();
      } while (this.rerun && !this.stopped && !this.dead && !this.failed && !this.retryTimer);
    } catch (err) {
      // process guards every resource call; reaching here is an engine bug, reported loudly.
      this.failForGood('checkApply', err);
    } finally {
      this.dropHeldSlots();
      this.running = false;
      // Only a running loop's promise is awaited (settleStop): holding the last one kept 10,000
      // settled promises alive, and promoted them to the old space.
      this.runDone = SETTLED;
    }
    // News that came while the last attempt failed may describe the fix: it gets its attempt.
    if (this.rerun && this.failed) {
      this.rerun = false;
      this.schedule();
    }
  }

  /**
   * passGate offers one pass of the run loop to the parent gate and returns its processing, if the
   * gate let it through. Not async: each await between the loop and process is one more microtask
   * hop per pass, which kept 10,000 loops alive past the graph's idle and raised the peak RSS.
   */
  private passGate(): Promise<void> | undefined {
    // A worker granted its semaphores just as it was stopped resumes here: it must not check.
    if (this.stopped) return undefined;
    if (!this.started) {
      this.setStatus('starting');
      return undefined;
    }
    return this.host.offerPass(this) ? this.process() : undefined;
  }

  /**
   * process runs a pass the parent gate let through: undefined when it ended synchronously (the
   * state known OK, or checked OK by checkOKSync), else its check, which rejects with a
   * CheckApplyFailure when checkApply fails.
   */
  private process(): Promise<void> | undefined {
    const { vertex, host } = this;
    const refreshable = vertex.def.refreshable === true;
    // Flags are only ever set on notify edges, or on any edge by a kind that notifies all edges.
    const refreshEdges = refreshEdgesOf(this.parentEdges, host);
    const refresh = refreshable && refreshEdges.length > 0;
    // The flags this pass serves, as they are now: one set again meanwhile stays set.
    const marks = refreshEdges.length === 0 ? NO_MARKS : refreshEdges.map((edge) => host.refreshMark(edge));

    // Events dirty, pokes only schedule: a vertex known OK with no refresh waiting is skipped.
    if (this.stateOK && !refresh) {
      this.succeeded(false);
      return undefined;
    }

    this.setStatus('processing');
    this.newsSinceAttempt = false;
    const generation = this.dirtyGeneration;
    const started = performance.now();
    if (!refresh && this.checkedOKSync(!vertex.meta.noop)) {
      host.observer?.checked(vertex, !vertex.meta.noop, OK_RESULTS);
      this.finishPass(OK_RESULTS, started, generation, NO_EDGES, NO_MARKS, false);
      return undefined;
    }
    return this.checkPass(refreshEdges, marks, refresh, started, generation);
  }

  /**
   * checkedOKSync asks the resource's checkOKSync, when it has one and the vertex's semaphores are
   * free (a check that must wait for them takes the asynchronous path). A converged file is then
   * checked without checkApply's promises, async frames and AbortController: the checks of a
   * 10,000-file re-check took 0.62x the time (medians of 7 alternated runs).
   */
  private checkedOKSync(apply: boolean): boolean {
    const runner = this.runner;
    if (runner?.checkOKSync === undefined) return false;
    const release = this.heldSlots ?? this.host.semaphores.take(this.semaphoreIds);
    if (release === undefined) return false;
    this.heldSlots = undefined;
    let ok = false;
    try {
      ok = runner.checkOKSync(apply);
    } catch {
      // A bug of the kind's: checkApply looks again, and reports what it finds.
    }
    // Not OK: checkApply runs next, with the slots already held.
    if (ok) release();
    else this.heldSlots = release;
    return ok;
  }

  /** checkPass runs checkApply for a pass; it rejects with a CheckApplyFailure when checkApply fails. */
  private async checkPass(refreshEdges: readonly Edge[], marks: readonly number[], refresh: boolean, started: number, generation: number): Promise<void> {
    const { vertex } = this;
    const { meta } = vertex;
    let results: readonly boolean[];
    try {
      if (meta.noop && refresh) {
        // noop never calls the resource for a refresh; it only reports it
        results = vertex.members.map(() => false);
      } else {
        results = await this.checkApply(!meta.noop, refresh);
        this.host.observer?.checked(vertex, !meta.noop, results);
      }
    } catch (err) {
      if (this.stopped) return;
      this.host.observer?.checked(vertex, !meta.noop, undefined);
      throw new CheckApplyFailure(err);
    }
    if (this.stopped) return;
    this.finishPass(results, started, generation, refreshEdges, marks, refresh);
  }

  /** finishPass reports a pass's results, clears the refresh flags it served and stamps the vertex. */
  private finishPass(results: readonly boolean[], started: number, generation: number, refreshEdges: readonly Edge[], marks: readonly number[], refresh: boolean): void {
    const { host } = this;
    const { meta } = this.vertex;
    const ms = roundMs(performance.now() - started);
    if (refresh) {
      this.emit('info', 'refresh', { from: refreshEdges.map((edge) => edge.from), noop: meta.noop || undefined });
    }
    this.reportResults(results, ms);
    const checkOK = results.every(Boolean);

    // An event that arrived while checkApply ran may describe a change it did not see. In noop the
    // state is known too (what would change was reported): a parent's poke alone does not check
    // it again, so each "would change" is reported once per change.
    this.stateOK = this.dirtyGeneration === generation;
    if (!this.stateOK) this.rerun = true;
    if (!meta.noop) for (let i = 0; i < refreshEdges.length; i++) host.clearRefresh(refreshEdges[i]!, marks[i]!);
    this.succeeded(!checkOK && !meta.noop);
  }

  /** held records that the parent gate held a pass back: the vertex waits for its parents, or is blocked by them. */
  held(blocked: boolean): void {
    this.setStatus(blocked ? 'blocked' : 'waiting');
    if (blocked) {
      // Children waiting on us would wait forever: let them see that they are blocked too.
      for (const child of this.children) {
        if (child.status === 'waiting') queueMicrotask(() => child.poke());
      }
    }
  }

  /**
   * reportResults emits each member's own check or apply event (a group reports every member). An
   * OK check is a debug event: it is not even built for a log that writes no debug.
   */
  private reportResults(results: readonly boolean[], ms: number): void {
    const { vertex } = this;
    const { log } = this.host;
    const { members } = vertex;
    const debug = log.wants?.('debug') ?? true;
    // The group's fields are the same for every member: made once (and the id kept short: the
    // events of a group stay linear in its size).
    const group = members.length > 1 ? { group: shortGroupId(vertex), members: members.length } : undefined;
    for (let i = 0; i < members.length; i++) {
      const { id: resource, kind, name } = members[i]!;
      let event: LogEvent;
      if (results[i] === true) {
        if (!debug) continue;
        event = { level: 'debug', event: 'check', resource, kind, name, ok: true, ms };
      } else if (vertex.meta.noop) {
        event = { level: 'info', event: 'check', resource, kind, name, ok: false, noop: true, message: 'would change (noop)', ms };
      } else {
        event = { level: 'info', event: 'apply', resource, kind, name, changed: true, ms };
      }
      log.emit(group ? { ...event, ...group } : event);
    }
  }

  /**
   * checkApply runs the resource's checkApply once it holds its semaphores. An abort (stop,
   * shutdown, meta timeout) ends a semaphore wait, aborts the resource's signal and settles the run
   * at once, even for a resource that ignores its signal: a swap or a shutdown must never hang on
   * one resource. Every abort goes through abortRun, so the run needs no abort listener, and a
   * free semaphore (or none) is taken without waiting: the listener, the race and the wait's
   * promises were 5% of a 10,000-file re-check's CPU.
   */
  private async checkApply(apply: boolean, refresh: boolean): Promise<readonly boolean[]> {
    const runner = this.runner;
    if (!runner) throw new Error('resource was not initialised');
    const { meta } = this.vertex;
    let release = this.heldSlots ?? this.host.semaphores.take(this.semaphoreIds);
    this.heldSlots = undefined;
    if (!release) {
      // Inline, not a helper: 10,000 checks may wait here at once, each a suspended frame.
      const wait = this.host.semaphores.wait(this.semaphoreIds);
      this.semaphoreWait = wait;
      let aborted: Error | undefined;
      try {
        release = await wait.granted;
      } finally {
        this.semaphoreWait = undefined;
        aborted = this.waitAborted;
        this.waitAborted = undefined;
      }
      // An abort after the grant, before this line, had no wait left to cancel: the run must not start.
      if (aborted !== undefined) {
        release();
        throw aborted;
      }
    }
    // The controller is taken once the semaphores are held: 10,000 checks waiting for a kind's 32
    // slots need none of them yet. A kind that ignores its signal gets none at all.
    const controller = this.ownSignal ? this.host.signals.take() : undefined;
    this.inflight = controller;
    let timer: NodeJS.Timeout | undefined;
    if (meta.timeout > 0) {
      timer = setTimeout(() => this.abortRun(new Error(`timeout after ${meta.timeout} ms`)), meta.timeout);
    }
    try {
      this.refreshNow = refresh;
      const signal = controller ? controller.signal : NEVER_ABORTED;
      const run = Promise.resolve().then(() => runner.checkApply(apply, signal));
      this.resourceRun = run;
      return await new Promise<readonly boolean[]>((resolve, reject) => {
        this.rejectRun = reject;
        run.then(resolve, reject);
      });
    } finally {
      clearTimeout(timer);
      this.refreshNow = false;
      this.inflight = undefined;
      this.rejectRun = undefined;
      // An aborted run may still be working: stop waits for it (STOP_SETTLE_MS at most), and its
      // signal stays its own.
      if (!this.runAborted) {
        this.resourceRun = undefined;
        if (controller) this.host.signals.give(controller);
      }
      this.runAborted = false;
      release();
    }
  }

  /** abortRun ends a semaphore wait, or aborts the running checkApply and settles its run with `reason`. */
  private abortRun(reason: Error): void {
    if (this.semaphoreWait) {
      this.waitAborted ??= reason;
      this.semaphoreWait.cancel(reason);
    }
    this.inflight?.abort(reason);
    if (this.rejectRun) {
      this.runAborted = true;
      this.rejectRun(reason);
    }
  }

  private succeeded(changed: boolean): void {
    const { host, vertex } = this;
    if (this.failed) {
      this.failed = false;
      this.lastError = undefined;
    }
    this.failuresInRow = 0;
    if (changed) {
      const all = vertex.def.notifiesAllEdges === true;
      for (const edge of this.childEdges) if (edge.notify || all) host.setRefresh(edge);
    }
    const before = this.timestamp;
    this.timestamp = host.tick();
    // Children first, then our own status: the graph must never look idle between the two.
    this.pokeReadyChildren(before);
    if (!this.rerun) this.setStatus('idle');
  }

  /**
   * pokeReadyChildren pokes each child that this run made ready. A waiting child that is not ready
   * yet is left alone: it back-poked its unsettled parents when it was held, and the last of them
   * to run pokes it (one that dies pokes it too). Poking it on every parent's run made a fan-in of
   * N parents cost N gate passes of N parents each: 10,000 parents took 14.5 s, 1,000 took 1.5 s.
   */
  private pokeReadyChildren(before: number): void {
    const { host, children, childEdges } = this;
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      const ready = child.parentSettled(before);
      // A refresh must not wait for other parents to run by chance: the poked child back-pokes them.
      if (ready || child.status === 'blocked' || host.hasRefresh(childEdges[i]!)) child.parentRan();
    }
  }

  /**
   * parentSettled is told by a parent that ran (its timestamp was `parentBefore`) and says whether
   * every parent has now run since this vertex did. It counts instead of reading every parent: a
   * parent settles once per run of its child, so the count is redone only when the child ran or
   * the graph changed, and a fan-in of N parents costs O(N), not O(N²).
   */
  parentSettled(parentBefore: number): boolean {
    const { parents } = this;
    if (this.readyOf === parents && this.readyFor === this.timestamp) {
      if (parentBefore <= this.timestamp) this.settledParents++;
    } else {
      this.readyOf = parents;
      this.readyFor = this.timestamp;
      this.settledParents = 0;
      for (const parent of parents) if (parent.timestamp > this.timestamp) this.settledParents++;
    }
    return this.settledParents === parents.length;
  }

  /**
   * retryAfter handles a failed checkApply: retryWithDelay (the operator that restarts a failed watch)
   * waits meta `delay` ms and runs the pass again, while the vertex's budget of meta `retry` lasts.
   * The budget is the worker's, not the operator's: like mgmt's persisted counter it spans runs, and
   * an event after a failure refills it; an exhausted budget ends the retries by throwing in onRetry.
   */
  private async retryAfter(failure: CheckApplyFailure): Promise<void> {
    const { meta } = this.vertex;
    const halt = new Subject<void>();
    // The first attempt was this run's pass: the retried stream starts with its failure.
    let first: CheckApplyFailure | undefined = failure;
    const attempts = defer(() => {
      if (!first) return from(this.retryPass());
      const failed = first;
      first = undefined;
      return throwError(() => failed);
    });
    const onRetry = (err: unknown): void => {
      if (!(err instanceof CheckApplyFailure)) throw err;
      this.lastError = err.message;
      if (this.retriesLeft === 0) throw err;
      if (this.retriesLeft > 0) this.retriesLeft--;
      this.host.observer?.failed(this.vertex, 'soft');
      this.emit('error', 'error', { phase: 'checkApply', message: err.message, permanent: false });
      this.emit('warn', 'retry', {
        phase: 'checkApply',
        message: `retrying checkApply in ${meta.delay} ms`,
        left: this.retriesLeft,
        delayMs: meta.delay,
      });
      this.setStatus('retrying');
      this.retryWait = halt;
    };
    try {
      await lastValueFrom(attempts.pipe(retryWithDelay({ count: -1, delayMs: meta.delay, onRetry }), takeUntil(halt)), {
        defaultValue: undefined,
      });
    } catch (err) {
      if (!(err instanceof CheckApplyFailure)) throw err;
      this.failUntilEvent(err.message);
    } finally {
      if (this.retryWait === halt) this.retryWait = undefined;
    }
  }

  /** retryPass is a retry of `retry` once its delay is over: an attempt of its own, even for a vertex still failed from before. */
  private async retryPass(): Promise<void> {
    this.retryWait = undefined;
    this.rerun = false;
    this.newsSinceAttempt = true;
    if (this.stopped || this.dead) return;
    if (this.failed && this.deferAfterFailure()) return;
    this.setStatus('pending');
    await this.passGate();
  }

  /**
   * failUntilEvent reports a checkApply failure with no retry left. The vertex counts as failed
   * (exit code, blocked dependants) until a later attempt succeeds, and keeps its watch: the next
   * event, or a parent that runs again, tries again (a race with the file system, an operator's
   * fix), after the wait of deferAfterFailure.
   */
  private failUntilEvent(message: string): void {
    if (this.stopped) return;
    this.failuresInRow++;
    this.failedAt = performance.now();
    this.newsDuringFailure = this.newsSinceAttempt;
    this.markFailed('checkApply', message);
  }

  /** failForGood reports a failure nothing can undo (init, or the watch is gone). */
  private failForGood(phase: 'init' | 'watch' | 'checkApply', err: unknown): void {
    if (this.stopped || this.dead) return;
    this.dead = true;
    this.watchSubscription?.unsubscribe();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryWait?.next();
    this.markFailed(phase, errorMessage(err));
  }

  private markFailed(phase: 'init' | 'watch' | 'checkApply', message: string): void {
    this.failed = true;
    this.lastError = message;
    this.host.observer?.failed(this.vertex, 'hard');
    this.emit('error', 'error', { phase, message, permanent: true });
    // Dependants cannot run now: poke them so they notice and count as blocked.
    for (const child of this.children) child.poke();
    this.setStatus('failed');
  }

  /** deferAfterFailure arms the wait before the next attempt of a vertex failing in a row; true = wait, the timer schedules. */
  private deferAfterFailure(): boolean {
    const step = this.failuresInRow - 1 + (this.newsDuringFailure ? 1 : 0);
    const waitMs = step <= 0 ? 0 : backoffDelay(step, FAILED_BACKOFF_FIRST_MS, FAILED_BACKOFF_MAX_MS);
    const leftMs = this.failedAt + waitMs - performance.now();
    if (leftMs <= 0) return false;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, leftMs);
    return true;
  }

  /**
   * stop unsubscribes the watch, aborts a running checkApply, waits for it, and cleans up. It
   * returns undefined when it is done at once (nothing ran, no cleanup): stopping 10,000 idle
   * workers at the end of a one-shot run made an async frame and a promise each. When the
   * process is `exiting`, a watch of the shared file watcher alone is left to its release.
   */
  stop(exiting = false): Promise<void> | undefined {
    if (this.stopped) return undefined;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryWait?.next();
    if (!exiting || !this.watchIsPath) this.watchSubscription?.unsubscribe();
    // Nothing is made or awaited that is not there: an Error (and its stack) and three awaits
    // each were most of stopping 10,000 idle workers.
    if (this.parked?.cancel()) this.running = false;
    this.parked = undefined;
    if (this.rejectRun || this.semaphoreWait) this.abortRun(new Error('stopping'));
    if (!this.running && !this.resourceRun && !this.runner?.cleanup) {
      this.setStatus('stopped');
      return undefined;
    }
    return this.settleStop();
  }

  /** settleStop waits for the running pass and the resource's own run, then cleans up (stop). */
  private async settleStop(): Promise<void> {
    if (this.running) await this.runDone;
    if (this.resourceRun) await settledWithin(this.resourceRun, STOP_SETTLE_MS);
    if (this.runner?.cleanup) {
      try {
        await this.runner.cleanup();
      } catch (err) {
        this.emit('warn', 'error', { phase: 'cleanup', message: errorMessage(err) });
      }
    }
    this.setStatus('stopped');
    this.host.observer?.stopped(this.vertex);
  }

  /** abortInflight aborts a running checkApply without stopping the worker. */
  abortInflight(reason: Error): void {
    this.abortRun(reason);
  }

  private setStatus(status: WorkerStatus): void {
    if (this.status === status) return;
    if (this.stopped && status !== 'stopped') return;
    const from = this.status;
    this.status = status;
    this.host.statusChanged(this, from, status);
  }

  /** emitWatch reports a watch event (the first says the watch is ready) as emit would, without a spread of its fields. */
  private emitWatch(ready: boolean): void {
    const { vertex } = this;
    const { log } = this.host;
    if (log.wants?.('debug') === false) return;
    const resource = shortGroupId(vertex);
    const { kind, name } = vertex;
    log.emit(ready ? { level: 'debug', event: 'watch', resource, kind, name, ready } : { level: 'debug', event: 'watch', resource, kind, name });
  }

  private emit(level: Level, event: string, fields: Readonly<Record<string, unknown>>): void {
    const { vertex } = this;
    const { log } = this.host;
    if (level === 'debug' && log.wants?.('debug') === false) return;
    // A large group's own events name it as its members' events do: its whole id would make each
    // line as long as the group (59 KB for 10,000 noops).
    log.emit({ level, event, resource: shortGroupId(vertex), kind: vertex.kind, name: vertex.name, ...fields });
  }
}

/**
 * WatchObserver hands a worker its watch's events: one small object per worker, not an object
 * and two closures (rxjs calls an observer's methods on the observer itself).
 */
class WatchObserver {
  constructor(private readonly worker: VertexWorker) {}

  next(): void {
    this.worker.onWatchEvent();
  }

  error(err: unknown): void {
    this.worker.watchFailed(err);
  }
}

/** runLoopOf starts a worker's run loop: the one callback every schedule hands the microtask queue. */
function runLoopOf(worker: VertexWorker): Promise<void> {
  return worker.runLoop();
}

// Passes that start one another through microtasks alone never let the loop poll its descriptors:
// 10,000 files written in one turn queued 40,000 inotify events, more than the kernel keeps (every
// watch re-syncs then, fs-dir.ts: a second check of every file), and held back the event log,
// signals and timers. So a pass due once the turn has run this long waits for the next turn.
const TURN_BUDGET_MS = 5;
let nextTurn: Promise<void> | undefined;

/** startRunLoop starts a worker's run loop in a microtask, or in the next turn once this one has run its time. */
function startRunLoop(worker: VertexWorker): Promise<void> {
  if (turnElapsedMs() < TURN_BUDGET_MS) return Promise.resolve(worker).then(runLoopOf);
  nextTurn ??= new Promise<void>((resolve) => {
    atTurnEnd(() => {
      nextTurn = undefined;
      resolve();
    });
  });
  return nextTurn.then(() => worker.runLoop());
}

/**
 * refreshEdgesOf lists the incoming edges with a refresh flag set, allocating only when there is
 * one: a list per pass of every vertex with parents was garbage for nothing in a graph that
 * notifies nobody.
 */
function refreshEdgesOf(incoming: readonly Edge[], host: WorkerHost): readonly Edge[] {
  let flagged: Edge[] | undefined;
  for (const edge of incoming) if (host.hasRefresh(edge)) (flagged ??= []).push(edge);
  return flagged ?? NO_EDGES;
}

/** CheckApplyFailure carries a resource's checkApply error from a pass to the retries (an engine bug is not one). */
class CheckApplyFailure extends Error {
  constructor(cause: unknown) {
    super(errorMessage(cause), { cause });
  }
}

/** settledWithin resolves when `work` has settled or `ms` have passed, whichever comes first. */
function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  return Promise.race([settled, waited]).finally(() => clearTimeout(timer));
}
