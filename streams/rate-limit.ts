import {
  EMPTY,
  NEVER,
  asyncScheduler,
  defer,
  throttle,
  timer,
  type MonoTypeOperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import { MAX_TIMER_MS, assertInteger, describeValue } from './validate.js';

// The bucket counts thousandths of a token, so a whole-number limit refills by whole units per
// millisecond and waits come out exact (no float drift in virtual-time tests).
const ONE_TOKEN = 1000;

/**
 * rateLimit passes events through a token bucket, like golang.org/x/time/rate behind mgmt's
 * `limit`/`burst` meta params: `limit` tokens per second refill a bucket of size `burst`, which
 * starts full.
 *
 * - An event that finds a token passes at once and spends it.
 * - An event that finds none is not dropped: it becomes the one pending emission, delivered as
 *   soon as a token is available; later events meanwhile replace it (the latest value wins),
 *   because a watch event only means "look again" and one look covers them all.
 * - When the source completes with an emission pending, that emission is still delivered when its
 *   token arrives, and then the output completes. Errors pass at once and drop what is pending.
 * - `limit = Infinity` returns the source untouched (mgmt's default, `.inf`); `limit = 0` lets
 *   `burst` events through and holds the rest forever (Go's behaviour), as does any wait for a
 *   token longer than setTimeout's limit of about 24.8 days.
 * - Each subscription has its own bucket, full at subscribe time.
 *
 * @throws RangeError when `limit` is not a number >= 0, when `burst` is not an integer >= 0, or
 * when a finite `limit` has `burst` 0 (mgmt: "permanently limited (rate != Inf, burst = 0)").
 */
export function rateLimit<T>(
  limit: number,
  burst: number,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit < 0) {
    throw new RangeError(`rateLimit: limit must be a number >= 0 or Infinity, got ${describeValue(limit)}`);
  }
  assertInteger('rateLimit', 'burst', burst, 0);
  if (limit === Infinity) return (source) => source;
  if (burst === 0) {
    throw new RangeError(
      `rateLimit: permanently limited (rate != Inf, burst = 0): limit ${limit} needs a burst >= 1`,
    );
  }
  return (source) =>
    defer(() => {
      let units = burst * ONE_TOKEN;
      let lastRefill = scheduler.now();
      // throttle with leading + trailing is exactly "emit now, or keep the latest value for later";
      // its duration selector runs once per emission, so that is where the token is spent and the
      // time until the next token is computed.
      return source.pipe(
        throttle(
          () => {
            const now = scheduler.now();
            units = Math.min(burst * ONE_TOKEN, units + (now - lastRefill) * limit) - ONE_TOKEN;
            lastRefill = now;
            if (units >= ONE_TOKEN) return EMPTY;
            const waitMs = (ONE_TOKEN - units) / limit;
            // Node fires an over-long timer (Infinity for limit 0) after 1 ms, so never is the honest answer.
            return waitMs > MAX_TIMER_MS ? NEVER : timer(waitMs, scheduler);
          },
          { leading: true, trailing: true },
        ),
      );
    });
}
