import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/os/program-path.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

async function program(dir: string, name: string, mode = 0o755): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, '#!/bin/sh\n');
  await chmod(path, mode);
  return path;
}

describe('findOnPath', () => {
  it('GIVEN PATH directories THEN the first executable regular file of that name is found, a directory or a file without x skipped', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'a', 'tool'), { recursive: true });
    await program(join(root, 'b'), 'tool', 0o644);
    const wanted = await program(join(root, 'c'), 'tool');
    await program(join(root, 'd'), 'tool');
    const path = ['a', 'b', 'c', 'd'].map((dir) => join(root, dir)).join(':');
    expect(await findOnPath('tool', path)).toBe(wanted);
    expect(await findOnPath('absent', path)).toBeUndefined();
  });

  it('GIVEN a relative PATH entry (or an empty one, meaning ".") THEN it is never searched: the agent runs as root', async () => {
    const root = await tempDir();
    await program(join(root, 'rel'), 'planted');
    const fromCwd = relative(process.cwd(), join(root, 'rel'));
    expect(await findOnPath('planted', `${fromCwd}::.`)).toBeUndefined();
    expect(await findOnPath('planted', join(root, 'rel'))).toBe(join(root, 'rel', 'planted'));
  });
});
