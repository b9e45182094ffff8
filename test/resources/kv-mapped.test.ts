// Issue 11 point 8: a `kv` with `mapped: true` belongs to its host, and two hosts writing one key do
// not fight forever. Two hosts share a real etcd through two EtcdWorlds; each kv is driven as the
// engine drives it: checkApply on every emission of its watch.

import { Etcd3 } from 'etcd3';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { FIGHT_WRITES, kv, type KvParams } from '../../src/resources/kv.js';
import { EtcdWorld } from '../../src/world/etcd.js';
import { makeContext, type TestContext } from '../helpers/context.js';
import { skipEtcdReason, useEtcd } from '../helpers/etcd.js';

const never = new AbortController().signal;

describe.skipIf(skipEtcdReason !== undefined)('kv between hosts', () => {
  const startEtcd = useEtcd();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** host opens an EtcdWorld for `hostname` on the etcd at `url`. */
  function host(hostname: string, url: string): EtcdWorld {
    const world = new EtcdWorld({ hostname, endpoints: [url] });
    cleanups.push(() => world.close());
    return world;
  }

  /** start makes a kv resource named `name` on `world`'s host. */
  function start(world: EtcdWorld, name: string, params: Partial<KvParams>) {
    const ctx = makeContext('kv', name, { world, hostname: world.hostname });
    const full = { ...kv.defaults(name), ...params };
    expect(kv.validate(full)).toEqual([]);
    return { ctx, live: kv.init(full, ctx) };
  }

  /** drive runs checkApply on each watch event, as the engine does, and records the failures. */
  function drive(live: ReturnType<typeof kv.init>, failures: string[]): void {
    let running = Promise.resolve();
    const sub: Subscription = live.watch().subscribe(() => {
      running = running.then(() => live.checkApply(true, never).then(() => undefined, (err: unknown) => void failures.push(String(err))));
    });
    cleanups.push(async () => {
      sub.unsubscribe();
      await running;
    });
  }

  /** revision is the store's current revision: one more per write. */
  async function revision(url: string): Promise<number> {
    const client = new Etcd3({ hosts: [url] });
    try {
      return Number((await client.maintenance.status()).header.revision);
    } finally {
      client.close();
    }
  }

  const warnings = (ctx: TestContext): string[] => ctx.logs.filter((e) => e.level === 'warn').map((e) => String(e.message));

  it('issue 11 point 8: another host\'s kv never writes or deletes a mapped key, with an error naming the owner', async () => {
    const etcd = await startEtcd();
    await etcd.server.start();
    const [h1, h2] = [host('h1', etcd.clientUrl), host('h2', etcd.clientUrl)];
    // GIVEN h1 holds its mapped key stage/h1
    const own = start(h1, 'stage', { key: 'stage', value: '1', mapped: true });
    expect(await own.live.checkApply(true, never)).toBe(false);
    expect(await h1.strGet('stage/h1')).toBe('1');
    // WHEN h2's kv names that key, to set it or to delete it
    const setter = start(h2, 'forge', { key: 'stage/h1', value: '9' });
    const deleter = start(h2, 'erase', { key: 'stage/h1' });
    // THEN both are refused naming the owner, and the key is untouched
    await expect(setter.live.checkApply(true, never)).rejects.toThrow("kv[forge]: key stage/h1 is host h1's mapped key (its kv with mapped: true); only h1 writes it");
    await expect(deleter.live.checkApply(true, never)).rejects.toThrow("kv[erase]: key stage/h1 is host h1's mapped key");
    expect(await h1.strGet('stage/h1')).toBe('1');
    // ... while h2's own mapped key and other keys are its to write, and h1 may still write its own
    expect(await start(h2, 'mine', { key: 'stage', value: '2', mapped: true }).live.checkApply(true, never)).toBe(false);
    expect(await h2.strGet('stage/h2')).toBe('2');
    expect(await start(h1, 'plain', { key: 'stage/h1', value: '3' }).live.checkApply(true, never)).toBe(false);
    // The owner marks are not kv keys of anyone's to write.
    await expect(start(h2, 'steal', { key: '_mapped/stage/h1', value: 'h2' }).live.checkApply(true, never)).rejects.toThrow(/keys under _mapped\/ name the owners/);
  });

  it('issue 11 point 8: two hosts that set one key differently stop after a few writes each, with a warning, instead of thousands of writes', async () => {
    const etcd = await startEtcd();
    await etcd.server.start();
    // GIVEN two hosts whose kv of one key wants different values (as two hosts named alike with a mapped kv would)
    const a = start(host('a', etcd.clientUrl), 'shared', { key: 'shared', value: 'from a' });
    const b = start(host('b', etcd.clientUrl), 'shared', { key: 'shared', value: 'from b' });
    const failures: string[] = [];
    const before = await revision(etcd.clientUrl);
    // WHEN both run, each rewriting the key whenever its watch says it changed
    drive(a.live, failures);
    drive(b.live, failures);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // THEN each wrote at most FIGHT_WRITES times: the first to reach it warned once and refuses further
    // writes with that reason, and the key rests with the other one's value
    const writes = (await revision(etcd.clientUrl)) - before;
    expect(writes).toBeGreaterThan(2);
    expect(writes).toBeLessThanOrEqual(2 * FIGHT_WRITES);
    const warned = [a, b].flatMap((side) => warnings(side.ctx));
    expect(warned).toEqual([expect.stringMatching(/^key shared was written 5 times within 10 s, each time after another writer changed it: another host writes it too/)]);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure).toMatch(/kv\[shared\]: key shared was written \d+ times within 10 s/);
    const settled = await revision(etcd.clientUrl);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await revision(etcd.clientUrl)).toBe(settled);
  });
});
