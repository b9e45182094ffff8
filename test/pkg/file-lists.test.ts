import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markDirectories, parseDebContents, parseDpkgList } from '../../src/pkg/file-lists.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

describe('parseDpkgList', () => {
  it('GIVEN a .list with the root entry THEN the root is left out', () => {
    expect(parseDpkgList('/.\n/usr\n/usr/bin\n/usr/bin/x\n')).toEqual(['/usr', '/usr/bin', '/usr/bin/x']);
  });
});

describe('parseDebContents', () => {
  it("GIVEN dpkg-deb -c output THEN paths are absolute, directories keep tar's slash, link targets are dropped", () => {
    const output = [
      'drwxr-xr-x root/root         0 2026-11-22 03:32 ./',
      'drwxr-xr-x root/root         0 2026-11-22 03:32 ./usr/share/my dir/',
      '-rw-r--r-- root/root         8 2026-11-22 03:32 ./usr/share/my dir/a file.txt',
      'lrwxrwxrwx root/root         0 2026-11-22 03:32 ./usr/bin/x -> ../lib/x',
      'hrwxr-xr-x root/root         0 2026-11-22 03:32 ./usr/bin/y link to ./usr/bin/z',
    ].join('\n');
    expect(parseDebContents(output)).toEqual(['/usr/share/my dir/', '/usr/share/my dir/a file.txt', '/usr/bin/x', '/usr/bin/y']);
  });
});

describe('markDirectories', () => {
  it('GIVEN parents in the list and an empty directory on disk THEN both end with /, files do not', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'empty.d'));
    await writeFile(join(dir, 'file'), '');
    const list = [dir, join(dir, 'empty.d'), join(dir, 'file'), join(dir, 'missing')];
    expect(await markDirectories(list)).toEqual([`${dir}/`, `${dir}/empty.d/`, join(dir, 'file'), join(dir, 'missing')]);
  });
});
