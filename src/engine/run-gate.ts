import { Subject } from 'rxjs';
import { parentGate } from '../../streams/parent-gate.js';
import type { Edge } from '../graph/graph.js';

/** GatedWorker is what the run gate reads and tells of a worker. */
export interface GatedWorker {
  readonly vertex: { readonly id: string };
  readonly timestamp: number;
  readonly failed: boolean;
  readonly status: string;
  poke(): void;
  held(blocked: boolean): void;
}

/** RunGateHost is the graph the run gate reads: a vertex's incoming edges and the worker of an id. */
export interface RunGateHost {
  incoming(id: string): readonly Edge[];
  worker(id: string): GatedWorker | undefined;
}

/**
 * RunGate is an engine's one parent gate (streams/parent-gate.ts): every pass of every worker is
 * offered to it, and it says whether the worker may process. One subscription serves the whole
 * graph: a gate per worker held 2.7 KB each, 27 MB for 10,000 files (docs/engine-gating.md).
 */
export class RunGate {
  private readonly passes = new Subject<GatedWorker>();
  private admitted: GatedWorker | undefined;
  private failure: { readonly error: unknown } | undefined;
  private readonly host: RunGateHost;

  constructor(host: RunGateHost) {
    this.host = host;
    this.subscribe();
  }

  /**
   * offer offers one pass of `worker` to the gate: true = it may process now; false = it was held
   * back (the gate told it whether it waits or is blocked, and poked its parents).
   *
   * @throws what a callback of the gate threw: an engine bug, which fails the worker that offered.
   */
  offer(worker: GatedWorker): boolean {
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
    const { host } = this;
    this.passes
      .pipe(
        parentGate<GatedWorker, Edge>({
          parents: (worker) => host.incoming(worker.vertex.id),
          isSettled: (edge, worker) => {
            const parent = host.worker(edge.from);
            return !parent || parent.timestamp > worker.timestamp;
          },
          isDead: (edge) => {
            const parent = host.worker(edge.from);
            return !parent || parent.failed || parent.status === 'blocked' || parent.status === 'stopped';
          },
          // A parent that waits for its own parents runs when they poke it: poking it again only
          // holds it again, and made a chain's start a cascade per vertex (quadratic; issue 13).
          poke: (edge) => {
            const parent = host.worker(edge.from);
            if (parent && parent.status !== 'waiting') parent.poke();
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
