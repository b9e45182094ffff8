import { asyncScheduler, defer, filter, map, repeat, switchMap, take, timer, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { backoffDelay } from './retry-with-backoff.js';
import { assertMilliseconds } from './validate.js';

/** WhenSettledConfig says how long a source must stay quiet, and what else must hold, before whenSettled emits. */
export interface WhenSettledConfig {
  /** How long the source must not emit before `isSettled` is asked. */
  readonly quietMs: number;
  /** Asked after each quiet period: emits true when the change is complete (e.g. its writer closed the file). */
  readonly isSettled: () => Observable<boolean>;
  /** The wait before asking `isSettled` again after a false; each later wait doubles it. */
  readonly recheckInitialMs: number;
  /** The longest wait between two questions. */
  readonly recheckMaxMs: number;
}

/**
 * whenSettled emits once per burst of source emissions, when the burst is over: after `quietMs`
 * without an emission and once `isSettled` says true, asking again (recheckInitialMs doubling up
 * to recheckMaxMs) while it says false. A source emission meanwhile starts the quiet period over.
 * It completes when the source has completed and no burst is pending; errors of the source or
 * of `isSettled` are passed on. For a file's live reload: a file still being written is not read.
 *
 * @throws RangeError when a delay is not a number of milliseconds, or recheckMaxMs < recheckInitialMs.
 */
export function whenSettled<T>(config: WhenSettledConfig, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, void> {
  const { quietMs, isSettled, recheckInitialMs, recheckMaxMs } = config;
  assertMilliseconds('whenSettled', 'quietMs', quietMs);
  assertMilliseconds('whenSettled', 'recheckInitialMs', recheckInitialMs, true);
  assertMilliseconds('whenSettled', 'recheckMaxMs', recheckMaxMs, true);
  if (recheckMaxMs < recheckInitialMs) throw new RangeError(`whenSettled: recheckMaxMs (${recheckMaxMs}) must be at least recheckInitialMs (${recheckInitialMs})`);
  const settled = defer(isSettled).pipe(
    take(1),
    repeat({ delay: (count) => timer(backoffDelay(count, recheckInitialMs, recheckMaxMs), scheduler) }),
    filter(Boolean),
    take(1),
  );
  return (source) =>
    source.pipe(
      switchMap(() => timer(quietMs, scheduler).pipe(switchMap(() => settled))),
      map((): void => undefined),
    );
}
