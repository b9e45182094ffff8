import { filter, firstValueFrom } from 'rxjs';
import { afterEach } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { createFsWatcher } from '../../src/watchers/fs.js';
import { collectLog } from './log.js';

/** useEngines returns a factory of engines with an in-memory event log, all stopped after each test. */
export function useEngines() {
  const engines: Engine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.stop()));
  });
  return () => {
    const collected = collectLog();
    const engine = new Engine({ log: collected.log, hostname: 'test', prefix: '/tmp/mgmt-engine-test', watcher: createFsWatcher() });
    engines.push(engine);
    return { engine, ...collected };
  };
}

/** idle resolves when every vertex of the engine is idle. */
export function idle(engine: Engine): Promise<boolean> {
  return firstValueFrom(engine.idle$.pipe(filter(Boolean)));
}
