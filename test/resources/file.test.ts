import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { file, type FileParams, type FileState } from '../../src/resources/file.js';
import { filePath } from '../../src/resources/file-path.js';
import { removePath } from '../../src/resources/file-io.js';
import type { LiveResource } from '../../src/core/kind.js';
import { makeContext, type TestContext } from '../helpers/context.js';
import { useTempDirs } from '../helpers/tmp.js';
import { record } from '../watchers/recorder.js';

const tempDir = useTempDirs();
const isRoot = process.geteuid?.() === 0;
const never = new AbortController().signal;
const hasChattr = ['/usr/bin/chattr', '/bin/chattr'].some((p) => existsSync(p));

/** make builds a valid file resource from the defaults plus `params` (name = path). */
function make(params: Partial<FileParams> & { path: string }): { res: LiveResource; ctx: TestContext } {
  const full: FileParams = { ...file.defaults(params.path), ...params };
  expect(file.validate(full)).toEqual([]);
  const ctx = makeContext('file', params.path);
  return { res: file.init(full, ctx), ctx };
}

/** converge runs checkApply with apply on and returns whether the state was already right. */
function converge(res: LiveResource): Promise<boolean> {
  return res.checkApply(true, never);
}

/** check runs checkApply in noop mode (apply off). */
function check(res: LiveResource): Promise<boolean> {
  return res.checkApply(false, never);
}

const modeOf = (path: string): number => statSync(path).mode & 0o7777;

describe('file: content', () => {
  it('GIVEN a missing file WHEN converged THEN it is created with the content, and a second run finds it right', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const { res } = make({ path, content: 'hello\n' });

    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('hello\n');
    expect(await converge(res)).toBe(true);
  });

  it('GIVEN the right content WHEN checked THEN it returns true and does not rewrite the file', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    writeFileSync(path, 'same');
    const before = statSync(path);
    const { res } = make({ path, content: 'same' });

    expect(await converge(res)).toBe(true);
    const after = statSync(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('GIVEN an edited or deleted file WHEN converged THEN the content is restored', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const { res } = make({ path, content: 'desired' });
    await converge(res);

    writeFileSync(path, 'drift!!'); // same length: caught by the byte compare, not the size
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('desired');

    writeFileSync(path, 'much longer drift');
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('desired');

    unlinkSync(path);
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('desired');
  });

  it('GIVEN empty content WHEN converged THEN the file is emptied', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    writeFileSync(path, 'something');
    const { res } = make({ path, content: '' });
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('');
    expect(await converge(res)).toBe(true);
  });

  it('GIVEN no content WHEN converged THEN an empty file is created and existing content is left alone', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const { res } = make({ path });
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('');
    writeFileSync(path, 'unmanaged');
    expect(await converge(res)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('unmanaged');
  });

  it('GIVEN missing parent directories (upstream deep-dirs.yaml) WHEN converged THEN they are created with mode 0755', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a', 'b', 'c', 'f1');
    const { res } = make({ path, content: 'i am f1\n' });
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('i am f1\n');
    expect(modeOf(join(dir, 'a'))).toBe(0o755);
    expect(modeOf(join(dir, 'a', 'b', 'c'))).toBe(0o755);
  });

  it('GIVEN a rewrite of a file with its own mode and owner THEN both are kept when unmanaged', async () => {
    const dir = await tempDir();
    const path = join(dir, 'secret');
    writeFileSync(path, 'old');
    chmodSync(path, 0o600);
    const { res } = make({ path, content: 'new' });
    expect(await converge(res)).toBe(false);
    expect(modeOf(path)).toBe(0o600);
  });

  it('GIVEN a symlink to a file WHEN converged THEN the link is replaced by the managed file and its target is left alone', async () => {
    const dir = await tempDir();
    const target = join(dir, 'target');
    const link = join(dir, 'link');
    writeFileSync(target, 'old');
    symlinkSync(target, link);
    const { res } = make({ path: link, content: 'not through the link' });
    expect(await converge(res)).toBe(false);
    expect(lstatSync(link).isFile()).toBe(true);
    expect(readFileSync(link, 'utf8')).toBe('not through the link');
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(await converge(res)).toBe(true);
  });
});

describe('file: atomic writes', () => {
  it('GIVEN many rewrites of a 1 MiB file WHEN a reader reads concurrently THEN it never sees a partial file and no temp file is left', async () => {
    const dir = await tempDir();
    const path = join(dir, 'big');
    const a = 'a'.repeat(1 << 20);
    const b = 'b'.repeat((1 << 20) + 4096);
    const resA = make({ path, content: a }).res;
    const resB = make({ path, content: b }).res;
    await converge(resA);

    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const seen = await readFile(path, 'latin1');
        reads++;
        if (seen !== a && seen !== b) throw new Error(`torn read: ${seen.length} bytes`);
      }
    })();
    for (let i = 0; i < 40; i++) await converge(i % 2 === 0 ? resB : resA);
    writing = false;
    await reader;

    expect(reads).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual(['big']);
  });

  it.skipIf(!isRoot || !hasChattr)('GIVEN a rename that fails THEN the temp file is removed and the error names the path', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    writeFileSync(path, 'immutable');
    execFileSync('chattr', ['+i', path]); // even root cannot rename onto it now
    try {
      const { res } = make({ path, content: 'new content' });
      await expect(converge(res)).rejects.toThrow(`cannot write ${path}`);
      expect(readdirSync(dir)).toEqual(['f']);
    } finally {
      execFileSync('chattr', ['-i', path]);
    }
  });
});

describe('file: state', () => {
  it('GIVEN state absent WHEN converged THEN the file is removed; a missing file is already right', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f4');
    writeFileSync(path, 'i should not be here');
    // Upstream file1.yaml: content together with absent is valid and ignored.
    const { res } = make({ path, state: 'absent', content: 'i am f4 and i should not be here\n' });
    expect(await converge(res)).toBe(false);
    expect(existsSync(path)).toBe(false);
    expect(await converge(res)).toBe(true);
  });

  it('GIVEN state absent on a directory WHEN converged THEN it needs recurse to remove contents', async () => {
    const dir = await tempDir();
    const sub = join(dir, 'd');
    mkdirSync(join(sub, 'inner'), { recursive: true });
    writeFileSync(join(sub, 'inner', 'f'), 'x');

    const plain = make({ path: `${sub}/`, state: 'absent' }).res;
    await expect(converge(plain)).rejects.toThrow(/not empty.*recurse: true/);
    expect(existsSync(sub)).toBe(true);

    const recursive = make({ path: `${sub}/`, state: 'absent', recurse: true }).res;
    expect(await converge(recursive)).toBe(false);
    expect(existsSync(sub)).toBe(false);
  });

  it('GIVEN state absent on a symlink WHEN converged THEN the link goes and its target stays', async () => {
    const dir = await tempDir();
    const target = join(dir, 'target');
    const link = join(dir, 'link');
    writeFileSync(target, 'keep me');
    symlinkSync(target, link);
    const { res } = make({ path: link, state: 'absent' });
    expect(await converge(res)).toBe(false);
    expect(existsSync(link)).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('GIVEN an undefined state ("") THEN existence is unmanaged', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    expect(await converge(make({ path, state: '' }).res)).toBe(true);
    expect(existsSync(path)).toBe(false);
    await expect(converge(make({ path, state: '', content: 'x' }).res)).rejects.toThrow(/does not exist and state is ""/);
    writeFileSync(path, 'old');
    expect(await converge(make({ path, state: '', content: 'new' }).res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('new');
  });

  it('refuses to remove /', async () => {
    await expect(removePath('/', '/', true, true)).rejects.toThrow('refusing to remove /');
  });
});

describe('file: directories', () => {
  it('GIVEN a path ending in / WHEN converged THEN a directory is made with the mode', async () => {
    const dir = await tempDir();
    const sub = join(dir, 'x', 'd');
    const { res } = make({ path: `${sub}/`, mode: '0750' });
    expect(await converge(res)).toBe(false);
    expect(statSync(sub).isDirectory()).toBe(true);
    expect(modeOf(sub)).toBe(0o750);
    expect(modeOf(join(dir, 'x'))).toBe(0o755);
    expect(await converge(res)).toBe(true);
  });

  it('GIVEN a file where a directory belongs THEN it is replaced only with force', async () => {
    const dir = await tempDir();
    const sub = join(dir, 'd');
    writeFileSync(sub, 'in the way');
    await expect(converge(make({ path: `${sub}/` }).res)).rejects.toThrow(/is a file but should be a directory \(set force: true/);
    expect(await converge(make({ path: `${sub}/`, force: true }).res)).toBe(false);
    expect(statSync(sub).isDirectory()).toBe(true);
  });

  it('GIVEN a directory where a file belongs THEN it is replaced only with force', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    mkdirSync(join(path, 'inner'), { recursive: true });
    await expect(converge(make({ path, content: 'x' }).res)).rejects.toThrow(/is a directory but should be a regular file/);
    expect(await converge(make({ path, content: 'x', force: true }).res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('x');
  });
});

describe('file: mode, owner and group', () => {
  it('GIVEN an octal mode WHEN converged THEN it is applied to a new file and restored after drift', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const { res } = make({ path, content: 'x', mode: '0640' });
    expect(await converge(res)).toBe(false);
    expect(modeOf(path)).toBe(0o640);
    chmodSync(path, 0o777);
    expect(await converge(res)).toBe(false);
    expect(modeOf(path)).toBe(0o640);
    expect(await converge(res)).toBe(true);
  });

  it('GIVEN modes "644", "4755", "u=rw,go=r" and "u=rwx" THEN each gives the expected bits', async () => {
    const dir = await tempDir();
    const cases: Array<[string, number, number]> = [
      ['644', 0o600, 0o644],
      ['4755', 0o600, 0o4755],
      ['u=rw,go=r', 0o777, 0o644],
      ['u=rwx', 0o604, 0o704], // symbolic: the classes not named keep their bits
      ['a=rX', 0o640, 0o444],
      ['a=rX', 0o740, 0o555],
    ];
    for (const [mode, start, want] of cases) {
      const path = join(dir, `f-${mode}-${start}`);
      writeFileSync(path, '');
      chmodSync(path, start);
      expect(await converge(make({ path, mode }).res)).toBe(start === want);
      expect(modeOf(path).toString(8), mode).toBe(want.toString(8));
    }
  });

  it.skipIf(!isRoot)('GIVEN an owner name and a group id THEN a new file is written with them, and drift is fixed', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const { res } = make({ path, content: 'x', owner: 'daemon', group: '1', mode: '0600' });
    expect(await converge(res)).toBe(false);
    let st = statSync(path);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1, 1, 0o600]);

    const other = make({ path, owner: '0', group: 'root' }).res;
    expect(await converge(other)).toBe(false);
    st = statSync(path);
    expect([st.uid, st.gid]).toEqual([0, 0]);

    expect(await converge(res)).toBe(false);
    st = statSync(path);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1, 1, 0o600]);
    expect(await converge(res)).toBe(true);
  });

  it.skipIf(!isRoot)('GIVEN a setuid mode and a new owner THEN the mode survives the chown', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    writeFileSync(path, '');
    chmodSync(path, 0o4755);
    const { res } = make({ path, owner: '1', mode: '4755' });
    expect(await converge(res)).toBe(false);
    expect(statSync(path).uid).toBe(1);
    expect(modeOf(path)).toBe(0o4755);
  });

  it('GIVEN an unknown owner name THEN checkApply fails saying so', async () => {
    const dir = await tempDir();
    const { res } = make({ path: join(dir, 'f'), owner: 'no-such-user-mgmt-test' });
    await expect(converge(res)).rejects.toThrow(/user "no-such-user-mgmt-test" does not exist/);
  });
});

describe('file: source', () => {
  it('GIVEN a source file WHEN converged THEN its bytes and mode are copied, and source changes are followed', async () => {
    const dir = await tempDir();
    const source = join(dir, 'src');
    const path = join(dir, 'dst');
    writeFileSync(source, 'from the source');
    chmodSync(source, 0o751);
    const { res } = make({ path, source });
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('from the source');
    expect(modeOf(path)).toBe(0o751);
    expect(await converge(res)).toBe(true);

    writeFileSync(source, 'from the SOURCE'); // same size
    expect(await converge(res)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('from the SOURCE');
  });

  it('GIVEN a source directory WHEN converged THEN it is copied recursively and extra files are kept', async () => {
    const dir = await tempDir();
    const source = join(dir, 'src');
    mkdirSync(join(source, 'a', 'b'), { recursive: true });
    writeFileSync(join(source, 'top'), 'top');
    writeFileSync(join(source, 'a', 'b', 'deep'), 'deep');
    symlinkSync('top', join(source, 'link'));
    const dst = join(dir, 'dst');
    mkdirSync(dst);
    writeFileSync(join(dst, 'extra'), 'mine');

    const { res } = make({ path: `${dst}/`, source: `${source}/`, recurse: true, force: true });
    expect(await check(res)).toBe(false);
    expect(readdirSync(dst)).toEqual(['extra']);
    expect(await converge(res)).toBe(false);
    expect(readFileSync(join(dst, 'top'), 'utf8')).toBe('top');
    expect(readFileSync(join(dst, 'a', 'b', 'deep'), 'utf8')).toBe('deep');
    expect(readlinkSync(join(dst, 'link'))).toBe('top');
    expect(readFileSync(join(dst, 'extra'), 'utf8')).toBe('mine');
    expect(await converge(res)).toBe(true);

    writeFileSync(join(dst, 'a', 'b', 'deep'), 'edited');
    expect(await converge(res)).toBe(false);
    expect(readFileSync(join(dst, 'a', 'b', 'deep'), 'utf8')).toBe('deep');
  });

  it('GIVEN a missing source THEN checkApply fails naming it', async () => {
    const dir = await tempDir();
    const { res } = make({ path: join(dir, 'dst'), source: join(dir, 'nope') });
    await expect(converge(res)).rejects.toThrow(`source ${join(dir, 'nope')} does not exist`);
  });
});

describe('file: noop (apply=false)', () => {
  it('GIVEN every kind of drift WHEN checked without apply THEN it reports false and changes nothing', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'a', 'b', 'missing');
    expect(await check(make({ path: missing, content: 'x' }).res)).toBe(false);
    expect(existsSync(join(dir, 'a'))).toBe(false);

    const wrong = join(dir, 'wrong');
    writeFileSync(wrong, 'old');
    chmodSync(wrong, 0o644);
    expect(await check(make({ path: wrong, content: 'new' }).res)).toBe(false);
    expect(await check(make({ path: wrong, mode: '0600' }).res)).toBe(false);
    expect(await check(make({ path: wrong, state: 'absent' }).res)).toBe(false);
    expect(await check(make({ path: `${join(dir, 'newdir')}/` }).res)).toBe(false);
    expect(readFileSync(wrong, 'utf8')).toBe('old');
    expect(modeOf(wrong)).toBe(0o644);
    expect(readdirSync(dir)).toEqual(['wrong']);

    expect(await check(make({ path: wrong, content: 'old', mode: '644' }).res)).toBe(true);
  });
});

describe('file: abort', () => {
  it('GIVEN an aborted signal WHEN checkApply runs THEN it rejects with the reason and changes nothing', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    const { res } = make({ path, content: 'x' });
    await expect(res.checkApply(true, controller.signal)).rejects.toThrow('stop now');
    expect(existsSync(path)).toBe(false);
  });

  it('GIVEN an abort during a directory copy THEN it stops between entries', async () => {
    const dir = await tempDir();
    const source = join(dir, 'src');
    mkdirSync(source);
    for (let i = 0; i < 200; i++) writeFileSync(join(source, `f${i}`), `${i}`);
    const dst = join(dir, 'dst');
    mkdirSync(dst);
    const controller = new AbortController();
    // Abort as soon as the first copy lands.
    const watcher = watch(dst, () => controller.abort(new Error('stopped')));
    try {
      const { res } = make({ path: `${dst}/`, source: `${source}/` });
      await expect(res.checkApply(true, controller.signal)).rejects.toThrow('stopped');
    } finally {
      watcher.close();
    }
    const copied = readdirSync(dst).length;
    expect(copied).toBeGreaterThan(0);
    expect(copied).toBeLessThan(200);
  });
});

describe('file: watch', () => {
  it('GIVEN a watched file THEN ready comes first, and an outside edit, a removal and its own write each emit', async () => {
    const dir = await tempDir();
    const path = join(dir, 'sub', 'f');
    const { res } = make({ path, content: 'desired' });
    const rec = record(res.watch());
    expect(rec.count).toBe(1);

    // checkApply's own write (rename into place) is seen by its own watch: the engine re-checks once.
    let next = rec.next();
    await converge(res);
    await next;

    next = rec.next();
    writeFileSync(path, 'drift');
    await next;
    expect(await converge(res)).toBe(false);

    next = rec.next();
    rmSync(join(dir, 'sub'), { recursive: true });
    await next;
    rec.unsubscribe();
  });

  it('GIVEN a source THEN ready waits for both watches and a source change emits', async () => {
    const dir = await tempDir();
    const source = join(dir, 'src');
    writeFileSync(source, 'v1');
    const { res } = make({ path: join(dir, 'dst'), source });
    const rec = record(res.watch());
    expect(rec.count).toBe(1);
    const next = rec.next();
    writeFileSync(source, 'v2');
    await next;
    rec.unsubscribe();
  });
});

describe('file: validate', () => {
  const problems = (params: Partial<FileParams>, name = '/tmp/x'): string[] =>
    file.validate({ ...file.defaults(name), ...params }).map((p) => `${p.param}: ${p.reason}`);

  it('GIVEN good parameters, including absent with content (upstream file1.yaml) THEN there is no problem', () => {
    expect(problems({ content: 'x', state: 'absent' })).toEqual([]);
    expect(problems({ path: '/tmp/foo/', content: 'ignored on a directory' })).toEqual([]);
    expect(problems({ mode: '0644', owner: 'daemon', group: '1', state: '' })).toEqual([]);
  });

  it('GIVEN every kind of bad parameter THEN each problem is reported, quoting the value', () => {
    expect(
      problems({
        path: 'relative/path',
        content: 'x',
        source: 'also-relative',
        mode: 'u+x',
        state: 'present' as FileState,
        owner: 'a:b',
      }),
    ).toEqual([
      'path: path "relative/path" must be absolute',
      'state: state "present" must be "exists", "absent" or "" (existence unmanaged)',
      'content: content and source are mutually exclusive: set only one',
      'source: source "also-relative" must be an absolute path',
      'mode: mode "u+x": symbolic modes may only assign with "=" (e.g. "u=rwx,go=rx"), "+" describes a change, not a state',
      'owner: owner "a:b" is not a valid name (letters, digits, "_", "." and "-", not starting with "-", optionally ending in "$")',
    ]);
  });

  it('GIVEN bad modes THEN the message quotes them', () => {
    expect(problems({ mode: '0999' })).toEqual([
      'mode: mode "0999" is neither octal (e.g. "0644") nor symbolic (e.g. "u=rw,go=r"): bad clause "0999"',
    ]);
    expect(problems({ mode: '77777' })).toEqual(['mode: mode "77777" is out of range: at most 4 octal digits (e.g. "0644")']);
    expect(problems({ mode: 'rwxr-xr-x' })[0]).toContain('"rwxr-xr-x"');
  });

  it('GIVEN dirname and basename THEN they replace the parts of path and are checked', () => {
    expect(filePath({ path: '/a/b/c', dirname: '/x/', basename: '' })).toBe('/x/c');
    expect(filePath({ path: '/a/b/c', dirname: '', basename: 'z' })).toBe('/a/b/z');
    expect(filePath({ path: '/a/b/', dirname: '/x/', basename: '' })).toBe('/x/b/');
    expect(problems({ dirname: '/x' })).toContain('dirname: dirname "/x" must end with "/"');
    expect(problems({ basename: '/z' })).toContain('basename: basename "/z" must not start with "/"');
    expect(problems({ path: '/a/../etc/passwd' })).toEqual([
      'path: path "/a/../etc/passwd" must not contain ".", ".." or empty segments',
    ]);
    expect(problems({ path: '/', state: 'absent' })).toEqual(['state: refusing to make "/" absent']);
  });
});
