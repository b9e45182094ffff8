import { asyncScheduler, interval, map, startWith, type Observable, type SchedulerLike } from 'rxjs';
import { assertMilliseconds } from './validate.js';

/**
 * pollTicks is the event source for a positive `poll` meta param: it emits at once on subscribe
 * (the "ready" event that dirties the resource for its first check) and then every `periodMs`,
 * never completing; unsubscribing stops the timer.
 *
 * @throws RangeError when `periodMs` is not a number of milliseconds above 0 (a 0 period would spin).
 */
export function pollTicks(periodMs: number, scheduler: SchedulerLike = asyncScheduler): Observable<void> {
  assertMilliseconds('pollTicks', 'periodMs', periodMs, true);
  return interval(periodMs, scheduler).pipe(
    map((): void => undefined),
    startWith(undefined),
  );
}
