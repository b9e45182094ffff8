import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writersOf } from '../../src/watchers/open-writers.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const holders: ChildProcess[] = [];
afterEach(() => {
  for (const holder of holders.splice(0)) holder.kill('SIGKILL');
});

/** holdOpen starts a shell that opens `file` with `redirection` (e.g. `3>>`) and sleeps; resolves once it is open. */
async function holdOpen(file: string, redirection: string, dir: string): Promise<ChildProcess> {
  const ready = join(dir, `ready-${holders.length}`);
  const holder = spawn('sh', ['-c', `exec ${redirection}"$1"; touch "$2"; exec sleep 1000`, 'sh', file, ready], { stdio: 'ignore' });
  holders.push(holder);
  await waitFor(() => existsSync(ready), 'the holder to open the file');
  return holder;
}

describe('writersOf', () => {
  it('GIVEN a process holding the file open for appending or read-write THEN it is named; a reader is not', async () => {
    const dir = await tempDir();
    const file = join(dir, 'graph.yaml');
    writeFileSync(file, 'graph: g\n');
    const reader = await holdOpen(file, '3<', dir);
    expect(await writersOf(file)).toEqual([]);
    const appender = await holdOpen(file, '3>>', dir);
    const both = await holdOpen(file, '3<>', dir);
    expect((await writersOf(file)).sort()).toEqual([appender.pid, both.pid].sort());
    expect(await writersOf(file)).not.toContain(reader.pid);
  });

  it('GIVEN the writer closed the file THEN nobody is named', async () => {
    const dir = await tempDir();
    const file = join(dir, 'graph.yaml');
    writeFileSync(file, 'graph: g\n');
    const writer = await holdOpen(file, '3>>', dir);
    expect(await writersOf(file)).toEqual([writer.pid]);
    writer.kill('SIGKILL');
    await new Promise((resolve) => writer.on('exit', resolve));
    expect(await writersOf(file)).toEqual([]);
  });

  it('GIVEN a writer of a file since replaced by rename THEN the new file at the path has no writer', async () => {
    const dir = await tempDir();
    const file = join(dir, 'graph.yaml');
    writeFileSync(file, 'old\n');
    await holdOpen(file, '3>>', dir);
    writeFileSync(`${file}.new`, 'new\n');
    renameSync(`${file}.new`, file);
    expect(await writersOf(file)).toEqual([]);
  });

  it('GIVEN a missing path, or no /proc to ask, THEN nobody, without an error', async () => {
    const dir = await tempDir();
    expect(await writersOf(join(dir, 'missing.yaml'))).toEqual([]);
    const file = join(dir, 'graph.yaml');
    writeFileSync(file, 'graph: g\n');
    await holdOpen(file, '3>>', dir);
    expect(await writersOf(file, join(dir, 'no-proc'))).toEqual([]);
  });
});
