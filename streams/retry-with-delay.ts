import { asyncScheduler, retry, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { assertInteger, assertMilliseconds } from './validate.js';

/** RetryWithDelayConfig is how often and how slowly retryWithDelay re-subscribes. */
export interface RetryWithDelayConfig {
  /** Retries after the first failure: -1 retries forever, 0 never (mgmt's `retry` meta param). */
  readonly count: number;
  /** Milliseconds to wait before each re-subscription (mgmt's `delay` meta param). */
  readonly delayMs: number;
  /**
   * Called before each retry (ahead of the delay) with the error and the retries left after this
   * one (-1 when retrying forever), so the caller can log a `retry` event. If it throws, the output
   * errors with what it threw.
   */
  readonly onRetry?: (error: unknown, attemptsLeft: number) => void;
}

/**
 * retryWithDelay re-subscribes to the source after it errors, up to `count` times, waiting `delayMs`
 * before each attempt, and errors with the last error once the retries are used up.
 *
 * - The counter is never reset: a success (an emission) between two failures does not refill it,
 *   as in classic mgmt, where `retry: 3` means three retries in all for this subscription.
 * - Values emitted before an error are kept; completion ends the output as usual.
 * - The wait is a timer even for `delayMs = 0`, so a source that fails synchronously cannot
 *   recurse on the stack.
 *
 * @throws RangeError when `count` is not an integer >= -1, or `delayMs` not a number of milliseconds
 * from 0 to MAX_TIMER_MS.
 */
export function retryWithDelay<T>(
  config: RetryWithDelayConfig,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  const { count, delayMs, onRetry } = config;
  assertInteger('retryWithDelay', 'count', count, -1);
  assertMilliseconds('retryWithDelay', 'delayMs', delayMs);
  const forever = count === -1;

  return retry<T>({
    count: forever ? Infinity : count,
    resetOnSuccess: false,
    delay: (error: unknown, retryCount: number) => {
      onRetry?.(error, forever ? -1 : count - retryCount);
      return timer(delayMs, scheduler);
    },
  });
}
