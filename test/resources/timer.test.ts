import { describe, expect, it } from 'vitest';
import { timer } from '../../src/resources/timer.js';
import { makeContext } from '../helpers/context.js';
import { waitFor } from '../helpers/log.js';

const never = new AbortController().signal;

// watchTimes starts a timer with `interval` seconds and records when each watch emission came.
function watchTimes(interval: number) {
  const ctx = makeContext('timer', 't');
  const live = timer.init({ interval }, ctx);
  const times: number[] = [];
  const subscription = live.watch().subscribe(() => times.push(Date.now()));
  return { ctx, live, times, stop: () => subscription.unsubscribe() };
}

describe('timer', () => {
  it('is ready at once, then ticks every interval', async () => {
    const began = Date.now();
    const { times, stop } = watchTimes(1);
    try {
      await waitFor(() => times.length === 3, 'two ticks', 5000);
      const [ready, first, second] = times.map((t) => t - began) as [number, number, number];
      expect(ready).toBeLessThan(100);
      expect(first).toBeGreaterThanOrEqual(950);
      expect(second - first).toBeGreaterThanOrEqual(950);
      expect(second - first).toBeLessThan(1900);
    } finally {
      stop();
    }
  });

  it('reports a change once per tick and is OK in between', async () => {
    const { live, times, stop } = watchTimes(1);
    try {
      expect(await live.checkApply(true, never)).toBe(true); // no tick yet
      await waitFor(() => times.length === 2, 'a tick', 5000);
      expect(await live.checkApply(true, never)).toBe(false); // the tick is the change
      expect(await live.checkApply(true, never)).toBe(true); // reported once
    } finally {
      stop();
    }
  });

  it('restarts its interval on a refresh', async () => {
    // GIVEN a 1 s timer that is refreshed 600 ms after it started
    const { ctx, live, times, stop } = watchTimes(1);
    try {
      await new Promise((resolve) => setTimeout(resolve, 600));
      ctx.setRefresh(true);
      const refreshedAt = Date.now();
      // WHEN the refresh is applied THEN it reports a change
      expect(await live.checkApply(true, never)).toBe(false);
      ctx.setRefresh(false);
      // THEN the next tick comes a full interval after the refresh, not 400 ms later
      await waitFor(() => times.length === 2, 'the tick after the refresh', 5000);
      expect(times[1]! - refreshedAt).toBeGreaterThanOrEqual(950);
    } finally {
      stop();
    }
  });

  it('does not restart on a refresh when apply is false, but reports it', async () => {
    const { ctx, live, times, stop } = watchTimes(1);
    try {
      const began = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 600));
      ctx.setRefresh(true);
      expect(await live.checkApply(false, never)).toBe(false);
      await waitFor(() => times.length === 2, 'the first tick', 5000);
      expect(times[1]! - began).toBeLessThan(1300);
    } finally {
      stop();
    }
  });

  it('notifies its children over every edge and is refreshable', () => {
    expect(timer.notifiesAllEdges).toBe(true);
    expect(timer.refreshable).toBe(true);
  });

  it('requires an interval of at least one whole second', () => {
    expect(timer.validate({ interval: 3 })).toEqual([]);
    expect(timer.validate(timer.defaults('t')).map((p) => p.param)).toEqual(['interval']);
    expect(timer.validate({ interval: 1.5 })[0]?.reason).toMatch(/got 1\.5 \(number\)$/);
    expect(timer.validate({ interval: 3_000_000 }).map((p) => p.param)).toEqual(['interval']);
  });
});
