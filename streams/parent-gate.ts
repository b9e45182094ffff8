import { asapScheduler, filter, Observable, Subscription, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

/** ParentGateConfig is how parentGate reads a node's parents in a dependency graph, and what it tells them. */
export interface ParentGateConfig<P> {
  /** parents lists the node's parents as they are now (the graph may have been swapped since the last value). */
  readonly parents: () => Iterable<P>;
  /** isSettled says whether a parent has run successfully since this node last did (its timestamp is newer). */
  readonly isSettled: (parent: P) => boolean;
  /** isDead says whether an unsettled parent cannot settle by being poked (it failed, is blocked, or stopped). */
  readonly isDead: (parent: P) => boolean;
  /** poke asks an unsettled, live parent to run (mgmt's BackPoke); it is called on the scheduler. */
  readonly poke: (parent: P) => void;
  /**
   * onHeld is told, for each value held back, whether the node is blocked (every unsettled parent is
   * dead: nothing will open the gate but a change of the graph) or only waits for its parents.
   */
  readonly onHeld: (blocked: boolean) => void;
}

/**
 * parentGate passes a value only while every parent has settled since this node last did, the
 * dependency edges of classic mgmt expressed as a gate on the node's runs.
 *
 * - A value that finds every parent settled (or no parent) passes at once, in the same call.
 * - A value that finds one unsettled is dropped, not kept: it back-pokes every unsettled parent that
 *   is not dead, each on the scheduler (after the current call, as mgmt pokes them in parallel), and
 *   `onHeld` says whether the node waits or is blocked. A parent that then runs pokes the node again,
 *   which sends a new value; mgmt's equal timestamps count as unsettled, so at start everything waits
 *   for its parents.
 * - Completion and errors pass at once; unsubscribing cancels the pokes not yet made.
 * - A callback that throws errors the output with what it threw.
 */
export function parentGate<T, P>(config: ParentGateConfig<P>, scheduler: SchedulerLike = asapScheduler): MonoTypeOperatorFunction<T> {
  const { parents, isSettled, isDead, poke, onHeld } = config;
  return (source) =>
    new Observable<T>((subscriber) => {
      const pokes = new Subscription();
      subscriber.add(pokes);
      const schedulePoke = (parent: P): void => {
        // A scheduler that runs the action at once calls it before `action` is set: then there is nothing to keep.
        let ran = false;
        let action: Subscription | undefined = undefined;
        action = scheduler.schedule(() => {
          ran = true;
          if (action) pokes.remove(action);
          try {
            poke(parent);
          } catch (err) {
            subscriber.error(err);
          }
        });
        if (!ran) pokes.add(action);
      };
      const isOpen = (): boolean => {
        let open = true;
        let blocked = true;
        for (const parent of parents()) {
          if (isSettled(parent)) continue;
          open = false;
          if (isDead(parent)) continue;
          blocked = false;
          schedulePoke(parent);
        }
        if (!open) onHeld(blocked);
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
