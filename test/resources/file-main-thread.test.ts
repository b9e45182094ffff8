import { createHook } from 'node:async_hooks';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SMALL_FILE } from '../../src/resources/file-io.js';
import { isRemoteType, LocalDirs } from '../../src/resources/local-fs.js';
import { makeFile } from '../helpers/file-resource.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const never = new AbortController().signal;

const make = makeFile;

/** threadPoolCalls counts the fs requests sent to libuv's thread pool while `run` runs. */
async function threadPoolCalls(run: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'FSREQCALLBACK' || type === 'FSREQPROMISE') count++;
    },
  });
  hook.enable();
  try {
    await run();
  } finally {
    hook.disable();
  }
  return count;
}

describe('file: small files on a local disk use main-thread calls', () => {
  it('GIVEN a converged small file WHEN checked again THEN no fs call goes to the thread pool', async () => {
    const path = join(await tempDir(), 'small');
    const res = make({ path, content: 'small\n' });
    expect(await res.checkApply(true, never)).toBe(false); // creates it (and learns the directory)

    let ok: boolean | undefined;
    expect(await threadPoolCalls(async () => (ok = await res.checkApply(true, never)))).toBe(0);
    expect(ok).toBe(true);
  });

  it('GIVEN a small file with other content WHEN converged THEN it is rewritten on the main thread, atomically', async () => {
    const dir = await tempDir();
    const path = join(dir, 'small');
    const res = make({ path, content: 'wanted\n', mode: '0640' });
    expect(await res.checkApply(true, never)).toBe(false);
    writeFileSync(path, 'drifted\n');

    let ok: boolean | undefined;
    // None at all: the stat that finds the held parent directory still at its path is synchronous too.
    expect(await threadPoolCalls(async () => (ok = await res.checkApply(true, never)))).toBe(0);
    expect(ok).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('wanted\n');
    expect(await res.checkApply(false, never)).toBe(true);
  });

  it('GIVEN checkOKSync found a file wrong THEN the checkApply right after takes that look, and one made later looks again', async () => {
    const dir = await tempDir();
    const path = join(dir, 'small');
    const res = make({ path, content: 'wanted\n' });
    expect(await res.checkApply(true, never)).toBe(false); // learns the directory
    const ok = (): boolean => res.checkOKSync!(true);

    // Right after, in the same turn of the event loop: checkApply acts on what checkOKSync saw
    // (drifted), even though the file was put right in between, so it rewrites it (not OK) where a
    // second look would have found it OK.
    writeFileSync(path, 'drifted\n');
    expect(ok()).toBe(false);
    writeFileSync(path, 'wanted\n');
    expect(await res.checkApply(true, never)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('wanted\n');

    // A look of an earlier turn is not taken: checkApply looks again and finds it OK.
    writeFileSync(path, 'drifted\n');
    expect(ok()).toBe(false);
    writeFileSync(path, 'wanted\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await res.checkApply(true, never)).toBe(true);

    // A look is taken once: the checkApply after the one that took it looks again.
    writeFileSync(path, 'drifted\n');
    expect(ok()).toBe(false);
    expect(await res.checkApply(true, never)).toBe(false);
    expect(await res.checkApply(true, never)).toBe(true);
  });

  it('GIVEN content over the small-file limit WHEN checked THEN it goes through the thread pool and converges the same', async () => {
    const path = join(await tempDir(), 'big');
    const content = 'x'.repeat(SMALL_FILE + 1);
    const res = make({ path, content });
    expect(await res.checkApply(true, never)).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe(content);

    let ok: boolean | undefined;
    expect(await threadPoolCalls(async () => (ok = await res.checkApply(true, never)))).toBeGreaterThan(0);
    expect(ok).toBe(true);
  });
});

describe('LocalDirs', () => {
  it('GIVEN network file system types THEN they are remote, and local ones are not', () => {
    expect(isRemoteType(0x6969)).toBe(true); // nfs
    expect(isRemoteType(0xff534d42)).toBe(true); // cifs
    expect(isRemoteType(0x65735546)).toBe(true); // fuse
    expect(isRemoteType(0xef53)).toBe(false); // ext4
    expect(isRemoteType(0x01021994)).toBe(false); // tmpfs
  });

  it('GIVEN a local directory THEN it is local, and the verdict is remembered without asking again', async () => {
    const dirs = new LocalDirs();
    const dir = await tempDir();
    expect(await dirs.isLocal(dir)).toBe(true);
    expect(dirs.isLocal(dir)).toBe(true); // a plain boolean now: no promise, no statfs
  });

  it('GIVEN a missing directory THEN it is not local, and it is asked about again once it exists', async () => {
    const dirs = new LocalDirs();
    const dir = join(await tempDir(), 'later');
    expect(await dirs.isLocal(dir)).toBe(false);
    mkdirSync(dir);
    expect(await dirs.isLocal(dir)).toBe(true);
    rmdirSync(dir);
  });
});
