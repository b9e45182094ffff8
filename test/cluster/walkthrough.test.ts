import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createToken, etcdctl, startedCount, useCluster, waitForMembers, type ClusterHost } from '../helpers/cluster.js';
import { skipEtcdReason } from '../helpers/etcd.js';
import { waitFor } from '../helpers/log.js';
import { etcdctlTlsArgs } from '../helpers/tls.js';
import { readCredentials } from '../../src/tls/files.js';

// The seed's clustering walk-through (seeds/000, "Elastic clustering"): h1 bootstraps with
// --ideal-cluster-size 3, h2-h4 join through h1, three become members; idealClusterSize 5 grows it.
// Secure, as the agent is by default (issue 11): each joiner brings a token made on h1, and etcdctl
// takes h1's certificate.
describe.skipIf(skipEtcdReason !== undefined)('the seed\'s clustering walk-through', () => {
  const { startHost, tempDir } = useCluster();

  /** graph writes the etcd1x.yaml shape: export one file into the host's directory, collect every host's. */
  async function graph(root: string, host: string): Promise<string> {
    const dir = join(root, `mgmt${host}`);
    await mkdir(dir, { recursive: true });
    const yaml = join(root, `${host}.yaml`);
    await writeFile(yaml, `graph: mygraph
resources:
  file:
  - name: "@@file${host}"
    path: "${dir}/f${host}"
    content: "i am f${host}, exported from host ${host}\\n"
    state: exists
collect:
- kind: file
  pattern: "${dir}/"
edges: []
`);
    return yaml;
  }

  it('GIVEN h1 with --ideal-cluster-size 3 and h2-h4 with --seeds WHEN they start THEN etcdctl lists three members, and putting idealClusterSize 5 makes h4 the fourth', async () => {
    const root = await tempDir();
    const h1 = await startHost('h1', { secure: true, yaml: await graph(root, 'h1'), extraArgs: ['--ideal-cluster-size', '3'] });
    await h1.waitForCluster('join-service', 'h1');
    const asH1 = etcdctlTlsArgs(h1.prefix);
    const tls = await readCredentials(h1.prefix, 'h1');
    const hosts: ClusterHost[] = [h1];
    for (const name of ['h2', 'h3', 'h4']) {
      hosts.push(await startHost(name, { secure: true, token: await createToken(h1), joinVia: h1, yaml: await graph(root, name), seeds: [h1.clientUrl] }));
    }
    const endpoints = () => hosts.map((h) => h.clientUrl);
    // Which two volunteers join h1 depends on who volunteered first; there are three members.
    const three = await waitForMembers(endpoints, startedCount(3), undefined, tls);
    expect(three).toContain('h1');
    // The seed's check, with the real etcdctl against h1 and h1's certificate.
    const list = await etcdctl(h1.clientUrl, ...asH1, 'member', 'list');
    expect(list.trim().split('\n').map((line) => line.split(', ')[2]).sort()).toEqual(three);
    // Every host holds every host's export, collected into its own directory.
    for (const host of hosts) {
      for (const other of hosts) {
        await waitFor(() => existsSync(join(root, `mgmt${host.name}`, `f${other.name}`)), `${host.name} to collect f${other.name}`, 30_000);
      }
    }

    // As in the seed, through a member other than h1.
    const joined = hosts.find((h) => h.name !== 'h1' && three.includes(h.name))!;
    await etcdctl(joined.clientUrl, ...etcdctlTlsArgs(joined.prefix), 'put', '/_mgmt/idealClusterSize', '5');
    await waitForMembers(endpoints, ['h1', 'h2', 'h3', 'h4'], undefined, tls);
    // Without a certificate etcdctl gets nowhere.
    await expect(etcdctl(h1.clientUrl, '--cacert', join(h1.prefix, 'tls', 'ca.crt'), 'get', '/_mgmt/idealClusterSize')).rejects.toThrow();
    // The leader reported the change and its nominations.
    const leaderEvents = hosts.flatMap((h) => h.clusterEvents());
    expect(leaderEvents.some((e) => e.action === 'ideal-cluster-size' && e.size === 5)).toBe(true);
    expect(leaderEvents.filter((e) => e.action === 'nominate').map((e) => e.host).sort()).toEqual(['h2', 'h3', 'h4']);
  });
});
