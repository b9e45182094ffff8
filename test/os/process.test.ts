import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeExit, runToExit, startProcess } from '../../src/os/process.js';
import { isAlive, pidPairIn } from '../helpers/pids.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const SPAWN_GRANDCHILD = fileURLToPath(new URL('../fixtures/scripts/spawn-grandchild.sh', import.meta.url));
const IGNORE_TERM = fileURLToPath(new URL('../fixtures/scripts/ignore-term.sh', import.meta.url));
const tempDir = useTempDirs();

describe('runToExit', () => {
  it('GIVEN arguments a shell would expand THEN the program gets them as they are', async () => {
    const dir = await tempDir();
    const result = await runToExit({ file: 'printf', args: ['%s|', `$(touch ${join(dir, 'x')})`, '*', 'a b'] });
    expect(result).toMatchObject({ code: 0, signal: null, stdout: `$(touch ${join(dir, 'x')})|*|a b|`, timedOut: false });
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('GIVEN an environment THEN the process has exactly it; without one, the agent\'s', async () => {
    const exact = await runToExit({ file: '/usr/bin/env', args: [], env: { ONLY: 'this' } });
    expect(exact.stdout).toBe('ONLY=this\n');
    const inherited = await runToExit({ file: '/usr/bin/env', args: [] });
    expect(inherited.stdout).toContain(`PATH=${process.env.PATH}\n`);
  });

  it('GIVEN input THEN it is written to stdin, and a failing exit is a result with the stderr tail', async () => {
    const result = await runToExit({ file: '/bin/sh', args: ['-c', 'cat; echo oops >&2; exit 3'], input: 'fed' });
    expect(result).toMatchObject({ code: 3, stdout: 'fed', stderr: 'oops\n' });
    expect(describeExit(result)).toBe('exited with code 3');
  });

  it('GIVEN a chatty process THEN only the end of its output is kept', async () => {
    // 200,000 numbered lines: far more than the tail, and the last line is known.
    const result = await runToExit({ file: 'seq', args: ['200000'], tailBytes: 1000 });
    expect(result.stdout).toHaveLength(1000);
    expect(result.stdout.endsWith('199999\n200000\n')).toBe(true);
  });

  it('GIVEN a program that does not exist THEN it rejects with the spawn\'s ENOENT', async () => {
    await expect(runToExit({ file: '/nonexistent/mgmt-test-program', args: [] })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('GIVEN an abort THEN the whole process group is killed and the run rejects with the reason', async () => {
    const pids = join(await tempDir(), 'pids');
    const controller = new AbortController();
    const running = runToExit({ file: SPAWN_GRANDCHILD, args: [pids] }, { signal: controller.signal });
    const [parent, grandchild] = await pidPairIn(pids);
    expect(isAlive(parent) && isAlive(grandchild)).toBe(true);
    controller.abort(new Error('test abort'));
    await expect(running).rejects.toThrow('test abort');
    expect(isAlive(parent)).toBe(false);
    expect(isAlive(grandchild)).toBe(false);
  });

  it('GIVEN a signal already aborted THEN nothing is started', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    controller.abort(new Error('before'));
    await expect(runToExit({ file: '/usr/bin/touch', args: [join(dir, 'x')] }, { signal: controller.signal })).rejects.toThrow('before');
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('GIVEN a timeout THEN a process that runs longer is killed (SIGTERM to its group) and the result says so', async () => {
    // (The group kill itself is the abort's, pinned above; a fixture racing a short timeout would be flaky.)
    const began = performance.now();
    const result = await runToExit({ file: 'sleep', args: ['30'] }, { timeoutMs: 200 });
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM', timedOut: true });
    expect(performance.now() - began).toBeLessThan(10_000);
  });

  it('GIVEN a grandchild that ignores SIGTERM THEN an abort still ends it (SIGKILL after the grace)', async () => {
    const pids = join(await tempDir(), 'pids');
    const controller = new AbortController();
    const running = runToExit({ file: IGNORE_TERM, args: [pids] }, { signal: controller.signal });
    const [parent, grandchild] = await pidPairIn(pids);
    controller.abort(new Error('test abort'));
    await expect(running).rejects.toThrow('test abort');
    // The SIGKILL has been sent when the run returns; the kernel ends the process right after.
    await waitFor(() => !isAlive(grandchild), 'the grandchild to die of SIGKILL', 2000);
    expect(isAlive(parent)).toBe(false);
  });
});

describe('startProcess', () => {
  it('GIVEN a started process THEN it leads its own process group', async () => {
    const running = startProcess({ file: '/bin/sh', args: ['-c', 'ps -o pgid= -p $$'] });
    await running.exited;
    expect(Number(running.stdout.toString().trim())).toBe(running.pid);
  });

  it('GIVEN a process that has exited THEN signal sends nothing', async () => {
    const running = startProcess({ file: '/bin/true', args: [] });
    await expect(running.exited).resolves.toEqual({ code: 0, signal: null });
    expect(() => running.signal('SIGKILL')).not.toThrow();
  });

  it('GIVEN a long-running process WHEN signalled THEN exited says which signal ended it', async () => {
    const running = startProcess({ file: 'sleep', args: ['30'], stdout: 'ignore', stderr: 'ignore' });
    running.signal('SIGTERM');
    await expect(running.exited).resolves.toEqual({ code: null, signal: 'SIGTERM' });
    expect(describeExit({ code: null, signal: 'SIGTERM' })).toBe('was killed by SIGTERM');
  });
});
