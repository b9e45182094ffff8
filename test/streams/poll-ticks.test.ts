import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { pollTicks } from '../../streams/poll-ticks.js';

const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const tick = { x: undefined };

describe('pollTicks', () => {
  it('ticks at once and then every period, never completing', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      expectObservable(pollTicks(100, scheduler), '^ 350ms !').toBe('x 99ms x 99ms x 99ms x', tick);
    });
  });

  it('emits its first tick synchronously on subscribe, the watch "ready" event', () => {
    const seen: unknown[] = [];
    const subscription = pollTicks(60_000).subscribe((value) => seen.push(value));
    expect(seen).toEqual([undefined]);
    subscription.unsubscribe();
  });

  it('stops ticking on early unsubscribe', () => {
    const scheduler = newScheduler();
    scheduler.run(({ expectObservable }) => {
      expectObservable(pollTicks(100, scheduler), '^ 50ms !').toBe('x', tick);
    });
  });

  it.each([[0], [-5], [Number.NaN], [2 ** 31], ['100']])('rejects period %j', (period) => {
    expect(() => pollTicks(period as number)).toThrow(
      /^pollTicks: periodMs must be a number of milliseconds above 0 to 2147483647, got /,
    );
  });
});
