import { of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { rateLimit } from '../../streams/rate-limit.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

// limit 10/s: one token every 100 ms of virtual time.
describe('rateLimit', () => {
  it('passes nothing from a source that never emits', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-');
      expectObservable(source.pipe(rateLimit(10, 1, scheduler))).toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^');
    });
  });

  it('completes with an empty source', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(rateLimit(10, 1))).toBe('|');
    });
  });

  it('passes one event at once', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|').pipe(rateLimit(10, 1))).toBe('a|');
    });
  });

  it('passes a burst while tokens last, then one coalesced event per refilled token', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      // GIVEN a full bucket of 2: a and b spend it; c waits for the token due at 100 ms
      // AND d, after a quiet spell, finds a refilled token and passes at once
      const source = cold('abc 200ms d|');
      expectObservable(source.pipe(rateLimit(10, 2, scheduler))).toBe('ab 98ms c 102ms d|');
    });
  });

  it('merges events without a token into one pending emission carrying the latest value', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('abcd 146ms ef 300ms g').pipe(rateLimit(10, 1, scheduler))).toBe(
        'a 99ms d 99ms f 251ms g',
      );
    });
  });

  it('delivers the pending emission when its token arrives even after the source completed', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|').pipe(rateLimit(10, 1, scheduler))).toBe('a 99ms (c|)');
    });
  });

  it('limits a never-ending fast source to the refill rate', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      // an event every 30 ms, forever: one passes per 100 ms, and the rest are merged into it
      const source = hot('a 29ms b 29ms c 29ms d 29ms e 29ms f 29ms g 29ms h 29ms i 29ms');
      expectObservable(source.pipe(rateLimit(10, 1, scheduler)), '^ 260ms !').toBe('a 99ms d 99ms g');
    });
  });

  it('passes an error at once and drops the pending emission', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('ab#').pipe(rateLimit(10, 1, scheduler))).toBe('a-#');
    });
  });

  it('stops the pending emission and the source on early unsubscribe', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('ab 200ms c');
      expectObservable(source.pipe(rateLimit(10, 1, scheduler)), '^ 50ms !').toBe('a');
      expectSubscriptions(source.subscriptions).toBe('^ 50ms !');
    });
  });

  it('gives each subscription its own full bucket', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const limited = cold('ab|').pipe(rateLimit(10, 1, scheduler));
      expectObservable(limited).toBe('a 99ms (b|)');
      expectObservable(limited, '10ms ^').toBe('10ms a 99ms (b|)');
    });
  });

  it('returns the source untouched when limit is Infinity', () => {
    const source = of(1, 2, 3);
    expect(source.pipe(rateLimit(Infinity, 0))).toBe(source);
  });

  it('holds everything after the burst forever when limit is 0', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('abc|').pipe(rateLimit(0, 2, scheduler))).toBe('ab');
    });
  });

  it('refuses a finite limit with burst 0, as mgmt does', () => {
    expect(() => rateLimit(1, 0)).toThrow('rateLimit: permanently limited (rate != Inf, burst = 0)');
  });

  it.each([
    [-1, 1, 'limit must be a number >= 0 or Infinity, got -1 (number)'],
    [Number.NaN, 1, 'limit must be a number >= 0 or Infinity, got NaN (number)'],
    ['5', 1, 'limit must be a number >= 0 or Infinity, got "5" (string)'],
    [1, 1.5, 'burst must be an integer >= 0, got 1.5 (number)'],
    [1, -1, 'burst must be an integer >= 0, got -1 (number)'],
  ])('rejects limit %j with burst %j', (limit, burst, message) => {
    expect(() => rateLimit(limit as number, burst)).toThrow(RangeError);
    expect(() => rateLimit(limit as number, burst)).toThrow(`rateLimit: ${message}`);
  });
});
