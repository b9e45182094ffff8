// The etcd metrics of clustered agents: a host that serves etcd, and one that only follows it.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../helpers/cluster.js';
import { skipEtcdReason } from '../helpers/etcd.js';
import { valueOf, waitForMetrics } from '../helpers/metrics.js';

const METRICS = ['--prometheus', '--prometheus-listen', '127.0.0.1:0'];

describe.skipIf(skipEtcdReason !== undefined)('mgmt run --prometheus in a cluster', () => {
  const { startHost, tempDir } = useCluster();

  it('GIVEN a host that bootstraps etcd and one that joins it with --no-server THEN mgmt_etcd_role says server and client, and each follows one member', async () => {
    const root = await tempDir();
    const yaml = join(root, 'graph.yaml');
    await writeFile(yaml, 'graph: g\nresources:\n  noop:\n  - name: n\n');
    const urlOf = async (host: Awaited<ReturnType<typeof startHost>>): Promise<string> =>
      (await host.proc.waitForEvent((e) => e.event === 'metrics', `${host.name}: the metrics event`)).url as string;

    const h1 = await startHost('h1', { yaml, extraArgs: METRICS });
    const server = await waitForMetrics(await urlOf(h1), (s) => valueOf(s, 'mgmt_etcd_role', { role: 'server' }) === 1 && valueOf(s, 'mgmt_etcd_members') === 1, 'h1 to serve etcd', 60_000);
    expect(valueOf(server, 'mgmt_etcd_role', { role: 'client' })).toBe(0);
    expect(valueOf(server, 'mgmt_etcd_role', { role: 'none' })).toBe(0);

    const h2 = await startHost('h2', { yaml, seeds: [h1.clientUrl], extraArgs: [...METRICS, '--no-server'] });
    const client = await waitForMetrics(await urlOf(h2), (s) => valueOf(s, 'mgmt_etcd_role', { role: 'client' }) === 1 && valueOf(s, 'mgmt_etcd_members') === 1, 'h2 to follow h1', 60_000);
    expect(valueOf(client, 'mgmt_etcd_role', { role: 'server' })).toBe(0);
  });
});
