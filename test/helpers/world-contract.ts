import { expect, it } from 'vitest';
import type { World } from '../../src/world/types.js';
import { record, type Recorder } from '../watchers/recorder.js';

/** ready waits until a recorded watch has emitted its first ("ready") event. */
export async function ready(rec: Recorder): Promise<void> {
  if (rec.count === 0) await rec.next();
}

/** WithWorlds opens one World per host name on a shared store, closed when `body` ends. */
export type WithWorlds = (hosts: string[], body: (worlds: World[]) => Promise<void>) => Promise<void>;

/** worldContract declares the behaviours every World implementation must share, run once per implementation. */
export function worldContract(withWorlds: WithWorlds): void {
  it('GIVEN a string watch WHEN another host sets and deletes the key THEN it fires each time, and not for other keys', async () => {
    await withWorlds(['h1', 'h2'], async ([h1, h2]) => {
      const rec = record(h1!.strWatch('stage/h2'));
      await ready(rec);
      let seen = rec.next();
      await h2!.strSet('stage/h2', '1');
      await seen;
      seen = rec.next();
      await h2!.strDel('stage/h2');
      await seen;
      const before = rec.count;
      await h2!.strSet('stage', 'other');
      await h2!.strSet('stage/h3', 'other');
      await new Promise((r) => setTimeout(r, 100));
      expect(rec.count).toBe(before);
      rec.unsubscribe();
    });
  });
}
