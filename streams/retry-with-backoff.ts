import { asyncScheduler, retry, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { assertMilliseconds } from './validate.js';

/** RetryWithBackoffConfig is how slowly retryWithBackoff re-subscribes. */
export interface RetryWithBackoffConfig {
  /** The wait before the first retry; each later one doubles it. */
  readonly initialMs: number;
  /** The longest wait. */
  readonly maxMs: number;
  /** Called before each retry with the error and the retry's number (1-based since the last success), e.g. to log it. */
  readonly onRetry?: (error: unknown, attempt: number) => void;
}

/** backoffDelay is the wait before retry `attempt` (1-based): initialMs doubling up to maxMs. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30), maxMs);
}

/**
 * retryWithBackoff re-subscribes to the source after every error, forever, waiting initialMs, then
 * twice that, and so on up to maxMs; a value from the source starts the waits over. For streams that
 * must outlive an outage, such as etcd watches: the re-made watch's first value says "look again".
 *
 * @throws RangeError when initialMs or maxMs is not a number of milliseconds, or maxMs < initialMs.
 */
export function retryWithBackoff<T>(config: RetryWithBackoffConfig, scheduler: SchedulerLike = asyncScheduler): MonoTypeOperatorFunction<T> {
  const { initialMs, maxMs, onRetry } = config;
  assertMilliseconds('retryWithBackoff', 'initialMs', initialMs);
  assertMilliseconds('retryWithBackoff', 'maxMs', maxMs);
  if (maxMs < initialMs) throw new RangeError(`retryWithBackoff: maxMs (${maxMs}) must be at least initialMs (${initialMs})`);
  return retry<T>({
    resetOnSuccess: true,
    delay: (error: unknown, attempt: number) => {
      onRetry?.(error, attempt);
      return timer(backoffDelay(attempt, initialMs, maxMs), scheduler);
    },
  });
}
