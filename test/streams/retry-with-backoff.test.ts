import { defer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { backoffDelay, retryWithBackoff } from '../../streams/retry-with-backoff.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('retryWithBackoff', () => {
  it('passes values and completion through when nothing fails', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|').pipe(retryWithBackoff({ initialMs: 10, maxMs: 40 }, scheduler))).toBe('ab|');
    });
  });

  it('GIVEN a source failing at once every time WHEN retried THEN the waits double up to maxMs, and every retry is reported', () => {
    const scheduler = newScheduler();
    const reported: number[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, 'down');
      const out = source.pipe(retryWithBackoff({ initialMs: 10, maxMs: 40, onRetry: (err, attempt) => reported.push(attempt) }, scheduler));
      // subscriptions at 0, 10, 30 (10+20), 70 (30+40), 110 (70+40, capped)
      expectObservable(out, '^ 115ms !').toBe('-');
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '10ms (^!)', '30ms (^!)', '70ms (^!)', '110ms (^!)']);
    });
    expect(reported).toEqual([1, 2, 3, 4, 5]);
  });

  it('GIVEN a value between failures WHEN the source fails again THEN the wait starts over at initialMs', () => {
    const scheduler = newScheduler();
    let subscriptions = 0;
    scheduler.run(({ cold, expectObservable }) => {
      // first two attempts fail at once; the third emits then fails; the fourth emits and completes
      const source = defer(() => {
        subscriptions++;
        if (subscriptions <= 2) return cold('#');
        if (subscriptions === 3) return cold('a#');
        return cold('b|');
      });
      // attempts at 0, 10, 30 (value a at 30, fails at 31), then the wait is 10 again: b at 41
      expectObservable(source.pipe(retryWithBackoff({ initialMs: 10, maxMs: 1000 }, scheduler))).toBe('30ms a 10ms b|');
    });
  });

  it('computes the delays and refuses bad settings', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 50, 300))).toEqual([50, 100, 200, 300, 300]);
    expect(() => retryWithBackoff({ initialMs: -1, maxMs: 10 })).toThrow(RangeError);
    expect(() => retryWithBackoff({ initialMs: 20, maxMs: 10 })).toThrow(/maxMs/);
  });
});
