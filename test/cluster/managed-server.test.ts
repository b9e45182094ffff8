import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { etcdctl, useCluster } from '../helpers/cluster.js';
import { skipEtcdReason } from '../helpers/etcd.js';

// The agent's own etcd (issue 4, item 2): supervised, restarted when it dies, and the World goes on.
describe.skipIf(skipEtcdReason !== undefined)('the managed etcd server', () => {
  const { startHost, tempDir } = useCluster();

  it('GIVEN an agent serving its own etcd WHEN etcd is SIGKILLed THEN the crash and the restart are logged and a kv written afterwards reaches etcd', async () => {
    const root = await tempDir();
    const yaml = join(root, 'g.yaml');
    await writeFile(yaml, 'graph: g\nresources:\n  noop:\n  - name: n\n');
    const h1 = await startHost('h1', { yaml });
    const started = await h1.waitForCluster('server-start');
    expect(typeof started.pid).toBe('number');

    process.kill(started.pid as number, 'SIGKILL');
    const crash = await h1.waitForCluster('server-crash');
    expect(crash.level).toBe('error');
    const restart = await h1.waitForCluster('server-restart');
    expect(restart.pid).not.toBe(started.pid);

    // The agent's World works again: a kv resource added to the graph lands in etcd.
    await writeFile(yaml, 'graph: g\nresources:\n  kv:\n  - name: k\n    key: after-crash\n    value: still here\n');
    await h1.proc.waitForEvent((e) => e.event === 'apply' && e.resource === 'kv[k]', 'kv[k] to be applied', 30_000);
    expect((await etcdctl(h1.clientUrl, 'get', '--print-value-only', '/_mgmt/strings/after-crash')).trim()).toBe('still here');
    expect(h1.proc.child.exitCode).toBeNull();
  });
});
