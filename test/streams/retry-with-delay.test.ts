import { defer } from 'rxjs';
import { TestScheduler, type RunHelpers } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { retryWithDelay } from '../../streams/retry-with-delay.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('retryWithDelay', () => {
  it('passes nothing from a source that never emits', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(retryWithDelay({ count: 3, delayMs: 10 }, scheduler))).toBe('-');
    });
  });

  it('completes with an empty source', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(retryWithDelay({ count: 3, delayMs: 10 }, scheduler))).toBe('|');
    });
  });

  it('passes one value and many values through when nothing fails', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|').pipe(retryWithDelay({ count: 3, delayMs: 10 }, scheduler))).toBe('a|');
      expectObservable(cold('abc|').pipe(retryWithDelay({ count: 3, delayMs: 10 }, scheduler))).toBe('abc|');
    });
  });

  it('re-subscribes after each error with the delay between, then fails with the last error', () => {
    const scheduler = newScheduler();
    const retries: [unknown, number][] = [];
    const attempts: ReturnType<RunHelpers['cold']>[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      // GIVEN a source that fails with a new error on every subscription
      const source = defer(() => {
        const attempt = cold('a#', undefined, `e${attempts.length + 1}`);
        attempts.push(attempt);
        return attempt;
      });
      const onRetry = (error: unknown, attemptsLeft: number) => retries.push([error, attemptsLeft]);
      // THEN it runs three times, 10 ms apart, and fails with the third error
      expectObservable(source.pipe(retryWithDelay({ count: 2, delayMs: 10, onRetry }, scheduler))).toBe(
        'a 10ms a 10ms a#',
        undefined,
        'e3',
      );
    });
    expect(attempts.flatMap((attempt) => attempt.subscriptions)).toEqual([
      { subscribedFrame: 0, unsubscribedFrame: 1 },
      { subscribedFrame: 11, unsubscribedFrame: 12 },
      { subscribedFrame: 22, unsubscribedFrame: 23 },
    ]);
    // AND onRetry heard each error before its retry, with the retries left after it
    expect(retries).toEqual([
      ['e1', 1],
      ['e2', 0],
    ]);
  });

  it('does not refill the counter after a success (classic mgmt)', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // the value emitted before each error is a success, yet only one retry is ever made
      const source = cold('a 5ms #');
      expectObservable(source.pipe(retryWithDelay({ count: 1, delayMs: 10 }, scheduler))).toBe('a 15ms a 5ms #');
      expectSubscriptions(source.subscriptions).toBe(['^ 5ms !', '16ms ^ 5ms !']);
    });
  });

  it('fails at once without calling onRetry when count is 0', () => {
    const scheduler = newScheduler();
    const onRetry = () => expect.unreachable('onRetry must not be called');
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a#').pipe(retryWithDelay({ count: 0, delayMs: 10, onRetry }, scheduler))).toBe('a#');
    });
  });

  it('retries forever when count is -1, reporting -1 attempts left', () => {
    const scheduler = newScheduler();
    const left: number[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a#');
      const onRetry = (_: unknown, attemptsLeft: number) => left.push(attemptsLeft);
      const retried = source.pipe(retryWithDelay({ count: -1, delayMs: 10, onRetry }, scheduler));
      // never-ending: it only stops because the subscriber leaves
      expectObservable(retried, '^ 49ms !').toBe('a 10ms a 10ms a 10ms a 10ms a');
      expectSubscriptions(source.subscriptions).toBe(['^!', '11ms ^!', '22ms ^!', '33ms ^!', '44ms ^!']);
    });
    expect(left).toEqual([-1, -1, -1, -1, -1]);
  });

  it('re-subscribes in the same frame when the delay is 0', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a#').pipe(retryWithDelay({ count: 2, delayMs: 0 }, scheduler))).toBe('aaa#');
    });
  });

  it('stops waiting and stays unsubscribed on early unsubscribe during the delay', () => {
    const scheduler = newScheduler();
    const retries: number[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a#');
      const onRetry = (_: unknown, attemptsLeft: number) => retries.push(attemptsLeft);
      const retried = source.pipe(retryWithDelay({ count: 5, delayMs: 100, onRetry }, scheduler));
      expectObservable(retried, '^ 50ms !').toBe('a');
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
    expect(retries).toEqual([4]);
  });

  it('errors with what onRetry throws, without retrying', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a#');
      const onRetry = () => {
        throw 'boom';
      };
      expectObservable(source.pipe(retryWithDelay({ count: 5, delayMs: 10, onRetry }, scheduler))).toBe(
        'a#',
        undefined,
        'boom',
      );
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
  });

  it('GIVEN a retry budget kept by the caller (checkApply retries) THEN an onRetry that rethrows once it is spent ends the retries with that error, at once', () => {
    const scheduler = newScheduler();
    let budget = 2;
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a#', undefined, 'failed');
      const onRetry = (error: unknown) => {
        if (budget === 0) throw error;
        budget--;
      };
      expectObservable(source.pipe(retryWithDelay({ count: -1, delayMs: 10, onRetry }, scheduler))).toBe(
        'a 10ms a 10ms a#',
        undefined,
        'failed',
      );
      expectSubscriptions(source.subscriptions).toBe(['^!', '11ms ^!', '22ms ^!']);
    });
    expect(budget).toBe(0);
  });

  it('GIVEN a source whose first subscription fails at once (an attempt that already failed) THEN the retry comes after the delay and its success completes the output', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      let subscriptions = 0;
      const source = defer(() => (subscriptions++ === 0 ? cold('#', undefined, 'first') : cold('-a|')));
      expectObservable(source.pipe(retryWithDelay({ count: -1, delayMs: 10 }, scheduler))).toBe('11ms a|');
    });
  });

  it.each([
    [{ count: -2, delayMs: 0 }, 'count must be an integer >= -1, got -2 (number)'],
    [{ count: 1.5, delayMs: 0 }, 'count must be an integer >= -1, got 1.5 (number)'],
    [{ count: 1, delayMs: -1 }, 'delayMs must be a number of milliseconds from 0 to 2147483647, got -1 (number)'],
    [{ count: 1, delayMs: '10' }, 'delayMs must be a number of milliseconds from 0 to 2147483647, got "10" (string)'],
  ])('rejects %j', (config, message) => {
    expect(() => retryWithDelay(config as { count: number; delayMs: number })).toThrow(`retryWithDelay: ${message}`);
  });
});
