import { afterEach, describe, expect, it } from 'vitest';
import { abortable } from '../../src/dbus/connection.js';

describe('abortable', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    unhandled.length = 0;
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
