// Issue 11 point 8, "the store itself": etcd's limits met by real etcd processes on loopback: the
// 128-operation transaction limit, the 1.5 MiB request limit, and the quota's NOSPACE alarm.

import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdWorld, type EtcdWorldEvent } from '../../src/world/etcd.js';
import type { ExportedResource, ExportSpec } from '../../src/world/types.js';
import { etcdGet, etcdPut, fillUntilNoSpace, skipEtcdReason, useEtcd } from '../helpers/etcd.js';

const TEST_TIMEOUT_MS = 120_000;

/** files makes `count` file exports named `<tag>/<i>`, each with ~100 bytes of content. */
function files(tag: string, count: number): ExportSpec[] {
  return Array.from({ length: count }, (_, i) => ({ kind: 'file', name: `/${tag}/${i}`, params: { content: `${tag} ${i} ${'x'.repeat(80)}\n`, mode: '0644' } }));
}

/** withClient runs `body` with a plain etcd3 client of `url`, closed afterwards. */
async function withClient<T>(url: string, body: (client: Etcd3) => Promise<T>): Promise<T> {
  const client = new Etcd3({ hosts: [url] });
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

/** alarms lists the cluster's raised alarms. */
function alarms(url: string): Promise<string[]> {
  return withClient(url, async (client) => (await client.maintenance.alarm({ action: 'Get', alarm: 'None', memberID: '0' })).alarms.map((a) => a.alarm));
}

describe.skipIf(skipEtcdReason !== undefined)('the etcd World at etcd\'s limits', () => {
  const startEtcd = useEtcd();

  it('issue 11 point 8: a host\'s export set of 20,000 resources publishes atomically, collectors read it whole, and a set with every name changed replaces it leaving no old key', async () => {
    const etcd = await startEtcd();
    await etcd.server.start();
    const [a, b] = ['a', 'b'].map((hostname) => new EtcdWorld({ hostname, endpoints: [etcd.clientUrl], timeoutMs: 20_000 }));
    try {
      // GIVEN a exports 20,000 files (~2.6 MB of JSON: above both the 128-operation and the 1.5 MiB limits)
      const first = files('one', 20_000);
      await a!.exportResources(first);
      // THEN b collects all of them, with their params
      const collected = await b!.collectResources(['file']);
      expect(collected).toHaveLength(20_000);
      expect(collected.find((r) => r.name === '/one/12345')).toEqual({ host: 'a', ...first[12345] });

      // WHEN a replaces the set with 20,000 other names while b keeps collecting
      const second = files('two', 20_000);
      const seen: string[] = [];
      let done = false;
      const watching = (async () => {
        while (!done) {
          const rs: ExportedResource[] = await b!.collectResources(['file']);
          const tags = new Set(rs.map((r) => r.name.split('/')[1]));
          seen.push(`${rs.length} ${[...tags].sort().join('+')}`);
        }
      })();
      await a!.exportResources(second);
      done = true;
      await watching;
      // THEN every collect saw one whole set, never a mix or a part
      expect(seen.length).toBeGreaterThan(0);
      for (const view of seen) expect(['20000 one', '20000 two']).toContain(view);
      expect((await b!.collectResources(['file'])).map((r) => r.name).sort()).toEqual(second.map((r) => r.name).sort());
      // ... and only the new generation is left in etcd: the pointer and its chunks
      const set = JSON.parse((await etcdGet(etcd.clientUrl, '/_mgmt/exported/a/set'))!) as { generation: string; chunks: { file: number }; count: number };
      expect(set.count).toBe(20_000);
      expect(set.chunks.file).toBeGreaterThan(1);
      const keys = await withClient(etcd.clientUrl, (client) => client.getAll().prefix('/_mgmt/exported/a/').keys());
      expect(keys.sort()).toEqual(['/_mgmt/exported/a/set', ...Array.from({ length: set.chunks.file }, (_, i) => `/_mgmt/exported/a/chunks/${set.generation}/file/${i}`)].sort());
      // Every chunk fits etcd's request limit with room to spare.
      for (const key of keys) expect(Buffer.byteLength((await etcdGet(etcd.clientUrl, key))!)).toBeLessThan(1024 * 1024);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 8: a hostile set (a pointer to chunks that do not exist, a bad pointer, bad entries, hand-written keys beside a set) is reported and skipped, the rest collected', async () => {
    const etcd = await startEtcd();
    await etcd.server.start();
    const url = etcd.clientUrl;
    const w = new EtcdWorld({ hostname: 'good', endpoints: [url] });
    try {
      await w.exportResources(files('good', 3));
      // A pointer claiming 100,000 chunks that are not there: no read of them, one problem.
      await etcdPut(url, '/_mgmt/exported/liar/set', JSON.stringify({ generation: 'abc', chunks: { file: 100_000 } }));
      await etcdPut(url, '/_mgmt/exported/liar/chunks/abc/file/0', '[{"name":"/liar","params":{}}]');
      await etcdPut(url, '/_mgmt/exported/badptr/set', '{"generation": "../x", "chunks": {}}');
      await etcdPut(url, '/_mgmt/exported/mixed/set', JSON.stringify({ generation: 'f00', chunks: { file: 1 } }));
      await etcdPut(url, '/_mgmt/exported/mixed/chunks/f00/file/0', '[{"name":"/ok","params":{"mode":"0600"}},{"name":"","params":{}},"text",{"name":"/p","params":[1]}]');
      await etcdPut(url, '/_mgmt/exported/mixed/resources/file//beside', '{}');
      const problems: string[] = [];
      const started = Date.now();
      const found = await w.collectResources(['file'], (p) => problems.push(p));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(found.map((r) => `${r.host}:${r.name}`)).toEqual(['good:/good/0', 'good:/good/1', 'good:/good/2', 'mixed:/ok']);
      expect(problems.sort()).toEqual([
        'skipped entry #1 of exported chunk /_mgmt/exported/mixed/chunks/f00/file/0: expected {"name": non-empty string, "params": object}',
        'skipped entry #2 of exported chunk /_mgmt/exported/mixed/chunks/f00/file/0: expected {"name": non-empty string, "params": object}',
        'skipped entry #3 of exported chunk /_mgmt/exported/mixed/chunks/f00/file/0: expected {"name": non-empty string, "params": object}',
        'skipped exported set /_mgmt/exported/badptr/set: expected {"generation": hex, "chunks": {kind: count}}',
        'skipped the exported file resources of liar: /_mgmt/exported/liar/chunks/abc/file/1 is missing from its set',
        'skipped the exported keys under /_mgmt/exported/mixed/resources/: mixed publishes its exports as a set (/_mgmt/exported/mixed/set)',
      ]);
    } finally {
      await w.close();
    }
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 8: a write that meets the NOSPACE alarm compacts, defragments and disarms it, logs it, and goes in', async () => {
    // GIVEN an etcd with a 4 MB quota and no compaction within the test, filled until it raised NOSPACE
    const etcd = await startEtcd({ quotaBackendBytes: 4_000_000, compactionRetention: '1h' });
    await etcd.server.start();
    const url = etcd.clientUrl;
    await fillUntilNoSpace(url);
    expect(await alarms(url)).toEqual(['Nospace']);
    const events: EtcdWorldEvent[] = [];
    const w = new EtcdWorld({ hostname: 'a', endpoints: [url], onEvent: (e) => events.push(e) });
    try {
      // WHEN the World writes a string and exports
      await w.strSet('k', 'v');
      await w.exportResources(files('a', 2));
      // THEN both went in, the alarm is gone, and the recovery was logged as it happened
      expect(await w.strGet('k')).toBe('v');
      expect(await w.collectResources(['file'])).toHaveLength(2);
      expect(await alarms(url)).toEqual([]);
      expect(events.map((e) => `${e.level} ${e.action}`)).toEqual(['warn nospace', 'warn nospace']);
      expect(events[0]!.message).toMatch(/NOSPACE alarm is raised/);
      expect(events[1]!.message).toMatch(new RegExp(`NOSPACE alarm cleared: history compacted to revision \\d+, ${url} defragmented, 1 alarm\\(s\\) disarmed`));
      // ... and other writers may write again
      await etcdPut(url, '/other', 'x');
    } finally {
      await w.close();
    }
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 8: when the live data itself exceeds the quota, the write fails with an error event saying so, not a loop', async () => {
    const etcd = await startEtcd({ quotaBackendBytes: 2_000_000, compactionRetention: '1h' });
    await etcd.server.start();
    const url = etcd.clientUrl;
    // Distinct keys: live data that compaction cannot free.
    const value = 'v'.repeat(200_000);
    for (let i = 0; ; i++) {
      try {
        await etcdPut(url, `/live/${i}`, value);
      } catch (err) {
        expect(String(err)).toMatch(/database space exceeded/);
        break;
      }
    }
    const events: EtcdWorldEvent[] = [];
    const w = new EtcdWorld({ hostname: 'a', endpoints: [url], onEvent: (e) => events.push(e) });
    try {
      // A value half the quota: whatever defragmentation frees of the live data's slack, it cannot fit.
      await expect(w.strSet('k', 'v'.repeat(1_000_000))).rejects.toThrow(/still out of space after compaction and defragmentation.*--quota-backend-bytes/);
      expect(events.map((e) => `${e.level} ${e.action}`)).toEqual(['warn nospace', 'warn nospace', 'error nospace']);
    } finally {
      await w.close();
    }
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 8: the agents\' etcd compacts its history, so a key rewritten past the quota never raises NOSPACE', async () => {
    // GIVEN an etcd as the agent starts it (auto compaction on), with a 3 MB quota and a short retention
    const etcd = await startEtcd({ quotaBackendBytes: 3_000_000, compactionRetention: '1s' });
    await etcd.server.start();
    expect(etcd.server.args()).toEqual(expect.arrayContaining(['--auto-compaction-mode=periodic', '--auto-compaction-retention=1s', '--quota-backend-bytes=3000000']));
    // WHEN one key is rewritten with 6 MB in all, over many compaction periods
    const value = 'v'.repeat(20_000);
    for (let i = 0; i < 300; i++) {
      await etcdPut(etcd.clientUrl, '/churn', `${i}${value}`);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    // THEN no alarm was raised: every write went in
    expect(await alarms(etcd.clientUrl)).toEqual([]);
    expect((await etcdGet(etcd.clientUrl, '/churn'))!.startsWith('299v')).toBe(true);
  }, TEST_TIMEOUT_MS);
});
