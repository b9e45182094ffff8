import { chmodSync, chownSync, mkdirSync, readFileSync, renameSync, rmSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterEach, describe, expect, it } from 'vitest';
import { createFsWatcher, resolvedPath, type FsWatcher } from '../../src/watchers/fs.js';
import { PathWatch } from '../../src/watchers/path-watch.js';
import { useTempDirs } from '../helpers/tmp.js';
import { eventually, record, settled, type Recorder } from './recorder.js';

const tempDir = useTempDirs();
const isRoot = process.geteuid?.() === 0;

let watcher: FsWatcher;
let recorders: Recorder[] = [];

/** watch subscribes to `path` through the test's watcher and checks the ready emission. */
function watch(path: string, recursive = false): Recorder {
  const rec = record(watcher.watchPath(path, { recursive }));
  recorders.push(rec);
  expect(rec.error).toBeUndefined();
  expect(rec.count).toBe(1); // ready, synchronously on subscribe
  return rec;
}

/** change runs `act` and resolves when `rec` has seen an event after it. */
async function change(rec: Recorder, act: () => void): Promise<void> {
  const next = rec.next();
  act();
  await next;
}

afterEach(() => {
  for (const rec of recorders.splice(0)) rec.unsubscribe();
  // Every test leaves no handle behind once its subscribers are gone.
  expect(watcher.watchCount()).toBe(0);
});

describe('watchPath on a file', () => {
  it('emits ready at once, then an event for a write within milliseconds', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const file = join(dir, 'f');
    writeFileSync(file, 'a');
    const rec = watch(file);

    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const next = rec.next();
      const start = performance.now();
      writeFileSync(file, `write ${i}`);
      await next;
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    // Measured ~0.1 ms median here; the bound is generous for a loaded CI machine.
    expect(times[times.length >> 1]).toBeLessThan(50);
  });

  it('reports creation, chmod, chown, removal and a rename onto the path', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const file = join(dir, 'f');
    const rec = watch(file);

    await change(rec, () => writeFileSync(file, 'created'));
    await change(rec, () => chmodSync(file, 0o600));
    if (isRoot) await change(rec, () => chownSync(file, 1, 1));
    await change(rec, () => unlinkSync(file));
    writeFileSync(join(dir, 'other'), 'replacement');
    await change(rec, () => renameSync(join(dir, 'other'), file));
  });

  it('ignores changes to other entries of the same directory', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const a = watch(join(dir, 'a'));
    const b = watch(join(dir, 'b'));

    writeFileSync(join(dir, 'a'), 'x');
    // Events are dispatched in order: once b has seen its own write, it would have seen a's too.
    await change(b, () => writeFileSync(join(dir, 'b'), 'x'));
    expect(a.count).toBeGreaterThan(1);
    const c = watch(join(dir, 'c'));
    await change(c, () => writeFileSync(join(dir, 'c'), 'x'));
    expect(b.count).toBeLessThan(4); // a create and a write of b: at most two events
  });

  it('shares one inotify watch among 10,000 paths in one directory', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const recs: Recorder[] = [];
    for (let i = 0; i < 10_000; i++) recs.push(watch(join(dir, `f${i}`)));
    expect(watcher.watchCount()).toBe(1);

    await change(recs[5000]!, () => writeFileSync(join(dir, 'f5000'), 'x'));
    await change(recs[9999]!, () => writeFileSync(join(dir, 'f9999'), 'x'));
    expect(recs[1]!.count).toBe(1);

    for (const rec of recs.slice(0, 9_999)) rec.unsubscribe();
    expect(watcher.watchCount()).toBe(1);
    recs[9_999]!.unsubscribe();
    expect(watcher.watchCount()).toBe(0);
  });

  it('waits for missing parents and re-descends as `mkdir -p` creates them', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const file = join(dir, 'a', 'b', 'c', 'f');
    const rec = watch(file);
    expect(watcher.watchCount()).toBe(1); // the deepest existing ancestor

    // The write races the descent: it happens before the watch on c exists.
    await change(rec, () => {
      mkdirSync(join(dir, 'a', 'b', 'c'), { recursive: true });
      writeFileSync(file, 'deep');
    });
    await eventually(() => watcher.watchCount() === 1 && rec.count >= 2, 'the descent to c');
    await change(rec, () => writeFileSync(file, 'again'));
  });

  it('descends one directory at a time too', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const file = join(dir, 'a', 'b', 'f');
    const rec = watch(file);

    mkdirSync(join(dir, 'a'));
    // Give the watcher the chance to descend to a first (the test passes either way).
    await new Promise((resolve) => setTimeout(resolve, 20));
    await change(rec, () => mkdirSync(join(dir, 'a', 'b')));
    await change(rec, () => writeFileSync(file, 'x'));
  });

  it('climbs back up when its directory is removed, and descends again when recreated', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const sub = join(dir, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    const file = join(sub, 'f');
    writeFileSync(file, 'x');
    const rec = watch(file);

    await change(rec, () => rmSync(join(dir, 'a'), { recursive: true }));
    await change(rec, () => {
      mkdirSync(sub, { recursive: true });
      writeFileSync(file, 'recreated');
    });
    await change(rec, () => writeFileSync(file, 'written after recreation'));
  });

  it('follows a directory replaced by another one under the same name', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const sub = join(dir, 'd');
    mkdirSync(sub);
    const file = join(sub, 'f');
    const rec = watch(file);

    await change(rec, () => renameSync(sub, join(dir, 'moved-away')));
    // A write in the moved directory is no longer a change of the path...
    mkdirSync(sub);
    await eventually(() => rec.count >= 3, 'the event for the new d');
    // ...but one in the new directory is.
    await change(rec, () => writeFileSync(file, 'new'));
  });
});

describe('watchPath on a directory', () => {
  it('reports the directory being created, chmod-ed and removed', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const sub = join(dir, 'd');
    const rec = watch(`${sub}/`);

    await change(rec, () => mkdirSync(sub));
    await change(rec, () => chmodSync(sub, 0o700));
    await change(rec, () => rmdirSync(sub));
  });

  it('with recursive, reports changes anywhere below, including in new subdirectories', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const root = join(dir, 'tree');
    const rec = watch(`${root}/`, true);

    await change(rec, () => mkdirSync(join(root, 'x', 'y', 'z'), { recursive: true }));
    // The parent of tree (for tree's own changes), tree, x, y and z.
    await eventually(() => watcher.watchCount() === 5, 'watches on tree, x, y and z');
    await change(rec, () => writeFileSync(join(root, 'x', 'y', 'z', 'deep'), 'x'));
    await change(rec, () => writeFileSync(join(root, 'x', 'shallow'), 'x'));

    // A subdirectory created with a file already in it: the scan finds what the watch missed.
    await change(rec, () => {
      mkdirSync(join(root, 'x', 'new'));
      writeFileSync(join(root, 'x', 'new', 'f'), 'x');
    });
    await eventually(() => watcher.watchCount() === 6, 'the watch on new');
    await change(rec, () => writeFileSync(join(root, 'x', 'new', 'f'), 'changed'));

    await change(rec, () => rmSync(join(root, 'x'), { recursive: true }));
    await eventually(() => watcher.watchCount() === 2, 'the subtree watches to be released');
  });

  it('with recursive, waits for a missing root', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const root = join(dir, 'later', 'tree');
    const rec = watch(`${root}/`, true);

    await change(rec, () => mkdirSync(join(root, 'sub'), { recursive: true }));
    await eventually(() => watcher.watchCount() === 3, 'watches on later, tree and sub');
    await change(rec, () => writeFileSync(join(root, 'sub', 'f'), 'x'));
  });
});

describe('watch lifetime and errors', () => {
  it('releases every handle when the last subscriber of a nested, missing path leaves', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    mkdirSync(join(dir, 'exists'));
    const recs = [
      watch(join(dir, 'a', 'b', 'c', 'f')),
      watch(join(dir, 'a', 'b', 'g')),
      watch(join(dir, 'exists', 'f')),
      watch(`${join(dir, 'exists')}/`, true),
      watch(`${join(dir, 'tree')}/`, true),
    ];
    expect(watcher.watchCount()).toBe(2); // dir (for a, tree and exists) and exists (the tree)
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    await eventually(() => recs[1]!.count >= 2, 'the descent to b');
    for (const rec of recs) rec.unsubscribe();
    expect(watcher.watchCount()).toBe(0);
  });

  it('keeps a shared watch while another subscriber still uses it', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const first = watch(join(dir, 'f'));
    const second = watch(join(dir, 'f'));
    first.unsubscribe();
    expect(watcher.watchCount()).toBe(1);
    await change(second, () => writeFileSync(join(dir, 'f'), 'x'));
    expect(first.count).toBe(1);
  });

  it.skipIf(!isRoot)('fails with a message naming the path when permission is denied', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir(); // mode 0700, owned by root
    const path = join(dir, 'sub', 'f');
    let rec: Recorder;
    process.seteuid!(1); // daemon: may not search the directory
    try {
      rec = record(watcher.watchPath(path));
    } finally {
      process.seteuid!(0);
    }
    const err = await rec.failed();
    expect(String(err)).toContain(`cannot watch ${path}: permission denied`);
    expect(watcher.watchCount()).toBe(0);
  });

  it('fails every subscriber when closed, and refuses new ones', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const rec = watch(join(dir, 'f'));
    watcher.close();
    expect(String(await rec.failed())).toContain('closed');
    expect(watcher.watchCount()).toBe(0);
    const late = record(watcher.watchPath(join(dir, 'g')));
    expect(String(await late.failed())).toContain(`cannot watch ${join(dir, 'g')}`);
  });

  it('GIVEN watched files WHEN the watcher is released THEN every handle is closed, its subscribers hear nothing, and new ones are refused', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const file = join(dir, 'f');
    const rec = watch(file);
    const tree = watch(dir, true);
    watcher.release();
    expect(watcher.watchCount()).toBe(0);
    writeFileSync(file, 'changed');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([rec.count, rec.error, tree.count, tree.error]).toEqual([1, undefined, 1, undefined]);
    const late = record(watcher.watchPath(join(dir, 'g')));
    expect(String(await late.failed())).toContain(`cannot watch ${join(dir, 'g')}`);
  });
});

describe('PathWatch.observe', () => {
  it('GIVEN a watched file observed without an rxjs subscriber THEN it is ready at once, hears a write, and its end releases the handle', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const file = join(dir, 'f');
    const watch = watcher.watchPath(file);
    expect(watch).toBeInstanceOf(PathWatch);
    let seen = 0;
    let changed!: () => void;
    const change = new Promise<void>((resolve) => (changed = resolve));
    const errors: unknown[] = [];
    const end = (watch as PathWatch).observe({ next: () => ++seen === 2 && changed(), error: (err) => errors.push(err) });
    expect(seen).toBe(1);
    writeFileSync(file, 'x');
    await change;
    expect(watcher.watchCount()).toBe(1);
    end.unsubscribe();
    end.unsubscribe();
    expect(watcher.watchCount()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('GIVEN an observed file WHEN the watcher is closed THEN the observer gets one error and the watch is ended', async () => {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const errors: unknown[] = [];
    (watcher.watchPath(join(dir, 'f'), { recursive: true }) as PathWatch).observe({ next: () => undefined, error: (err) => errors.push(err) });
    watcher.close();
    expect(errors.map(String)).toEqual([`Error: cannot watch ${join(dir, 'f')}: the file watcher was closed`]);
    expect(watcher.watchCount()).toBe(0);
  });
});

describe('watch memory', () => {
  it('GIVEN 20,000 files of one directory watched THEN they share one handle and hold under 1,000 bytes each', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    watcher = createFsWatcher();
    const dir = await tempDir();
    const first = watcher.watchPath(join(dir, 'first')).subscribe();
    gc();
    const before = process.memoryUsage().heapUsed;
    const subscriptions = Array.from({ length: 20_000 }, (_, i) => watcher.watchPath(join(dir, `f${i}`)).subscribe());
    gc();
    const perWatch = (process.memoryUsage().heapUsed - before) / subscriptions.length;
    expect(watcher.watchCount()).toBe(1);
    // Measured 700 bytes; a Set per name, a count per listener in a Map and two closures per
    // listener took 1,450.
    expect(perWatch).toBeLessThan(1_000);
    for (const subscription of [first, ...subscriptions]) subscription.unsubscribe();
  });
});

describe('resolvedPath', () => {
  it.each(['/', '/a', '/a/', '/a/b', '//a', '/a//b', '/a/./b', '/a/../b', '/a/.', '/a/..', '/.a', '/..a', '/a.', '/a..', '/a/.b/c', '/...', 'rel', 'rel/x', '', '.', './a'])(
    'resolves %j as resolve does',
    (path) => {
      expect(resolvedPath(path)).toBe(resolve(path));
    },
  );
});

describe('an overflowed inotify queue', () => {
  // libuv drops the kernel's overflow event; the watcher must see the overflow from the burst.
  it('GIVEN the event loop blocked while more events than the queue holds arrive WHEN it runs again THEN every watch hears of a change and follows a directory replaced meanwhile', async () => {
    const limit = Number.parseInt(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'), 10);
    const resyncs: number[] = [];
    watcher = createFsWatcher({ onResync: (events) => resyncs.push(events) });
    const dir = await tempDir();
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'x'), 'x');
    writeFileSync(join(dir, 'f'), 'f');
    const recF = watch(join(dir, 'f'));
    const recX = watch(join(sub, 'x'));
    const changedF = recF.next(10_000);
    const changedX = recX.next(10_000);

    // Synchronous, so nothing is read until the queue is full: the last three changes are lost.
    for (let i = 0; i < limit + 1000; i++) writeFileSync(join(dir, `junk-${i % 2}`), `${i}`);
    rmSync(sub, { recursive: true });
    mkdirSync(sub);
    unlinkSync(join(dir, 'f'));

    await Promise.all([changedF, changedX]);
    expect(resyncs).toHaveLength(1);
    expect(resyncs[0]).toBeGreaterThanOrEqual(limit);
    // The watch of sub/x now watches the new directory.
    await change(recX, () => writeFileSync(join(sub, 'x'), 'new'));
  });

  it('GIVEN a burst well under the queue size WHEN it is read THEN no re-sync', async () => {
    const resyncs: number[] = [];
    watcher = createFsWatcher({ onResync: (events) => resyncs.push(events) });
    const dir = await tempDir();
    const rec = watch(join(dir, 'f'));
    for (let i = 0; i < 500; i++) writeFileSync(join(dir, `junk-${i % 2}`), `${i}`);
    await change(rec, () => writeFileSync(join(dir, 'f'), 'f'));
    await new Promise((done) => setImmediate(done));
    expect(resyncs).toEqual([]);
  });
});

describe('a writer\'s own rename (expectOwnRename)', () => {
  // watchOwn watches `path` and returns its recorder with the watch the writer announces to.
  function watchOwn(path: string): { rec: Recorder; own: PathWatch } {
    const own = watcher.watchPath(path) as PathWatch;
    const rec = record(own);
    recorders.push(rec);
    expect(rec.count).toBe(1);
    return { rec, own };
  }

  /** announced watches `f` in a new directory (holding `existing`, if given) and announces a rename onto it. */
  async function announced(existing?: string): Promise<{ dir: string; path: string; rec: Recorder; own: PathWatch }> {
    watcher = createFsWatcher();
    const dir = await tempDir();
    const path = join(dir, 'f');
    if (existing !== undefined) writeFileSync(path, existing);
    const { rec, own } = watchOwn(path);
    own.expectOwnRename();
    return { dir, path, rec, own };
  }

  /** renameOnto renames a fresh temp file onto `path`, as writeAtomic does. */
  function renameOnto(path: string, content: string): void {
    const temp = `${path}.tmp-${Math.random().toString(36).slice(2)}`;
    writeFileSync(temp, content);
    renameSync(temp, path);
  }

  it('GIVEN an announced rename WHEN it happens THEN its event is not passed on, and a change after it is', async () => {
    const { dir, path, rec } = await announced();
    renameOnto(path, 'ours');
    await settled(watcher, dir);
    expect(rec.count).toBe(1);
    await change(rec, () => writeFileSync(path, 'theirs'));
  });

  it('GIVEN an announced rename WHEN another process renames onto the path right after it THEN that rename is passed on', async () => {
    const { dir, path, rec } = await announced();
    renameOnto(path, 'ours');
    renameOnto(path, 'theirs'); // before the watcher read either event
    await settled(watcher, dir);
    expect(rec.count).toBe(2);
  });

  it('GIVEN an announced rename WHEN another change comes first THEN both are passed on', async () => {
    const { dir, path, rec } = await announced('old');
    writeFileSync(path, 'theirs');
    renameOnto(path, 'ours');
    await settled(watcher, dir);
    expect(rec.count).toBe(3);
  });

  it('GIVEN an announcement WHEN it is cancelled, or its rename comes over a second later THEN the rename is passed on', async () => {
    const { path, rec, own } = await announced();
    own.cancelOwnRename();
    await change(rec, () => renameOnto(path, 'one'));
    own.expectOwnRename();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await change(rec, () => renameOnto(path, 'two'));
  });
});
