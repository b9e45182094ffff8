import { join } from 'node:path';
import { Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ResourceKind } from '../../src/core/kind.js';
import { Engine } from '../../src/engine/engine.js';
import { createFsWatcher } from '../../src/watchers/fs.js';
import { buildGraph } from '../helpers/graph.js';
import { idle } from '../helpers/engine.js';
import { collectLog } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

/** kindOf is a test kind named `kind` whose resources `init` makes, with one string parameter `tag`. */
function kindOf(kind: string, init: ResourceKind<{ tag: string }>['init']): ResourceKind<{ tag: string }> {
  const params = { tag: { type: 'string', doc: 'what the test says' } } as const;
  return { kind, doc: `test: ${kind}`, params, defaults: () => ({ tag: '' }), validate: () => [], init };
}

/** pathKind watches the path named by its `tag` through the shared watcher, and is always OK. */
const pathKind = kindOf('watchedpath', (params, ctx) => ({ watch: () => ctx.watchPath(params.tag), checkApply: async () => true }));

/** ownWatchKind has a watch of its own, whose teardown it counts in `endedWatches`. */
let endedWatches = 0;
const ownWatchKind = kindOf('ownwatch', () => ({
  watch: () =>
    new Observable<void>((subscriber) => {
      subscriber.next();
      return () => endedWatches++;
    }),
  checkApply: async () => true,
}));

describe('engine: a stop before the process exits', () => {
  it('GIVEN watches of the shared file watcher and one of its own WHEN the engine stops exiting THEN only its own watch is ended, and the watcher release closes the rest', async () => {
    const dir = await tempDir();
    const watcher = createFsWatcher();
    const engine = new Engine({ log: collectLog().log, hostname: 'test', prefix: dir, watcher });
    endedWatches = 0;
    await engine.swap(
      buildGraph([
        { name: 'a', def: pathKind, params: { tag: join(dir, 'a') } },
        { name: 'b', def: pathKind, params: { tag: join(dir, 'sub', 'b') } },
        { name: 'own', def: ownWatchKind },
      ]),
    );
    await idle(engine);
    expect(watcher.watchCount()).toBe(1); // dir itself: sub does not exist
    await engine.stop({ exiting: true });
    expect(endedWatches).toBe(1);
    expect(watcher.watchCount()).toBe(1);
    expect([...engine.statuses().values()]).toEqual(['stopped', 'stopped', 'stopped']);
    watcher.release();
    expect(watcher.watchCount()).toBe(0);
  });

  it('GIVEN watches of the shared file watcher WHEN the engine stops for good but not exiting THEN each watch is ended at once', async () => {
    const dir = await tempDir();
    const watcher = createFsWatcher();
    const engine = new Engine({ log: collectLog().log, hostname: 'test', prefix: dir, watcher });
    await engine.swap(buildGraph([{ name: 'a', def: pathKind, params: { tag: join(dir, 'a') } }]));
    await idle(engine);
    expect(watcher.watchCount()).toBe(1);
    await engine.stop();
    expect(watcher.watchCount()).toBe(0);
  });
});
