import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { abortable, delay, withTimeout } from '../../src/os/time.js';

const never = new Promise<never>(() => {});

describe('delay', () => {
  it('GIVEN no signal THEN it resolves after the time has passed', async () => {
    const began = performance.now();
    await delay(30);
    expect(performance.now() - began).toBeGreaterThanOrEqual(29);
  });

  it('GIVEN a signal aborted while waiting THEN it rejects at once with the signal\'s reason', async () => {
    const controller = new AbortController();
    const waiting = delay(60_000, controller.signal);
    controller.abort(new Error('stop now'));
    await expect(waiting).rejects.toThrow('stop now');
  });

  it('GIVEN a signal already aborted THEN it rejects with its reason without waiting', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(delay(60_000, controller.signal)).rejects.toThrow('too late');
  });

  it('GIVEN a signal that is never aborted THEN it resolves and leaves no listener behind', async () => {
    const controller = new AbortController();
    const waiting = delay(1, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await waiting;
    // A long-lived signal shared by many waits must not collect one listener per wait.
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('withTimeout', () => {
  it('GIVEN a promise that settles in time THEN it settles the same way', async () => {
    await expect(withTimeout(Promise.resolve('done'), 1000)).resolves.toBe('done');
    await expect(withTimeout(Promise.reject(new Error('own failure')), 1000)).rejects.toThrow('own failure');
  });

  it('GIVEN a promise that never settles THEN it rejects after the time with how long it waited', async () => {
    await expect(withTimeout(never, 20)).rejects.toThrow('timed out after 20 ms');
  });
});

describe('abortable', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    unhandled.length = 0;
  });

  it('GIVEN no signal or one never aborted THEN it settles like the promise', async () => {
    await expect(abortable(Promise.resolve(1), undefined)).resolves.toBe(1);
    await expect(abortable(Promise.resolve(2), new AbortController().signal)).resolves.toBe(2);
    await expect(abortable(Promise.reject(new Error('own failure')), new AbortController().signal)).rejects.toThrow('own failure');
  });

  it('GIVEN a signal already aborted WHEN the promise rejects later THEN the caller gets the abort reason and no rejection goes unhandled', async () => {
    process.on('unhandledRejection', onUnhandled);
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    let fail!: (err: Error) => void;
    const lookup = new Promise<string>((_, reject) => (fail = reject));
    await expect(abortable(lookup, controller.signal)).rejects.toThrow('stop now');
    // The shared lookup fails after its caller left (the bus went away).
    fail(new Error('write EPIPE'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
  });

  it('GIVEN a signal aborted while waiting THEN the caller gets the abort reason, and the promise\'s own result is still handled', async () => {
    process.on('unhandledRejection', onUnhandled);
    const controller = new AbortController();
    let fail!: (err: Error) => void;
    const lookup = new Promise<string>((_, reject) => (fail = reject));
    const waiting = abortable(lookup, controller.signal);
    controller.abort(new Error('stop now'));
    await expect(waiting).rejects.toThrow('stop now');
    fail(new Error('write EPIPE'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
  });
});
