import { Subject } from 'rxjs';
import { parentGate } from '../../streams/parent-gate.js';

/** GatedWorker is what the run gate reads and tells of a worker: its parents are workers too. */
export interface GatedWorker {
  readonly timestamp: number;
  readonly failed: boolean;
  readonly status: string;
  /** The workers of its parents, as linked at the last swap (a removed one is 'stopped'). */
  readonly parents: readonly GatedWorker[];
  poke(): void;
  held(blocked: boolean): void;
}

/**
 * runsWithoutPoke says whether a parent of this status runs, and then pokes its ready children,
 * without a back-poke. One that waits for its own parents runs when they poke it: poking it again
 * only held it again, and made a chain's start a cascade per vertex (quadratic; issue 13). One
 * processing or pending has its pass under way or due: a poke only queued another pass, and a
 * chain's start ran each vertex about four times (a 1,000-noop chain: 4,104 passes through the
 * gate, 3,103 held).
 */
function runsWithoutPoke(status: string): boolean {
  return status === 'waiting' || status === 'processing' || status === 'pending';
}

/**
 * RunGate is an engine's one parent gate (streams/parent-gate.ts): every pass of every worker is
 * offered to it, and it says whether the worker may process. One subscription serves the whole
 * graph: a gate per worker held 2.7 KB each, 27 MB for 10,000 files (docs/engine-gating.md). It
 * reads each worker's parents off the worker: looking them up by id, per edge and per pass, was
 * 1.4 s of a 100,000-noop chain's 8.3 s profile.
 */
export class RunGate {
  private readonly passes = new Subject<GatedWorker>();
  private admitted: GatedWorker | undefined;
  private failure: { readonly error: unknown } | undefined;

  constructor() {
    this.subscribe();
  }

  /**
   * offer offers one pass of `worker` to the gate: true = it may process now; false = it was held
   * back (the gate told it whether it waits or is blocked, and poked its parents).
   *
   * @throws what a callback of the gate threw: an engine bug, which fails the worker that offered.
   */
  offer(worker: GatedWorker): boolean {
    // The gate opens at once for a vertex without parents, and tells nobody: most vertices of a
    // large graph have none, and their 10,000 passes through the operator were 2% of a 10,000-file
    // re-check's CPU profile.
    if (worker.parents.length === 0) return true;
    this.admitted = undefined;
    this.passes.next(worker);
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw failure.error;
    const admitted = this.admitted === worker;
    this.admitted = undefined;
    return admitted;
  }

  private subscribe(): void {
    this.passes
      .pipe(
        parentGate<GatedWorker, GatedWorker>({
          parents: (worker) => worker.parents,
          isSettled: (parent, worker) => parent.timestamp > worker.timestamp,
          isDead: (parent) => parent.failed || parent.status === 'blocked' || parent.status === 'stopped',
          poke: (parent) => {
            if (!runsWithoutPoke(parent.status)) parent.poke();
          },
          onHeld: (worker, blocked) => worker.held(blocked),
        }),
      )
      .subscribe({
        next: (worker) => {
          this.admitted = worker;
        },
        error: (error: unknown) => {
          // The failed pass is reported by offer; the other workers keep their gate.
          this.failure = { error };
          this.subscribe();
        },
      });
  }
}
