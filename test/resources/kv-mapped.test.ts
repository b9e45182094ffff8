// Issue 11 point 8: a `kv` with `mapped: true` belongs to its host (its key is host first, so in a
// secure cluster etcd's rights hold it: test/cluster/authority.test.ts), and two hosts writing one
// key do not fight forever. Two hosts share a real etcd through two EtcdWorlds; each kv is driven as the
// engine drives it: checkApply on every emission of its watch.

import { Etcd3 } from 'etcd3';
import type { Subscription } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterAuthority } from '../../src/cluster/authority.js';
import { FIGHT_WRITES, kv, type KvParams } from '../../src/resources/kv.js';
import { EtcdWorld } from '../../src/world/etcd.js';
import { makeContext, type TestContext } from '../helpers/context.js';
import { skipEtcdReason, useEtcd } from '../helpers/etcd.js';
import { useTlsCluster } from '../helpers/tls-etcd.js';

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

  it('issue 11 point 8: two hosts\' mapped kvs of one key each hold their own host-first key, and neither touches the other\'s', async () => {
    const etcd = await startEtcd();
    await etcd.server.start();
    const [h1, h2] = [host('h1', etcd.clientUrl), host('h2', etcd.clientUrl)];
    // GIVEN h1 and h2 each with a mapped kv of key stage, wanting different values
    const one = start(h1, 'stage', { key: 'stage', value: '1', mapped: true });
    const two = start(h2, 'stage', { key: 'stage', value: '2', mapped: true });
    const failures: string[] = [];
    // WHEN both run as the engine runs them
    drive(one.live, failures);
    drive(two.live, failures);
    // THEN each value lives at its host's own etcd prefix, /_mgmt/strings/_mapped/$host/
    const client = new Etcd3({ hosts: [etcd.clientUrl] });
    cleanups.push(async () => client.close());
    const stored = async () => client.getAll().prefix('/_mgmt/strings/').strings();
    await expect.poll(stored, { timeout: 10_000 }).toEqual({ '/_mgmt/strings/_mapped/h1/stage': '1', '/_mgmt/strings/_mapped/h2/stage': '2' });
    // ... and they rest there: no fight, no warning, no more writes
    const settled = await revision(etcd.clientUrl);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await revision(etcd.clientUrl)).toBe(settled);
    expect(failures).toEqual([]);
    expect([...warnings(one.ctx), ...warnings(two.ctx)]).toEqual([]);
    // A plain kv of h2 naming where mapped keys lived before (stage/h1) is a key of its own, not h1's.
    expect(await start(h2, 'plain', { key: 'stage/h1', value: '9' }).live.checkApply(true, never)).toBe(false);
    expect(await h1.strGet('_mapped/h1/stage')).toBe('1');
    // h1 deleting its mapped kv removes its key only.
    expect(await start(h1, 'gone', { key: 'stage', mapped: true }).live.checkApply(true, never)).toBe(false);
    expect(await stored()).toEqual({ '/_mgmt/strings/_mapped/h2/stage': '2', '/_mgmt/strings/stage/h1': '9' });
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

describe.skipIf(skipEtcdReason !== undefined)('mapped kv in a secure cluster', { timeout: 90_000 }, () => {
  const tlsCluster = useTlsCluster();

  it('issue 11 point 8: GIVEN h1 and h2 with their certificates WHEN each runs a mapped kv of one key THEN each writes its own, and h2\'s World writing or deleting h1\'s is refused by etcd', async () => {
    // GIVEN h1's etcd with auth on (h1 a server host) and h2 admitted as a client host
    const cluster = await tlsCluster();
    const etcd = await cluster.start('h1');
    const connectAs = async (hostname: string) => cluster.connect([etcd.clientUrl], (await cluster.host(hostname)).credentials);
    const authority = new ClusterAuthority(await connectAs('h1'));
    await authority.enableAuth('h1');
    await authority.admitHost('h2');
    const h1 = new EtcdWorld({ hostname: 'h1', connection: await connectAs('h1') });
    const h2 = new EtcdWorld({ hostname: 'h2', connection: await connectAs('h2') });
    const mapped = (world: EtcdWorld, value: string) => {
      const ctx = makeContext('kv', 'stage', { world, hostname: world.hostname });
      return kv.init({ ...kv.defaults('stage'), value, mapped: true }, ctx);
    };
    // WHEN each host's mapped kv runs
    expect(await mapped(h1, '1').checkApply(true, never)).toBe(false);
    expect(await mapped(h2, '2').checkApply(true, never)).toBe(false);
    // THEN each key is written with the host's own rights
    expect(await h2.strGet('_mapped/h1/stage')).toBe('1');
    expect(await h1.strGet('_mapped/h2/stage')).toBe('2');
    // AND h2, bypassing kv's own refusal, cannot overwrite or delete h1's
    await expect(h2.strSet('_mapped/h1/stage', 'forged')).rejects.toThrow(/permission denied/);
    await expect(h2.strDel('_mapped/h1/stage')).rejects.toThrow(/permission denied/);
    expect(await h1.strGet('_mapped/h1/stage')).toBe('1');
    await Promise.all([h1.close(), h2.close()]);
  });
});
