import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { convergedAfter } from '../../streams/converged-after.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const idle = { t: true, f: false };

describe('convergedAfter', () => {
  it('never converges when the input never emits', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<boolean>('-', idle).pipe(convergedAfter(100, scheduler))).toBe('-');
    });
  });

  it('completes with an empty input', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<boolean>('|', idle).pipe(convergedAfter(100, scheduler))).toBe('|');
    });
  });

  it('converges once the input has been idle for the timeout', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('t', idle).pipe(convergedAfter(100, scheduler))).toBe('100ms t', idle);
    });
  });

  it('says nothing about a busy input that never converged', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('f 20ms t 49ms f', idle).pipe(convergedAfter(100, scheduler))).toBe('-', idle);
    });
  });

  it('emits only changes: converged, unconverged, converged again', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      // GIVEN idle at 0, busy at 50 (too early), idle again at 60, busy at 260, idle at 261
      const input = cold('t 49ms f 9ms t 199ms f t', idle);
      // THEN converged at 160, unconverged at once at 260, converged again at 361
      expectObservable(input.pipe(convergedAfter(100, scheduler))).toBe('160ms t 99ms f 100ms t', idle);
    });
  });

  it('does not restart the clock on repeated idle reports', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('t 50ms t 50ms t 50ms t', idle).pipe(convergedAfter(100, scheduler))).toBe(
        '100ms t',
        idle,
      );
    });
  });

  it('does not repeat unconverged on repeated busy reports', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('t 150ms f f 10ms f', idle).pipe(convergedAfter(100, scheduler))).toBe(
        '100ms t 50ms f',
        idle,
      );
    });
  });

  it('converges in the same tick when the timeout is 0', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('tft', idle).pipe(convergedAfter(0, scheduler))).toBe('tft', idle);
    });
  });

  it('completes at once when the input completes while converging, without claiming convergence', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('t 50ms |', idle).pipe(convergedAfter(100, scheduler))).toBe('51ms |', idle);
    });
  });

  it('completes when the input completes after converging', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('t 150ms |', idle).pipe(convergedAfter(100, scheduler))).toBe('100ms t 50ms |', idle);
    });
  });

  it('passes an input error at once', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('t 50ms #', idle).pipe(convergedAfter(100, scheduler))).toBe('51ms #', idle);
    });
  });

  it('keeps reporting for a never-ending input', () => {
    const scheduler = newScheduler();
    scheduler.run(({ hot, expectObservable }) => {
      const input = hot('t 199ms f 99ms t 199ms f 99ms t', idle);
      expectObservable(input.pipe(convergedAfter(100, scheduler)), '^ 800ms !').toBe(
        '100ms t 99ms f 199ms t 99ms f 199ms t',
        idle,
      );
    });
  });

  it('cancels the timer and the input on early unsubscribe', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const input = cold('t 200ms f', idle);
      expectObservable(input.pipe(convergedAfter(100, scheduler)), '^ 49ms !').toBe('-', idle);
      // One subscription: the operator shares its input internally.
      expectSubscriptions(input.subscriptions).toBe('^ 49ms !');
    });
  });

  it.each([[-1], [Number.NaN], [2 ** 31], ['5']])('rejects timeout %j', (timeout) => {
    expect(() => convergedAfter(timeout as number)).toThrow(RangeError);
    expect(() => convergedAfter(timeout as number)).toThrow(
      /^convergedAfter: timeoutMs must be a number of milliseconds from 0 to 2147483647, got /,
    );
  });
});
