// Finding 6 of issue 10 (floods): a watchcmd printing without pause (`yes`) with --log-format json
// grew the agent to 1.5 GB in 6 s, delayed an unrelated repair past 5 s, and SIGTERM took 7.5 s.
// Timings are asserted generously here; the bench scenario hostile-flood measures them.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MGMT_BIN, startMgmt, withTestWorld } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { readStatusKb } from '../bench/lib/proc.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

/** floodGraph is an exec whose watchcmd is `yes` beside an unrelated managed file. */
async function floodGraph(dir: string): Promise<{ yaml: string; target: string }> {
  const target = join(dir, 'target');
  const yaml = join(dir, 'flood.yaml');
  await writeFile(
    yaml,
    [
      'graph: flood',
      'resources:',
      '  exec:',
      '  - name: noisy',
      '    cmd: "true"',
      '    watchcmd: "yes"',
      '  file:',
      '  - name: target',
      `    path: "${target}"`,
      '    content: "hello\\n"',
      '',
    ].join('\n'),
  );
  return { yaml, target };
}

// The agent's peak resident memory in MiB.
const peakRssMb = (pid: number): number => (readStatusKb(pid, 'VmHWM') ?? Number.POSITIVE_INFINITY) / 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('finding 6: a watchcmd flood', () => {
  it('finding 6: under a `yes` watchcmd with --log-format json the agent stays small, repairs an unrelated file within 2 s, and exits on SIGTERM within 3 s', async () => {
    // GIVEN an agent running a `yes` watchcmd and a managed file
    const dir = await tempDir();
    const { yaml, target } = await floodGraph(dir);
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'file[target]', 'the file to be written', 30_000);
    await agent.waitForEvent((e) => e.event === 'log' && e.resource === 'exec[noisy]' && e.message === 'watchcmd: y', 'the flood to start', 30_000);

    // WHEN the flood has run for a few seconds and someone changes the file
    await sleep(3000);
    const appliesBefore = agent.events.filter((e) => e.event === 'apply' && e.resource === 'file[target]').length;
    await writeFile(target, 'changed by hand\n');
    const changedAt = Date.now();

    // THEN the file is repaired promptly
    const fileApplies = (): number => agent.events.filter((e) => e.event === 'apply' && e.resource === 'file[target]').length;
    await agent.waitForEvent(() => fileApplies() > appliesBefore, 'the repair of the file', 30_000);
    const repairMs = Date.now() - changedAt;
    expect(await readFile(target, 'utf8')).toBe('hello\n');
    expect(repairMs).toBeLessThan(2000);

    // AND its memory stayed bounded (it reached 1.5 GB in 6 s before)
    await sleep(2000);
    expect(peakRssMb(agent.child.pid!)).toBeLessThan(400);

    // AND SIGTERM ends it promptly, with its exit event and code 0
    const stoppedAt = Date.now();
    agent.child.kill('SIGTERM');
    const result = await agent.exited;
    const stopMs = Date.now() - stoppedAt;
    expect(result.code, result.stderr).toBe(0);
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'SIGTERM' });
    expect(stopMs).toBeLessThan(3000);
  });

  it('finding 6: with a reader that never reads its JSON, the agent still repairs and exits on SIGTERM within 3 s', async () => {
    // GIVEN an agent whose stdout nobody reads, under the same flood
    const dir = await tempDir();
    const { yaml, target } = await floodGraph(dir);
    const child = spawn(process.execPath, [MGMT_BIN, ...withTestWorld(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json'])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      child.stdout.pause(); // the pipe fills, and stays full
      await waitFor(() => readFileContent(target) === 'hello\n', 'the file to be written', 30_000);
      await sleep(3000);

      // WHEN the file is changed
      await writeFile(target, 'changed by hand\n');

      // THEN it is repaired all the same, and the agent stays small
      await waitFor(() => readFileContent(target) === 'hello\n', 'the repair of the file', 2000);
      expect(peakRssMb(child.pid!)).toBeLessThan(400);

      // AND SIGTERM ends it although its last events can never be read
      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      expect(Date.now() - stoppedAt).toBeLessThan(3000);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

function readFileContent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
