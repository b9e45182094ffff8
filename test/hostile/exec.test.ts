// exec's part of findings 5 and 11 of issue 10: stopping kills what a command started; a fan-out
// of thousands of commands runs under a cap and never fails for a limit the agent chose; the
// descriptors the agent inherited never reach a command.

import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';
import { MGMT_BIN, runMgmt, startMgmt, withTestWorld } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { isAlive } from '../helpers/pids.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

/** execGraph writes a graph of shell execs, one per entry of `cmds`, each `name: cmd`. */
async function execGraph(dir: string, cmds: Record<string, string>, extra: readonly string[] = []): Promise<string> {
  const yaml = join(dir, 'g.yaml');
  const lines = ['graph: execs', 'resources:', '  exec:'];
  for (const [name, cmd] of Object.entries(cmds)) {
    lines.push(`  - name: ${name}`, `    cmd: ${JSON.stringify(cmd)}`, '    shell: /bin/sh', ...extra);
  }
  await writeFile(yaml, [...lines, ''].join('\n'));
  return yaml;
}

describe('finding 5: stopping kills what an exec started', () => {
  it('finding 5: SIGTERM kills a running cmd and the background process it started (its process group), then exits 0', async () => {
    // GIVEN a cmd that started a background child and still runs
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const yaml = await execGraph(dir, { slow: `sleep 300 & echo $$ $! > ${pids}; wait` });
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await waitFor(() => existsSync(pids) && readFileSync(pids, 'utf8').endsWith('\n'), 'the cmd to record its pids', 30_000);
    const [shell, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];

    // WHEN the agent is stopped
    agent.child.kill('SIGTERM');
    const result = await agent.exited;

    // THEN neither process outlives it (the aborted cmd is not a failure of the run)
    expect(isAlive(shell) || isAlive(child)).toBe(false);
    expect(result.events.at(-1)).toMatchObject({ event: 'exit' });
  });
});

describe('finding 11: many commands at once', () => {
  // Each command logs its start and end; the most that ran at once is the peak of starts - ends.
  function peakConcurrency(log: string): number {
    let running = 0;
    let peak = 0;
    for (const mark of log.split('\n')) {
      if (mark === 's') peak = Math.max(peak, ++running);
      else if (mark === 'e') running--;
    }
    return peak;
  }

  it('finding 11: 100 execs due at once run at most 32 at a time by default, and all of them run', async () => {
    // GIVEN 100 execs that each take a second
    const dir = await tempDir();
    const marks = join(dir, 'marks');
    const count = 100;
    const cmds = Object.fromEntries(Array.from({ length: count }, (_, i) => [`e${i}`, `echo s >> ${marks}; sleep 1; echo e >> ${marks}`]));
    const yaml = await execGraph(dir, cmds);

    // WHEN they all run
    const result = await runMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json', '--converged-timeout', '0'], { timeoutMs: 120_000 });

    // THEN every one ran, never more than the cap at once
    expect(result.code, result.stderr).toBe(0);
    const log = readFileSync(marks, 'utf8');
    expect(log.split('\n').filter((mark) => mark === 'e')).toHaveLength(count);
    expect(peakConcurrency(log)).toBeLessThanOrEqual(32);
    expect(peakConcurrency(log)).toBeGreaterThan(1);
  }, 150_000);

  it('finding 11: commands refused by the host for want of descriptors (EMFILE) wait and run, none fails', async () => {
    // GIVEN an agent allowed few descriptors, and a cap raised far above what they allow
    const dir = await tempDir();
    const marks = join(dir, 'marks');
    const count = 200;
    const cmds = Object.fromEntries(Array.from({ length: count }, (_, i) => [`e${i}`, `sleep 0.2; echo e >> ${marks}`]));
    const yaml = await execGraph(dir, cmds);

    // WHEN they all run
    const args = ['--nofile=120', process.execPath, MGMT_BIN, ...withTestWorld(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json', '--converged-timeout', '0', '--exec-parallelism', '1000'])];
    const child = spawn('prlimit', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    // THEN none failed: every command ran once
    const errors = stdout.split('\n').filter((line) => line.includes('"event":"error"'));
    expect(errors.slice(0, 3)).toEqual([]);
    expect(code, stderr).toBe(0);
    expect(readFileSync(marks, 'utf8').split('\n').filter((mark) => mark === 'e')).toHaveLength(count);
  }, 150_000);
});

describe('finding 11: inherited descriptors', () => {
  it('finding 11: a descriptor the agent inherited (fd 17, a root-only file) does not reach a command run as nobody', async () => {
    // GIVEN an agent started with a secret file open on fd 17, and an exec run as nobody that lists its descriptors
    const dir = await tempDir();
    const secret = join(dir, 'secret');
    await writeFile(secret, 'root only\n', { mode: 0o600 });
    const yaml = join(dir, 'g.yaml');
    await writeFile(yaml, ['graph: fds', 'resources:', '  exec:', '  - name: list', '    cmd: ls -l /proc/self/fd/', '    user: nobody', ''].join('\n'));
    const fd = openSync(secret, 'r');
    let stdout = '';
    let stderr = '';
    let code: number | null;
    try {
      const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(14).fill('ignore'), fd];
      const child = spawn(process.execPath, [MGMT_BIN, ...withTestWorld(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json', '--converged-timeout', '0'])], { stdio });
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    } finally {
      closeSync(fd);
    }

    // WHEN we read what the command saw
    expect(code, stderr).toBe(0);
    const events = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogEvent);
    const listing = events.find((e) => e.event === 'log' && e.resource === 'exec[list]' && String(e.message).startsWith('cmd stdout:'));

    // THEN it had its stdio and the listing's own descriptor, and nothing of the agent's
    expect(listing, stdout).toBeDefined();
    expect(String(listing!.message)).not.toContain(secret);
    expect(String(listing!.message)).not.toMatch(/ 17 -> /);
  });
});
