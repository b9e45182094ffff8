import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFile } from '../helpers/file-resource.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const never = new AbortController().signal;

const make = makeFile;

/**
 * knownDir waits until what checkOKSync needs to know of `dir` (its file system, its temp files)
 * is known, with a converged file of its own there.
 */
async function knownDir(dir: string): Promise<string> {
  const path = join(dir, 'control');
  writeFileSync(path, 'control\n');
  const control = make({ path, content: 'control\n' });
  await waitFor(() => control.checkOKSync!(true), 'checkOKSync to know the directory');
  return dir;
}

describe('file: checkOKSync', () => {
  it('GIVEN a small file with its content and mode on a local disk THEN it is OK synchronously, and not once the content, size or mode drift', async () => {
    const path = join(await tempDir(), 'small');
    writeFileSync(path, 'wanted\n');
    chmodSync(path, 0o640);
    const res = make({ path, content: 'wanted\n', mode: '0640' });
    // THEN the first ask, before the directory is known, is not OK: checkApply learns it
    expect(res.checkOKSync!(true)).toBe(false);
    await knownDir(dirname(path));
    expect(res.checkOKSync!(true)).toBe(true);

    writeFileSync(path, 'wonted\n');
    expect(res.checkOKSync!(true)).toBe(false);
    writeFileSync(path, 'wanted, and more\n');
    expect(res.checkOKSync!(true)).toBe(false);
    writeFileSync(path, 'wanted\n');
    chmodSync(path, 0o644);
    expect(res.checkOKSync!(true)).toBe(false);
    // checkApply, told the same, repairs it
    expect(await res.checkApply(true, never)).toBe(false);
    expect(res.checkOKSync!(true)).toBe(true);
  });

  it('GIVEN a symlink or a FIFO where the file should be THEN it is not OK synchronously (checkApply replaces it, with force for the FIFO)', async () => {
    const dir = await knownDir(await tempDir());
    writeFileSync(join(dir, 'target'), 'wanted\n');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    for (const name of ['link', 'fifo']) {
      const res = make({ path: join(dir, name), content: 'wanted\n', force: true });
      expect(res.checkOKSync!(true)).toBe(false);
      expect(await res.checkApply(true, never)).toBe(false);
      expect(res.checkOKSync!(true)).toBe(true);
    }
  });

  it('GIVEN a temp file an interrupted write left beside a converged file THEN it is not OK synchronously until checkApply swept it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'kept');
    writeFileSync(path, 'wanted\n');
    const stale = join(dir, '.kept.mgmt-abcd1234');
    writeFileSync(stale, 'half a write');
    await knownDir(dir);
    const res = make({ path, content: 'wanted\n' });
    expect(res.checkOKSync!(true)).toBe(false);
    // THEN a check that applies nothing need not sweep
    expect(res.checkOKSync!(false)).toBe(true);

    expect(await res.checkApply(true, never)).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(res.checkOKSync!(true)).toBe(true);
  });

  it('GIVEN what synchronous calls cannot settle (an owner to look up, a directory, a copy, absence) THEN it is never OK synchronously', async () => {
    const dir = await knownDir(await tempDir());
    writeFileSync(join(dir, 'owned'), 'x\n');
    writeFileSync(join(dir, 'source'), 'x\n');
    writeFileSync(join(dir, 'copy'), 'x\n');
    const cases = [
      make({ path: join(dir, 'owned'), content: 'x\n', owner: 'root' }),
      make({ path: `${dir}/`, state: 'exists' }),
      make({ path: join(dir, 'copy'), source: join(dir, 'source') }),
      make({ path: join(dir, 'gone'), state: 'absent' }),
    ];
    for (const res of cases) {
      expect(res.checkOKSync!(true)).toBe(false);
      expect(await res.checkApply(true, never)).toBe(true);
    }
  });
});
