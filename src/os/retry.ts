import { delay } from './time.js';

/** RetryOptions say how often a failing step is tried again, how long to pause, and when to give up. */
export interface RetryOptions {
  /** How many tries at most; undefined = until it succeeds or `stop` says so. */
  readonly attempts?: number;
  /** The pause after the n-th failure (n counts from 1), in ms. */
  readonly pauseMs: (failures: number) => number;
  /** Gives up after a failure (which is then rethrown) once this says true. */
  readonly stop?: () => boolean;
  /** Hears each failure that will be tried again, with its number (from 1), to log it. */
  readonly onRetry?: (err: unknown, failures: number) => void;
}

/**
 * retryPromise runs `step` until it resolves and returns its value; a failure is tried again after
 * a pause that does not keep the process alive, and the last failure is rethrown when the tries
 * run out or `stop` says so.
 */
export async function retryPromise<T>(step: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let failures = 1; ; failures++) {
    try {
      return await step();
    } catch (err) {
      if ((options.attempts !== undefined && failures >= options.attempts) || options.stop?.()) throw err;
      options.onRetry?.(err, failures);
      await delay(options.pauseMs(failures));
    }
  }
}
