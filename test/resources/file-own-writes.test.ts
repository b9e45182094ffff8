// The file kind's own writes do not wake its watch: the rename that puts a file in place is
// announced to the resource's watch, which passes its event over (fs.ts, PathListener). Without it,
// every file a first converge writes was checked once more: a third of that converge's work.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsWatcher } from '../../src/watchers/fs.js';
import { settled } from '../watchers/recorder.js';
import { makeFile } from '../helpers/file-resource.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const never = new AbortController().signal;

describe('file: its own writes', () => {
  it('GIVEN a watched file resource WHEN it creates and later rewrites its file THEN its watch stays quiet; a change right after is heard', async () => {
    const dir = await tempDir();
    const path = join(dir, 'f');
    const watcher = createFsWatcher();
    const res = makeFile({ path, content: 'wanted\n' });
    let events = 0;
    const sub = res.watch().subscribe(() => events++);
    try {
      expect(events).toBe(1); // ready

      expect(await res.checkApply(true, never)).toBe(false); // created
      await settled(watcher, dir);
      expect(events).toBe(1);

      writeFileSync(path, 'drifted\n');
      await settled(watcher, dir);
      expect(events).toBe(2);
      expect(await res.checkApply(true, never)).toBe(false); // rewritten
      await settled(watcher, dir);
      expect(events).toBe(2);

      writeFileSync(path, 'theirs\n');
      await settled(watcher, dir);
      expect(events).toBe(3);
    } finally {
      sub.unsubscribe();
      watcher.close();
    }
  });
});
