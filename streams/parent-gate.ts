import { asapScheduler, filter, Observable, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

/** ParentGateConfig is how parentGate reads the nodes of a dependency graph, and what it tells them. */
export interface ParentGateConfig<T, P> {
  /** parents lists a node's parents as they are now (the graph may have been swapped since its last run). */
  readonly parents: (node: T) => Iterable<P>;
  /** isSettled says whether a parent has run successfully since the node last did (its timestamp is newer). */
  readonly isSettled: (parent: P, node: T) => boolean;
  /** isDead says whether an unsettled parent cannot settle by being poked (it failed, is blocked, or stopped). */
  readonly isDead: (parent: P) => boolean;
  /** poke asks an unsettled, live parent to run (mgmt's BackPoke); it is called on the scheduler. */
  readonly poke: (parent: P) => void;
  /**
   * onHeld is told of each node held back, and whether it is blocked (every unsettled parent is
   * dead: nothing will open the gate but a change of the graph) or only waits for its parents.
   */
  readonly onHeld: (node: T, blocked: boolean) => void;
}

/**
 * parentGate is the dependency edges of classic mgmt expressed as a gate on runs: each value is a
 * node that asks to run, and it passes only when every parent of the node has settled since the
 * node last ran. One gate serves a whole graph.
 *
 * - A node whose parents have all settled (or that has none) passes at once, in the same call.
 * - A node with an unsettled parent is dropped, not kept: it back-pokes every unsettled parent that
 *   is not dead, each on the scheduler (after the current call, as mgmt pokes them in parallel), and
 *   `onHeld` says whether the node waits or is blocked. A parent that then runs pokes the node,
 *   which asks again; mgmt's equal timestamps count as unsettled, so at start everything waits for
 *   its parents.
 * - Completion and errors pass at once; a poke due after the subscriber left is not made.
 * - A callback that throws errors the output with what it threw.
 */
export function parentGate<T, P>(config: ParentGateConfig<T, P>, scheduler: SchedulerLike = asapScheduler): MonoTypeOperatorFunction<T> {
  const { parents, isSettled, isDead, poke, onHeld } = config;
  return (source) =>
    new Observable<T>((subscriber) => {
      // A poke due after the subscriber left is not made. Checking at poke time costs nothing per
      // poke, where keeping each pending action in a Subscription to cancel it made every removal
      // a search: quadratic when a whole graph waits for its parents at start. The pokes due are
      // made by one scheduled action per batch: rxjs's asap scheduler takes its actions off an
      // array with shift(), so 100,000 actions queued at once (a 100,000 chain's start) cost
      // 7.3 s of shifting where one action costs nothing.
      let due: P[] = [];
      const pokeDue = (): void => {
        const batch = due;
        due = [];
        for (const parent of batch) {
          if (subscriber.closed) return;
          try {
            poke(parent);
          } catch (err) {
            subscriber.error(err);
          }
        }
      };
      const schedulePoke = (parent: P): void => {
        if (due.push(parent) === 1) scheduler.schedule(pokeDue);
      };
      const isOpen = (node: T): boolean => {
        let open = true;
        let blocked = true;
        for (const parent of parents(node)) {
          if (isSettled(parent, node)) continue;
          open = false;
          if (isDead(parent)) continue;
          blocked = false;
          schedulePoke(parent);
        }
        if (!open) onHeld(node, blocked);
        return open;
      };
      subscriber.add(
        source.pipe(filter(isOpen)).subscribe({
          next: (value) => subscriber.next(value),
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        }),
      );
    });
}
