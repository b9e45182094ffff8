import { mkdirSync, renameSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafeDirs } from '../../src/resources/safe-path.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SafeDirs: a held local directory', () => {
  it('GIVEN a held directory WHEN it is acquired again in the same turn THEN that turn\'s stat stands; in a later turn a new stat sees it replaced', async () => {
    const root = await tempDir();
    const path = join(root, 'd');
    mkdirSync(path);
    const dirs = new SafeDirs();
    (await dirs.acquire(path, false, true))!.release(); // opened (through threads)
    await nextTurn();
    (await dirs.acquire(path, false, true))!.release(); // confirmed by a stat, in this turn

    // Replaced in the same turn: the writes of one turn share one stat (at most the engine's turn
    // budget, ~5 ms), so this acquire still hands out the directory held.
    renameSync(path, join(root, 'moved'));
    mkdirSync(path);
    const same = (await dirs.acquire(path, false, true))!;
    writeFileSync(same.entry('f'), 'held\n');
    same.release();
    expect(readFileSync(join(root, 'moved', 'f'), 'utf8')).toBe('held\n');

    // A later turn stats again, sees another directory and opens it.
    await nextTurn();
    const fresh = (await dirs.acquire(path, false, true))!;
    writeFileSync(fresh.entry('f'), 'here\n');
    fresh.release();
    expect(readFileSync(join(path, 'f'), 'utf8')).toBe('here\n');
  });
});
