import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand, startCommand } from '../../src/pkg/command.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const env = { PATH: process.env.PATH };
const tempDir = useTempDirs();

describe('startCommand', () => {
  it('GIVEN a program that prints more than a tail THEN all of its output is kept', async () => {
    // apt-cache policy of many packages prints far more than the runner's default tail of 64 KiB.
    const result = await startCommand('seq', ['100000'], env).done;
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBeGreaterThan(64 * 1024);
    expect(result.stdout.startsWith('1\n2\n3\n')).toBe(true);
  });

  it('GIVEN kill THEN the program gets SIGTERM, and only SIGTERM', async () => {
    // A shell that traps SIGTERM exits 7: a SIGKILL would end it by signal instead.
    const ready = join(await tempDir(), 'ready');
    const running = startCommand('/bin/sh', ['-c', 'trap "exit 7" TERM; : > "$0"; while :; do sleep 0.05; done', ready], env);
    expect(running.pid).toBeGreaterThan(0);
    await waitFor(() => existsSync(ready), 'the shell to set its trap');
    running.kill();
    await expect(running.done).resolves.toMatchObject({ code: 7, signal: null });
  });

  it('GIVEN a program that does not exist THEN done rejects saying it could not be started', async () => {
    await expect(startCommand('/nonexistent/apt-get', [], env).done).rejects.toThrow(/^\/nonexistent\/apt-get could not be started: /);
  });
});

describe('runCommand', () => {
  it('GIVEN an abort THEN the program is killed and the run rejects with the reason', async () => {
    const controller = new AbortController();
    const running = runCommand('sleep', ['30'], env, controller.signal);
    controller.abort(new Error('test abort'));
    await expect(running).rejects.toThrow('test abort');
  });

  it('GIVEN a program that does not exist THEN it rejects saying it could not be started', async () => {
    await expect(runCommand('/nonexistent/apt-cache', [], env)).rejects.toThrow(/^\/nonexistent\/apt-cache could not be started: /);
  });
});
