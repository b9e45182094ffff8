import {
  asyncScheduler,
  connect,
  distinctUntilChanged,
  endWith,
  ignoreElements,
  map,
  of,
  skip,
  startWith,
  switchMap,
  takeUntil,
  timer,
  type OperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { assertMilliseconds } from './validate.js';

/**
 * convergedAfter turns an "everything is idle right now" stream into converged-state changes: it
 * emits `true` once the input has been `true` continuously for `timeoutMs`, and `false` as soon as
 * the input turns `false` after that.
 *
 * - This is a debounceTime over the all-idle stream, except that repeated `true` inputs do not
 *   restart the clock (idle is idle) and a `false` is never delayed.
 * - The output starts unconverged and only emits changes: never `true, true`, and no `false` before
 *   the first `true`.
 * - `timeoutMs = 0` converges in the same tick as the `true` input.
 * - When the input completes the output completes at once, dropping a convergence still being
 *   timed: the input ends when the engine stops, which is not the same as having converged.
 *
 * @throws RangeError when `timeoutMs` is not a number of milliseconds from 0 to MAX_TIMER_MS; mgmt's
 * -1 ("never converge") is the caller's to handle, by not using this operator.
 */
export function convergedAfter(
  timeoutMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<boolean, boolean> {
  assertMilliseconds('convergedAfter', 'timeoutMs', timeoutMs);
  const convergeLater = timeoutMs === 0 ? of(true) : timer(timeoutMs, scheduler).pipe(map(() => true));

  return (source) =>
    source.pipe(
      connect((idle$) =>
        idle$.pipe(
          distinctUntilChanged(),
          switchMap((idle) => (idle ? convergeLater : of(false))),
          // Seeded with the initial unconverged state, then dropped, so only real changes show.
          startWith(false),
          distinctUntilChanged(),
          skip(1),
          // switchMap would wait for a running timer after the input completes; stop instead.
          takeUntil(idle$.pipe(ignoreElements(), endWith(true))),
        ),
      ),
    );
}
