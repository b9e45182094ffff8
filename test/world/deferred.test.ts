import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DeferredWorld } from '../../src/world/deferred.js';
import { LocalWorld } from '../../src/world/local.js';
import type { ExportSpec, World } from '../../src/world/types.js';
import { useTempDirs } from '../helpers/tmp.js';
import { record } from '../watchers/recorder.js';

const tempDir = useTempDirs();

const file = (name: string): ExportSpec => ({ kind: 'file', name, params: { content: name } });

/** ExportLog is a real LocalWorld that also remembers every export set written through it. */
class ExportLog extends LocalWorld {
  readonly written: (readonly ExportSpec[])[] = [];
  override async exportResources(resources: readonly ExportSpec[]): Promise<void> {
    this.written.push(resources);
    await super.exportResources(resources);
  }
}

/** Pending is a World promise the test resolves or rejects by hand. */
interface Pending {
  readonly promise: Promise<World>;
  resolve(world: World): void;
  reject(reason: unknown): void;
}

function pending(): Pending {
  let resolve!: (world: World) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<World>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Setup is a DeferredWorld for h1 over a LocalWorld not handed over yet, and a LocalWorld h2 on the same directory. */
interface Setup {
  readonly dir: string;
  readonly deferred: DeferredWorld;
  readonly inner: ExportLog;
  readonly other: LocalWorld;
  readonly pending: Pending;
}

/** withDeferred builds a Setup and closes every World when `body` ends. */
async function withDeferred(body: (setup: Setup) => Promise<void>): Promise<void> {
  const dir = join(await tempDir(), 'world');
  const inner = new ExportLog({ hostname: 'h1', dir });
  const other = new LocalWorld({ hostname: 'h2', dir });
  const hand = pending();
  const deferred = new DeferredWorld('h1', hand.promise);
  try {
    await body({ dir, deferred, inner, other, pending: hand });
  } finally {
    await deferred.close();
    await inner.close();
    await other.close();
  }
}

/** isPending says whether `promise` is still unsettled after the queued I/O callbacks ran. */
async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

/** ending records how a watch ends: the number of emissions when it completed, or its error; it rejects after `ms`. */
function ending(watch$: Observable<void>, ms = 5000): Promise<{ count: number; error?: unknown }> {
  let count = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`the watch did not end within ${ms} ms (${count} emissions)`));
    }, ms);
    const end = (result: { count: number; error?: unknown }): void => {
      clearTimeout(timer);
      resolve(result);
    };
    const subscription = watch$.subscribe({
      next: () => count++,
      complete: () => end({ count }),
      error: (error: unknown) => end({ count, error }),
    });
  });
}

async function exportFile(dir: string, host: string): Promise<unknown> {
  return JSON.parse(await readFile(join(dir, 'exported', `${host}.json`), 'utf8'));
}

describe('DeferredWorld before the World is ready', () => {
  it('GIVEN another host exported already WHEN collecting before ready THEN nothing is found, and after ready it is', async () => {
    await withDeferred(async ({ deferred, inner, other, pending }) => {
      await other.exportResources([file('/h2')]);
      const problems: string[] = [];
      expect(deferred.isReady).toBe(false);
      expect(await deferred.collectResources(['file'], (p) => problems.push(p))).toEqual([]);
      expect(problems).toEqual([]);
      pending.resolve(inner);
      await deferred.settled;
      expect(deferred.isReady).toBe(true);
      expect((await deferred.collectResources(['file'])).map((r) => `${r.host}:${r.name}`)).toEqual(['h2:/h2']);
    });
  });

  it('GIVEN two export sets before ready WHEN the World becomes ready THEN only the latest is written, once, and both exporters and settled resolve after it', async () => {
    await withDeferred(async ({ dir, deferred, inner, pending }) => {
      const older = deferred.exportResources([file('/old')]);
      const newer = deferred.exportResources([file('/new')]);
      expect(await isPending(Promise.race([older, newer, deferred.settled]))).toBe(true);
      expect(existsSync(join(dir, 'exported', 'h1.json'))).toBe(false);
      pending.resolve(inner);
      // Read straight from the file each time: resolved means written, with no waiting on a watch.
      await older;
      expect(await exportFile(dir, 'h1')).toEqual({ host: 'h1', resources: [file('/new')] });
      await newer;
      await deferred.settled;
      expect(inner.written).toEqual([[file('/new')]]);
    });
  });

  it('GIVEN a kept export set WHEN writing it to the ready World fails THEN the exporter gets the error and settled still resolves', async () => {
    await withDeferred(async ({ dir, deferred, inner, pending }) => {
      const kept = deferred.exportResources([file('/kept')]);
      // A closed LocalWorld refuses writes: the real World is there, but the write fails.
      await inner.close();
      pending.resolve(inner);
      await expect(kept).rejects.toThrow(/the local world of h1 is closed/);
      await deferred.settled;
      expect(deferred.isReady).toBe(true);
      expect(existsSync(join(dir, 'exported', 'h1.json'))).toBe(false);
    });
  });

  it('GIVEN no export before ready WHEN the World becomes ready THEN settled resolves and nothing is written', async () => {
    await withDeferred(async ({ dir, deferred, inner, pending }) => {
      pending.resolve(inner);
      await deferred.settled;
      expect(inner.written).toEqual([]);
      expect(existsSync(join(dir, 'exported', 'h1.json'))).toBe(false);
    });
  });

  it('GIVEN a ready World WHEN exporting THEN the set goes straight through', async () => {
    await withDeferred(async ({ dir, deferred, inner, pending }) => {
      pending.resolve(inner);
      await deferred.settled;
      await deferred.exportResources([file('/now')]);
      expect(await exportFile(dir, 'h1')).toEqual({ host: 'h1', resources: [file('/now')] });
    });
  });

  it('GIVEN a kept export set WHEN a newer set is exported the moment the World is ready THEN the newer set is the one that remains', async () => {
    await withDeferred(async ({ dir, deferred, inner, pending }) => {
      const kept = deferred.exportResources([file('/kept')]);
      pending.resolve(inner);
      // The first moment exports go to the real World, while the kept set is still to be written.
      while (!deferred.isReady) await Promise.resolve();
      await deferred.exportResources([file('/newer')]);
      await kept;
      await deferred.settled;
      expect(await exportFile(dir, 'h1')).toEqual({ host: 'h1', resources: [file('/newer')] });
      expect(inner.written).toEqual([[file('/kept')], [file('/newer')]]);
    });
  });

  it('GIVEN a resource watch WHEN subscribed before ready THEN it emits at once, again when ready, then on another host’s export', async () => {
    await withDeferred(async ({ deferred, inner, other, pending }) => {
      const rec = record(deferred.watchResources());
      expect(rec.count).toBe(1);
      const readyAgain = rec.next();
      pending.resolve(inner);
      await readyAgain;
      expect(rec.count).toBe(2);
      const changed = rec.next();
      await other.exportResources([file('/h2')]);
      await changed;
      expect(rec.error).toBeUndefined();
      rec.unsubscribe();
    });
  });

  it('GIVEN a resource watch WHEN subscribed after ready THEN it is the real World’s watch: ready, then changes', async () => {
    await withDeferred(async ({ deferred, inner, other, pending }) => {
      pending.resolve(inner);
      await deferred.settled;
      const rec = record(deferred.watchResources());
      expect(rec.count).toBe(1);
      const changed = rec.next();
      await other.exportResources([file('/h2')]);
      await changed;
      rec.unsubscribe();
    });
  });

  it('GIVEN string operations before ready WHEN the World becomes ready THEN they wait for it and then act on it', async () => {
    await withDeferred(async ({ deferred, inner, other, pending }) => {
      await other.strSet('from-h2', 'hello');
      const get = deferred.strGet('from-h2');
      const set = deferred.strSet('from-h1', 'hi');
      const del = deferred.strDel('from-h2');
      expect(await isPending(Promise.race([get, set, del]))).toBe(true);
      expect(await other.strGet('from-h1')).toBeUndefined();
      pending.resolve(inner);
      // Started in this order, so the read saw the key before the delete.
      expect(await get).toBe('hello');
      await set;
      await del;
      expect(await other.strGet('from-h1')).toBe('hi');
      expect(await other.strGet('from-h2')).toBeUndefined();
    });
  });

  it('GIVEN a string watch WHEN subscribed before ready THEN it emits at once, again when ready, then when another host sets the key', async () => {
    await withDeferred(async ({ deferred, inner, other, pending }) => {
      const rec = record(deferred.strWatch('k'));
      expect(rec.count).toBe(1);
      const readyAgain = rec.next();
      pending.resolve(inner);
      await readyAgain;
      const changed = rec.next();
      await other.strSet('k', 'v');
      await changed;
      expect(rec.count).toBe(3);
      rec.unsubscribe();
    });
  });
});

describe('DeferredWorld whose World failed to start', () => {
  it('GIVEN a kept export and open watches WHEN the World promise rejects THEN the exporter gets its error, settled resolves, watches complete after one emission, and nothing is written', async () => {
    await withDeferred(async ({ dir, deferred, pending }) => {
      const failure = new Error('etcd did not start');
      const kept = deferred.exportResources([file('/kept')]);
      const resources = ending(deferred.watchResources());
      const str = ending(deferred.strWatch('k'));
      pending.reject(failure);
      await expect(kept).rejects.toBe(failure);
      await deferred.settled;
      expect(await resources).toEqual({ count: 1 });
      expect(await str).toEqual({ count: 1 });
      expect(deferred.isReady).toBe(false);
      expect(existsSync(join(dir, 'exported', 'h1.json'))).toBe(false);
    });
  });

  it('GIVEN a failed World WHEN used THEN exports and string operations reject with its error, collect finds nothing and reports why, late watches emit once and complete', async () => {
    await withDeferred(async ({ deferred, pending }) => {
      const failure = new Error('etcd did not start');
      pending.reject(failure);
      await deferred.settled;
      await expect(deferred.exportResources([file('/x')])).rejects.toBe(failure);
      await expect(deferred.strGet('k')).rejects.toBe(failure);
      await expect(deferred.strSet('k', 'v')).rejects.toBe(failure);
      await expect(deferred.strDel('k')).rejects.toBe(failure);
      const problems: string[] = [];
      expect(await deferred.collectResources(['file'], (p) => problems.push(p))).toEqual([]);
      expect(problems).toEqual(['nothing collected: etcd did not start']);
      // Without onProblem nothing is thrown either.
      expect(await deferred.collectResources(['file'])).toEqual([]);
      expect(await ending(deferred.watchResources())).toEqual({ count: 1 });
      expect(await ending(deferred.strWatch('k'))).toEqual({ count: 1 });
    });
  });

  it('GIVEN string operations waiting WHEN the World promise rejects with a non-Error THEN they reject with an Error carrying its text', async () => {
    await withDeferred(async ({ deferred, pending }) => {
      const get = deferred.strGet('k');
      pending.reject('no etcd');
      await expect(get).rejects.toThrow(new Error('no etcd'));
      await expect(deferred.exportResources([])).rejects.toThrow(new Error('no etcd'));
    });
  });
});

describe('DeferredWorld closing', () => {
  it('GIVEN a kept export and open watches WHEN closed before ready THEN the watches complete, and the World is closed unwritten once it arrives', async () => {
    await withDeferred(async ({ dir, deferred, inner, pending }) => {
      const kept = deferred.exportResources([file('/kept')]);
      const resources = ending(deferred.watchResources());
      // A watch on the real World itself ends when that World is closed.
      const innerClosed = ending(inner.strWatch('k'));
      await deferred.close();
      expect(await resources).toEqual({ count: 1 });
      pending.resolve(inner);
      expect((await innerClosed).error).toBeUndefined();
      await deferred.settled;
      // The exporter is not left waiting.
      await Promise.allSettled([kept]);
      await expect(inner.strSet('k', 'v')).rejects.toThrow(/closed/);
      expect(inner.written).toEqual([]);
      expect(existsSync(join(dir, 'exported', 'h1.json'))).toBe(false);
    });
  });

  it('GIVEN a ready World WHEN closed THEN the real World is closed and open watches complete', async () => {
    await withDeferred(async ({ deferred, inner, pending }) => {
      pending.resolve(inner);
      await deferred.settled;
      const resources = ending(deferred.watchResources());
      await deferred.close();
      expect(await resources).toEqual({ count: 1 });
      await expect(inner.strGet('k')).rejects.toThrow(/closed/);
      // Closing twice is fine.
      await deferred.close();
    });
  });
});
