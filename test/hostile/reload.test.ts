// Finding 2 of issue 10: a live reload read a graph file its writer had only half written. The
// truncated YAML was valid and said `state: absent, recurse: true` for a path cut down to its
// parent, so the reload deleted a whole data directory. A reload now waits until the file has been
// quiet for --reload-quiet ms AND no process holds it open for writing. Decoys live in temp dirs.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

interface DataDir {
  readonly yaml: string;
  readonly precious: string;
  readonly oldCache: string;
  /** The cleanup graph, cut where the truncation leaves the data directory itself as the path. */
  readonly firstChunk: string;
  readonly secondChunk: string;
}

/** dataDir makes a data directory with a precious file and an old cache the full graph removes. */
async function dataDir(): Promise<DataDir> {
  const dir = await tempDir();
  const data = join(dir, 'data');
  const oldCache = join(data, 'cache.old');
  mkdirSync(oldCache, { recursive: true });
  writeFileSync(join(oldCache, 'junk'), 'junk\n');
  const precious = join(data, 'precious.db');
  writeFileSync(precious, 'customer data\n');
  const yaml = join(dir, 'graph.yaml');
  writeFileSync(yaml, 'graph: before\nresources:\n  noop:\n  - {name: n1}\n');
  const firstChunk = `graph: cleanup\nresources:\n  file:\n  - name: old-cache\n    state: absent\n    recurse: true\n    path: ${data}/`;
  return { yaml, precious, oldCache, firstChunk, secondChunk: 'cache.old\n' };
}

/** writeInTwoChunks writes the graph from another process that keeps its fd open between the chunks. */
function writeInTwoChunks(file: string, first: string, second: string, pauseSeconds: number): Promise<void> {
  // `exec 3>` truncates and keeps the file open, as a shell's `>` redirection of a slow command does.
  const script = 'exec 3>"$1"; printf %s "$2" >&3; sleep "$4"; printf %s "$3" >&3; exec 3>&-';
  const writer = spawn('sh', ['-c', script, 'sh', file, first, second, String(pauseSeconds)], { stdio: 'ignore' });
  return new Promise((resolve, reject) => writer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`)))));
}

describe('hostile: live reload of a graph file', () => {
  for (const pauseSeconds of [0.2, 1]) {
    it(`finding 2: a graph written in two chunks ${pauseSeconds * 1000} ms apart by a writer that keeps it open is never applied half-written; the whole graph applies once it closes`, async () => {
      // GIVEN a running agent watching its graph file
      const { yaml, precious, oldCache, firstChunk, secondChunk } = await dataDir();
      const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
      await agent.waitForEvent((e) => e.event === 'graph' && e.graph === 'before', 'the first graph');
      await agent.waitForEvent((e) => e.event === 'apply' || e.event === 'check', 'the first check');
      // WHEN a writer writes the cleanup graph in two chunks, the first a valid graph naming the data dir
      await writeInTwoChunks(yaml, firstChunk, secondChunk, pauseSeconds);
      // THEN only the whole graph is applied: the old cache goes, the data directory stays
      await agent.waitForEvent((e) => e.event === 'graph' && e.graph === 'cleanup', 'the reload after the writer closed');
      await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'file[old-cache]', 'the old cache to be removed');
      expect(existsSync(oldCache)).toBe(false);
      expect(existsSync(precious)).toBe(true);
      const reloads = agent.events.filter((e) => e.event === 'graph' && e.graph === 'cleanup');
      expect(reloads).toHaveLength(1);
      expect(agent.events.filter((e) => e.event === 'apply' && e.resource === `file[old-cache]`)).toHaveLength(1);
      agent.child.kill('SIGTERM');
      expect((await agent.exited).code).toBe(0);
    });
  }

  it('finding 2: a writer that holds the half-written graph open for long is named in a warning, and its graph still waits for the close', async () => {
    const { yaml, precious, oldCache, firstChunk, secondChunk } = await dataDir();
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await agent.waitForEvent((e) => e.event === 'graph' && e.graph === 'before', 'the first graph');
    const written = writeInTwoChunks(yaml, firstChunk, secondChunk, 8);
    const warning = await agent.waitForEvent((e) => e.event === 'reload' && e.level === 'warn', 'the warning about the open writer', 15_000);
    expect(warning.message).toMatch(new RegExp(`^waiting to reload: ${yaml} is still open for writing by pid \\d+`));
    expect(existsSync(precious)).toBe(true);
    await written;
    await agent.waitForEvent((e) => e.event === 'graph' && e.graph === 'cleanup', 'the reload after the writer closed');
    await waitFor(() => !existsSync(oldCache), 'the old cache to be removed', 10_000);
    expect(existsSync(precious)).toBe(true);
    agent.child.kill('SIGTERM');
    await agent.exited;
  });

  it('finding 2: an editor that saves by rename reloads after the quiet period, without waiting for anything else', async () => {
    const { yaml, precious, oldCache, firstChunk, secondChunk } = await dataDir();
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await agent.waitForEvent((e) => e.event === 'graph' && e.graph === 'before', 'the first graph');
    const saved = `${yaml}.swp`;
    writeFileSync(saved, firstChunk + secondChunk);
    const renamed = Date.now();
    renameSync(saved, yaml);
    const reload = await agent.waitForEvent((e) => e.event === 'graph' && e.graph === 'cleanup', 'the reload after the rename');
    // At least the quiet period (default 300 ms), and soon after it (generous: a loaded machine).
    expect(Date.parse(reload.ts as string) - renamed).toBeGreaterThanOrEqual(290);
    expect(Date.parse(reload.ts as string) - renamed).toBeLessThan(3000);
    await waitFor(() => !existsSync(oldCache), 'the old cache to be removed', 10_000);
    expect(existsSync(precious)).toBe(true);
    agent.child.kill('SIGTERM');
    await agent.exited;
  });

  it('finding 2: --reload-quiet is in the help, with the rule for writers', async () => {
    const help = startMgmt(['run', '--help']);
    const { stdout, code } = await help.exited;
    expect(code).toBe(0);
    expect(stdout).toMatch(/--reload-quiet N +reload a changed YAML file .* only after it went this many ms unchanged and no process holds it open for writing.*\(default 300\)/);
  });
});
