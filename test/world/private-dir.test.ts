import { chmodSync, chownSync, lchownSync, mkdirSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensurePrivateDir } from '../../src/world/private-dir.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const NOBODY = 65534;

describe('ensurePrivateDir', () => {
  it('GIVEN a missing directory with missing parents THEN it is made 0755 (whatever the umask lets through) and its real path returned', async () => {
    const dir = await tempDir();
    const made = ensurePrivateDir(join(dir, 'a', 'b'), { parents: true });
    expect(made).toBe(join(realpathSync(dir), 'a', 'b'));
    expect(statSync(made).mode & 0o022).toBe(0);
  });

  it('GIVEN a parent writable by others THEN refused naming it; GIVEN it is sticky (like /tmp) THEN accepted', async () => {
    const dir = await tempDir();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    expect(() => ensurePrivateDir(join(shared, 'prefix'), { parents: true })).toThrow(`refusing ${join(shared, 'prefix')}: its parent ${shared} is writable by other users, who could replace it (use another --prefix)`);
    chmodSync(shared, 0o1777);
    expect(ensurePrivateDir(join(shared, 'prefix'), { parents: true })).toBe(join(shared, 'prefix'));
  });

  it('GIVEN the operator\'s own symlink to a private directory THEN it is followed only when allowed; a link another user owns never is', async () => {
    const dir = await tempDir();
    const real = join(dir, 'real');
    mkdirSync(real, { mode: 0o755 });
    const link = join(dir, 'link');
    symlinkSync(real, link);
    expect(ensurePrivateDir(link, { followOwnLink: true })).toBe(real);
    expect(() => ensurePrivateDir(link)).toThrow(`refusing ${link}: it is a symbolic link owned by uid 0`);
    lchownSync(link, NOBODY, NOBODY);
    expect(() => ensurePrivateDir(link, { followOwnLink: true })).toThrow(`refusing ${link}: it is a symbolic link owned by uid ${NOBODY}`);
  });

  it('GIVEN an operator\'s link to a directory another user owns THEN refused, naming both', async () => {
    const dir = await tempDir();
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, NOBODY, NOBODY);
    const link = join(dir, 'link');
    symlinkSync(theirs, link);
    expect(() => ensurePrivateDir(link, { followOwnLink: true })).toThrow(`refusing ${link} (${theirs}): it is owned by uid ${NOBODY}`);
  });
});
