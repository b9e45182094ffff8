import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InstalledMemo } from '../../src/pkg/packagekit-memo.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

// A stand-in for dpkg's database and a package manager that counts how often it is asked.
async function setUp(): Promise<{ status: string; dir: string; asked: string[][]; ask: (names: readonly string[]) => Promise<Map<string, string>> }> {
  const dir = await tempDir();
  const status = join(dir, 'status');
  await writeFile(status, 'Package: a\n');
  const asked: string[][] = [];
  const ask = async (names: readonly string[]): Promise<Map<string, string>> => {
    asked.push([...names]);
    return new Map(names.map((name) => [name, `${name}@${asked.length}`]));
  };
  return { status, dir, asked, ask };
}

// dpkg writes status-new and renames it into place.
async function dpkgWrites(dir: string, text: string): Promise<void> {
  await writeFile(join(dir, 'status-new'), text);
  await rename(join(dir, 'status-new'), join(dir, 'status'));
}

describe('InstalledMemo', () => {
  it('GIVEN an unchanged dpkg database THEN names asked before are answered without asking again', async () => {
    const { status, asked, ask } = await setUp();
    const memo = new InstalledMemo<string>(status);
    expect(await memo.lookup(['a', 'b'], ask)).toEqual(new Map([['a', 'a@1'], ['b', 'b@1']]));
    expect(await memo.lookup(['b'], ask)).toEqual(new Map([['b', 'b@1']]));
    expect(asked).toEqual([['a', 'b']]);
  });

  it('GIVEN a name not asked before THEN all the names are asked, once', async () => {
    const { status, asked, ask } = await setUp();
    const memo = new InstalledMemo<string>(status);
    await memo.lookup(['a'], ask);
    expect(await memo.lookup(['a', 'c'], ask)).toEqual(new Map([['a', 'a@2'], ['c', 'c@2']]));
    expect(asked).toEqual([['a'], ['a', 'c']]);
  });

  it('GIVEN dpkg replaced its status file or journals an entry THEN the next lookup asks again', async () => {
    const { status, dir, asked, ask } = await setUp();
    const memo = new InstalledMemo<string>(status);
    await memo.lookup(['a'], ask);
    await dpkgWrites(dir, 'Package: a\nVersion: 2\n');
    expect(await memo.lookup(['a'], ask)).toEqual(new Map([['a', 'a@2']]));
    await mkdir(join(dir, 'updates'));
    await writeFile(join(dir, 'updates', '0000'), 'Package: a\n');
    expect(await memo.lookup(['a'], ask)).toEqual(new Map([['a', 'a@3']]));
    expect(asked).toHaveLength(3);
  });

  it('GIVEN the database changed while the answer was asked THEN that answer is not kept', async () => {
    const { status, dir, asked } = await setUp();
    const memo = new InstalledMemo<string>(status);
    const changing = async (names: readonly string[]): Promise<Map<string, string>> => {
      asked.push([...names]);
      await dpkgWrites(dir, `Package: a\nVersion: ${asked.length}\n`);
      return new Map(names.map((name) => [name, 'stale']));
    };
    await memo.lookup(['a'], changing);
    await memo.lookup(['a'], changing);
    expect(asked).toHaveLength(2);
  });

  it('GIVEN no dpkg database THEN every lookup asks', async () => {
    const { dir, asked, ask } = await setUp();
    const memo = new InstalledMemo<string>(join(dir, 'nowhere', 'status'));
    await memo.lookup(['a'], ask);
    await memo.lookup(['a'], ask);
    expect(asked).toHaveLength(2);
  });
});
