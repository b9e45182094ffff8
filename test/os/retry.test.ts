import { describe, expect, it } from 'vitest';
import { retryPromise } from '../../src/os/retry.js';

// failingTimes returns a step that fails `n` times, then resolves with how many calls it took.
function failingTimes(n: number): { step: () => Promise<number>; calls: () => number } {
  let calls = 0;
  return {
    step: async () => {
      calls++;
      if (calls <= n) throw new Error(`failure ${calls}`);
      return calls;
    },
    calls: () => calls,
  };
}

describe('retryPromise', () => {
  it('GIVEN a step that fails twice THEN it is tried again after each pause and its value returned', async () => {
    const { step } = failingTimes(2);
    const heard: string[] = [];
    const pauses: number[] = [];
    const value = await retryPromise(step, {
      pauseMs: (failures) => {
        pauses.push(failures);
        return 1;
      },
      onRetry: (err, failures) => heard.push(`${failures}: ${(err as Error).message}`),
    });
    expect(value).toBe(3);
    expect(heard).toEqual(['1: failure 1', '2: failure 2']);
    expect(pauses).toEqual([1, 2]);
  });

  it('GIVEN a step that keeps failing THEN the last failure is rethrown after `attempts` tries, unheard', async () => {
    const { step, calls } = failingTimes(Infinity);
    const heard: number[] = [];
    await expect(retryPromise(step, { attempts: 3, pauseMs: () => 1, onRetry: (_, failures) => heard.push(failures) })).rejects.toThrow('failure 3');
    expect(calls()).toBe(3);
    expect(heard).toEqual([1, 2]);
  });

  it('GIVEN stop says true THEN the failure is rethrown without another try', async () => {
    const { step, calls } = failingTimes(Infinity);
    let stopped = false;
    const tried = retryPromise(step, {
      pauseMs: () => 1,
      stop: () => stopped,
      onRetry: (_, failures) => {
        if (failures === 2) stopped = true;
      },
    });
    await expect(tried).rejects.toThrow('failure 3');
    expect(calls()).toBe(3);
  });

  it('GIVEN a step that succeeds at once THEN nothing is heard', async () => {
    const heard: unknown[] = [];
    await expect(retryPromise(async () => 'ok', { pauseMs: () => 1, onRetry: (err) => heard.push(err) })).resolves.toBe('ok');
    expect(heard).toEqual([]);
  });
});
