import {
  asyncScheduler,
  connect,
  exhaustMap,
  startWith,
  takeUntil,
  timer,
  toArray,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { assertMilliseconds } from './validate.js';

/**
 * bufferBurst coalesces bursts: the first event opens a window of `windowMs`, and when it closes the
 * output emits one array of every event received in it (at least one), so a burst of member events
 * of a grouped resource makes one run.
 *
 * - No events, no emissions: there is no empty window.
 * - The next event after a window closed opens a new one.
 * - Completion flushes the open window at once, then completes; an error drops it.
 *
 * @throws RangeError when `windowMs` is not a number of milliseconds from 0 to MAX_TIMER_MS.
 */
export function bufferBurst<T>(
  windowMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<T, T[]> {
  assertMilliseconds('bufferBurst', 'windowMs', windowMs);
  return (source) =>
    source.pipe(
      connect((events$) =>
        events$.pipe(
          // While a window is open, exhaustMap ignores events here; the window's own subscription to
          // events$ collects them instead.
          exhaustMap((first) => events$.pipe(takeUntil(timer(windowMs, scheduler)), startWith(first), toArray())),
        ),
      ),
    );
}
