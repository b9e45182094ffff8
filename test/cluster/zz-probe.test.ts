import { describe, expect, it } from 'vitest';
import { etcdctl, useCluster } from '../helpers/cluster.js';
import { exchangeDir, listFiles, seedFiles, writeExchangeGraph } from '../helpers/exchange.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('probe', () => {
  const { startHost, tempDir } = useCluster();
  it('collisions', async () => {
    const root = await tempDir();
    const a = await startHost('a', { yaml: await writeExchangeGraph(root, 'a', seedFiles('a')) });
    await a.waitForCluster('server-start', undefined, 60_000);
    const b = await startHost('b', { yaml: await writeExchangeGraph(root, 'b', seedFiles('b')), seeds: [a.clientUrl] });
    await new Promise((r) => setTimeout(r, 3000));
    const mode = process.env.PROBE;
    if (mode === '1') await etcdctl(a.clientUrl, 'put', '/_mgmt/exported/evil/resources/file/f1a', JSON.stringify({ path: '/x/f1a', content: 'evil f1a\n' }));
    if (mode === '2') await etcdctl(a.clientUrl, 'put', '/_mgmt/exported/evil/resources/file/zzz', JSON.stringify({ path: '/x/f1a', content: 'evil zzz\n' }));
    if (mode === '3') await etcdctl(a.clientUrl, 'put', '/_mgmt/exported/evil/resources/file/f3b', JSON.stringify({ path: '/x/f3b', content: 'evil f3b\n' }));
    if (mode === '4') await etcdctl(a.clientUrl, 'put', '/_mgmt/exported/evil/resources/file/zzz', JSON.stringify({ path: '/x/f1a', state: 'absent' }));
    await new Promise((r) => setTimeout(r, 3000));
    const c = await startHost('c', { yaml: await writeExchangeGraph(root, 'c', seedFiles('c')), seeds: [a.clientUrl] });
    await new Promise((r) => setTimeout(r, 4000));
    for (const h of [a, b, c]) {
      console.log('---', h.name, h.proc.child.exitCode, listFiles(exchangeDir(root, h.name)).map((f) => `${f}=${JSON.stringify(readFileSync(join(exchangeDir(root, h.name), f), 'utf8'))}`).join(' '));
      console.log(h.proc.events.filter((e) => e.event !== 'cluster' && e.event !== 'check' && e.event !== 'watch').map((e) => JSON.stringify(e)).slice(-25).join('\n'));
      console.log(h.proc.stderr().slice(-1500));
    }
    expect(1).toBe(1);
  }, 120_000);
});
