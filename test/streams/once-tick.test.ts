import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { onceTick } from '../../streams/once-tick.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const tick = { x: undefined };

describe('onceTick', () => {
  it('ticks once at once and then stays open forever', () => {
    newScheduler().run(({ expectObservable }) => {
      expectObservable(onceTick(), '^ 1000ms !').toBe('x', tick);
    });
  });

  it('emits synchronously on subscribe', () => {
    const seen: unknown[] = [];
    const subscription = onceTick().subscribe((value) => seen.push(value));
    expect(seen).toEqual([undefined]);
    expect(subscription.closed).toBe(false);
    subscription.unsubscribe();
    expect(subscription.closed).toBe(true);
  });

  it('ticks again for each new subscription', () => {
    newScheduler().run(({ expectObservable }) => {
      const once = onceTick();
      expectObservable(once).toBe('x', tick);
      expectObservable(once, '10ms ^').toBe('10ms x', tick);
    });
  });
});
