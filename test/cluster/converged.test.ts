import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { useCluster } from '../helpers/cluster.js';
import { skipEtcdReason } from '../helpers/etcd.js';

// --converged-timeout with a cluster: the state goes to /_mgmt/converged/$host (on the host's
// lease), and a one-shot run that exports waits for its own etcd before it counts as converged.
describe.skipIf(skipEtcdReason !== undefined)('converged state in the cluster', () => {
  const { startHost, tempDir } = useCluster();

  async function yaml(root: string, name: string, body: string): Promise<string> {
    const file = join(root, `${name}.yaml`);
    await writeFile(file, `graph: ${name}\nresources:\n${body}`);
    return file;
  }

  it('GIVEN a joined host with --converged-timeout 1 WHEN it converges THEN /_mgmt/converged/$host is put to true before it exits 0, and its lease takes the key away', async () => {
    const root = await tempDir();
    const h1 = await startHost('h1', { yaml: await yaml(root, 'h1', '  noop:\n  - name: n\n') });
    await h1.waitForCluster('server-start');
    const client = new Etcd3({ hosts: [h1.clientUrl] });
    try {
      const seen: string[] = [];
      const watcher = await client.watch().key('/_mgmt/converged/h2').create();
      watcher.on('put', (kv) => seen.push(`put ${kv.value.toString()}`));
      watcher.on('delete', () => seen.push('delete'));
      const h2 = await startHost('h2', {
        yaml: await yaml(root, 'h2', `  file:\n  - name: f\n    path: "${join(root, 'f')}"\n    content: x\n`),
        seeds: [h1.clientUrl],
        extraArgs: ['--converged-timeout', '1', '--no-server'],
      });
      const result = await h2.proc.exited;
      expect(result.code).toBe(0);
      await expect.poll(() => seen, { timeout: 10_000 }).toEqual(['put true', 'delete']);
      await watcher.cancel();
      expect(await client.get('/_mgmt/converged/h2').string()).toBeNull();
    } finally {
      client.close();
    }
  });

  it('GIVEN a bootstrapping host that exports WHEN run with --converged-timeout=0 THEN the export is written to its own etcd before it reports converged and exits 0', async () => {
    const root = await tempDir();
    const h1 = await startHost('h1', {
      yaml: await yaml(root, 'h1', `  file:\n  - name: "@@shared"\n    path: "${join(root, 'shared')}"\n    content: x\n`),
      extraArgs: ['--converged-timeout', '0'],
    });
    const result = await h1.proc.exited;
    expect(result.code).toBe(0);
    const names = result.events.map((e) => (e.event === 'cluster' ? `cluster:${String(e.action)}` : e.event));
    expect(names).toContain('export');
    expect(names.indexOf('cluster:server-start')).toBeLessThan(names.indexOf('converged'));
    expect(names.indexOf('export')).toBeLessThan(names.indexOf('converged'));
    expect(result.events.filter((e) => e.level === 'error')).toEqual([]);
  });
});
