// Issue 11 point 8, "the store itself", through real agents: an export set far above etcd's
// 128-operation transaction limit travels between hosts, and an agent whose etcd raised NOSPACE
// clears it and says so.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { etcdctl, useCluster } from '../helpers/cluster.js';
import { fillUntilNoSpace, skipEtcdReason } from '../helpers/etcd.js';
import { waitForLast } from '../helpers/exchange.js';

const TEST_TIMEOUT_MS = 240_000;
const EXPORTS = 2000;

/** noopGraph exports `count` noops named `<tag>-<i>` (and collects every host's noops). */
async function noopGraph(path: string, tag: string, count: number): Promise<string> {
  const entries = Array.from({ length: count }, (_, i) => `  - {name: "@@${tag}-${i}"}\n`).join('');
  await writeFile(path, `graph: ${tag}\nresources:\n  noop:\n${entries}collect:\n- kind: noop\n`);
  return path;
}

describe.skipIf(skipEtcdReason !== undefined)('the store between agents', () => {
  const { startHost, tempDir } = useCluster();

  it(`issue 11 point 8: an agent exports ${EXPORTS} resources (over etcd's 128 operations per transaction), another collects them all, and renaming every one leaves only the new names`, async () => {
    const root = await tempDir();
    const a = await startHost('a', { yaml: await noopGraph(join(root, 'a.yaml'), 'one', EXPORTS) });
    await a.proc.waitForEvent((e) => e.event === 'export' && e.count === EXPORTS, `a to export ${EXPORTS} noops`, 120_000);
    const b = await startHost('b', { yaml: await noopGraph(join(root, 'b.yaml'), 'bee', 0), seeds: [a.clientUrl] });
    await waitForLast(b.proc, 'collect', (e) => e.count === EXPORTS, `b to collect a's ${EXPORTS} noops`);

    // WHEN a's YAML renames every export (the agent reloads it)
    const sinceA = a.proc.events.length;
    const sinceB = b.proc.events.length;
    await noopGraph(join(root, 'a.yaml'), 'two', EXPORTS);
    await a.proc.waitForEvent((e) => e.event === 'export' && e.count === EXPORTS && a.proc.events.indexOf(e) >= sinceA, 'a to export the renamed set', 120_000);
    // THEN b's graph swaps the old names for the new ones, and every collect b made saw one whole set
    await b.proc.waitForEvent((e) => e.event === 'graph' && b.proc.events.indexOf(e) >= sinceB && (e.swap as { removed: number }).removed > 0, 'b to swap its graph', 120_000);
    const collects = b.proc.events.slice(sinceB).filter((e) => e.event === 'collect');
    expect(collects.length).toBeGreaterThan(0);
    for (const collect of collects) expect(collect.count).toBe(EXPORTS);
    // ... and etcd holds one generation of a's set, of the new names
    const set = JSON.parse(await etcdctl(a.clientUrl, 'get', '--print-value-only', '/_mgmt/exported/a/set')) as { generation: string; chunks: { noop: number }; count: number };
    expect(set.count).toBe(EXPORTS);
    const chunk = JSON.parse(await etcdctl(a.clientUrl, 'get', '--print-value-only', `/_mgmt/exported/a/chunks/${set.generation}/noop/0`)) as { name: string }[];
    expect(chunk.every((r) => r.name.startsWith('two-'))).toBe(true);
    const keys = (await etcdctl(a.clientUrl, 'get', '--prefix', '--keys-only', '/_mgmt/exported/a/')).split('\n').filter((line) => line !== '');
    expect(keys).toEqual([...Array.from({ length: set.chunks.noop }, (_, i) => `/_mgmt/exported/a/chunks/${set.generation}/noop/${i}`), '/_mgmt/exported/a/set']);
    for (const host of [a, b]) expect(host.proc.events.filter((e) => e.level === 'error')).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 8: an agent whose etcd raised NOSPACE (a 4 MB quota) compacts, defragments and disarms it, logs cluster events, and its kv write goes in', async () => {
    const root = await tempDir();
    const yaml = join(root, 'kv.yaml');
    await writeFile(yaml, 'graph: kv\nresources:\n  kv:\n  - {name: probe, value: mine}\n');
    // GIVEN an agent with its own etcd, limited to 4 MB, whose kv has set its key
    const a = await startHost('a', { yaml, env: { MGMT_ETCD_QUOTA_BACKEND_BYTES: '4000000' } });
    await a.waitForCluster('server-start', undefined, 60_000);
    await a.proc.waitForEvent((e) => e.event === 'apply' && e.resource === 'kv[probe]', 'a to set its kv', 60_000);
    // WHEN another client fills etcd until NOSPACE and deletes the kv's key (deletes are still allowed)
    await fillUntilNoSpace(a.clientUrl);
    expect(await etcdctl(a.clientUrl, 'alarm', 'list')).toMatch(/alarm:NOSPACE/);
    await etcdctl(a.clientUrl, 'del', '/_mgmt/strings/probe');
    // THEN the agent clears the alarm, says so, and its kv sets the key again
    await a.proc.waitForEvent((e) => e.event === 'cluster' && e.action === 'nospace' && /NOSPACE alarm cleared/.test(String(e.message)), 'a to clear NOSPACE', 60_000);
    const nospace = a.clusterEvents().filter((e) => e.action === 'nospace');
    expect(nospace.map((e) => e.level)).toEqual(['warn', 'warn']);
    expect(nospace[0]!.message).toMatch(/etcd refused a write: its NOSPACE alarm is raised/);
    for (let i = 0; (await etcdctl(a.clientUrl, 'get', '--print-value-only', '/_mgmt/strings/probe')).trim() !== 'mine'; i++) {
      expect(i, 'the kv to set its key again').toBeLessThan(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await etcdctl(a.clientUrl, 'alarm', 'list')).trim()).toBe('');
    expect(a.proc.events.filter((e) => e.level === 'error')).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
