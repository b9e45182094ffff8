import { of, throwError, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { whenSettled } from '../../streams/when-settled.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const x = { x: undefined };

/** answers hands out one answer per question, then keeps repeating the last one. */
function answers(...values: boolean[]): { isSettled: () => Observable<boolean>; asked: () => number } {
  let asked = 0;
  return { isSettled: () => of(values[Math.min(asked++, values.length - 1)]!), asked: () => asked };
}

const config = (isSettled: () => Observable<boolean>) => ({ quietMs: 3, isSettled, recheckInitialMs: 2, recheckMaxMs: 4 });

describe('whenSettled', () => {
  it('never emits for a source that never emits', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('-').pipe(whenSettled(config(answers(true).isSettled)))).toBe('-');
    });
  });

  it('completes at once for an empty source, without asking', () => {
    const { isSettled, asked } = answers(true);
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(whenSettled(config(isSettled)))).toBe('|');
    });
    expect(asked()).toBe(0);
  });

  it('emits once the source was quiet for quietMs and the change is settled', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a').pipe(whenSettled(config(answers(true).isSettled)))).toBe('---x', x);
    });
  });

  it('emits once per burst: emissions within the quiet period start it over', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c------d').pipe(whenSettled(config(answers(true).isSettled)))).toBe('-------x------x', x);
    });
  });

  it('asks again while unsettled, waiting recheckInitialMs doubling up to recheckMaxMs', () => {
    const { isSettled, asked } = answers(false, false, false, true);
    newScheduler().run(({ cold, expectObservable }) => {
      // asked at 3 (no), 5 (no), 9 (no), 13 (yes)
      expectObservable(cold('a').pipe(whenSettled(config(isSettled)))).toBe('-------------x', x);
    });
    expect(asked()).toBe(4);
  });

  it('drops a pending recheck when the source emits again, and starts the quiet period over', () => {
    const { isSettled, asked } = answers(false, true);
    newScheduler().run(({ cold, expectObservable }) => {
      // asked at 3 (no); b at 4 cancels the recheck due at 5; asked at 7 (yes)
      expectObservable(cold('a---b').pipe(whenSettled(config(isSettled)))).toBe('-------x', x);
    });
    expect(asked()).toBe(2);
  });

  it('never emits while the change never settles (a writer that keeps the file open)', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a').pipe(whenSettled(config(answers(false).isSettled))), '^ 100ms !').toBe('-');
    });
  });

  it('finishes a pending burst after the source completed, then completes', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|').pipe(whenSettled(config(answers(true).isSettled)))).toBe('---(x|)', x);
    });
  });

  it('passes on an error of the source', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-#').pipe(whenSettled(config(answers(true).isSettled)))).toBe('--#');
    });
  });

  it('passes on an error of isSettled, and a throwing isSettled as an error', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a').pipe(whenSettled(config(() => throwError(() => 'scan failed'))))).toBe('---#', undefined, 'scan failed');
      const throwing = () => {
        throw 'boom';
      };
      expectObservable(cold('a').pipe(whenSettled(config(throwing)))).toBe('---#', undefined, 'boom');
    });
  });

  it('unsubscribes the source and any pending wait on early unsubscribe', () => {
    const { isSettled, asked } = answers(false);
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a------');
      expectObservable(source.pipe(whenSettled(config(isSettled))), '^---!').toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
    expect(asked()).toBe(1);
  });

  it('refuses delays that are not milliseconds', () => {
    const isSettled = answers(true).isSettled;
    expect(() => whenSettled({ ...config(isSettled), quietMs: -1 })).toThrow('whenSettled: quietMs must be a number of milliseconds from 0 to 2147483647, got -1 (number)');
    expect(() => whenSettled({ ...config(isSettled), recheckInitialMs: 0 })).toThrow(/recheckInitialMs must be a number of milliseconds above 0/);
    expect(() => whenSettled({ ...config(isSettled), recheckMaxMs: 1 })).toThrow('whenSettled: recheckMaxMs (1) must be at least recheckInitialMs (2)');
  });
});
