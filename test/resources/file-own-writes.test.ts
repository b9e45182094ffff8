// The file kind's own writes do not wake its watch: the rename that puts a file in place is
// announced to the resource's watch, which passes its event over (fs.ts, PathListener). Without it,
// every file a first converge writes was checked once more: a third of that converge's work.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsWatcher } from '../../src/watchers/fs.js';
import { makeFile } from '../helpers/file-resource.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const never = new AbortController().signal;

/**
 * fenceOf returns a `settle` that resolves once every event of `dir` so far has been delivered: it
 * creates a file of a new name there, whose first event inotify delivers after them.
 */
function fenceOf(dir: string): { settle(): Promise<void>; close(): void } {
  const watcher = createFsWatcher();
  let fences = 0;
  return {
    settle: () =>
      new Promise<void>((resolve) => {
        const path = join(dir, `fence-${++fences}`);
        let seen = 0;
        const sub = watcher.watchPath(path).subscribe(() => {
          if (++seen < 2) return; // the first is "ready"
          sub.unsubscribe();
          resolve();
        });
        writeFileSync(path, '');
      }),
    close: () => watcher.close(),
  };
}

describe('file: its own writes', () => {
  it('GIVEN a watched file resource WHEN it creates and later rewrites its file THEN its watch stays quiet; a change right after is heard', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const fence = fenceOf(dir);
    const res = makeFile({ path, content: 'wanted\n' });
    let events = 0;
    const sub = res.watch().subscribe(() => events++);
    try {
      expect(events).toBe(1); // ready

      expect(await res.checkApply(true, never)).toBe(false); // created
      await fence.settle();
      expect(events).toBe(1);

      writeFileSync(path, 'drifted\n');
      await fence.settle();
      expect(events).toBe(2);
      expect(await res.checkApply(true, never)).toBe(false); // rewritten
      await fence.settle();
      expect(events).toBe(2);

      writeFileSync(path, 'theirs\n');
      await fence.settle();
      expect(events).toBe(3);
    } finally {
      sub.unsubscribe();
      fence.close();
    }
  });
});
