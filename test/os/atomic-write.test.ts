import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempPathFor, tempSuffix, writeFileAtomic } from '../../src/os/atomic-write.js';
import { pathExists } from '../../src/os/path-exists.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

describe('writeFileAtomic', () => {
  it('GIVEN a new or an existing file THEN it holds exactly the new bytes and no temp file is left', async () => {
    const dir = await tempDir();
    const target = join(dir, 'graph.dot');
    await writeFileAtomic(target, 'first');
    await writeFileAtomic(target, Buffer.from('second'));
    expect(await readFile(target, 'utf8')).toBe('second');
    expect(await readdir(dir)).toEqual(['graph.dot']);
  });

  it('GIVEN a mode and a temp dir THEN the file gets the mode and the temp file lived in the temp dir', async () => {
    const dir = await tempDir();
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const target = join(dir, 'exported.json');
    await writeFileAtomic(target, '{}\n', { tempDir: tmp, mode: 0o600 });
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('GIVEN a rename that fails THEN the target is untouched and the temp file is removed', async () => {
    const dir = await tempDir();
    const target = join(dir, 'busy');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'kept');
    await expect(writeFileAtomic(target, 'data')).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(await readdir(dir)).toEqual(['busy']);
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('kept');
  });
});

describe('tempPathFor and tempSuffix', () => {
  it('GIVEN a target THEN its temp file is hidden beside it, or named by pid in a temp dir', () => {
    expect(tempPathFor('/a/b/graph.svg')).toMatch(new RegExp(`^/a/b/\\.graph\\.svg\\.${process.pid}\\.[0-9a-z]{8}\\.tmp$`));
    expect(tempPathFor('/a/b/graph.svg', '/t')).toMatch(new RegExp(`^/t/${process.pid}-[0-9a-z]{8}\\.tmp$`));
    expect(tempSuffix()).toMatch(/^[0-9a-z]{8}$/);
  });
});

describe('pathExists', () => {
  it('GIVEN a file, a missing path, a path under a file and a dangling link THEN only the file exists', async () => {
    const dir = await tempDir();
    const file = join(dir, 'file');
    await writeFile(file, '');
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling'));
    expect(await pathExists(file)).toBe(true);
    expect(await pathExists(join(dir, 'missing'))).toBe(false);
    expect(await pathExists(join(file, 'below'))).toBe(false);
    expect(await pathExists(join(dir, 'dangling'))).toBe(false);
  });
});
