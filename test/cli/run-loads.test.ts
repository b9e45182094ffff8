// What a plain one-shot `mgmt run` reads and loads: the bundle is ASCII (node makes a one-byte
// string of it, faster to read and compile), the packages only a cluster needs are not in it, and
// none of them is loaded by a run that uses no cluster, even with an etcd binary at hand.

import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MGMT_BIN, REPO_ROOT, runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'mgmt.cjs');
// Loaded only by hosts that use etcd (clients, certificates, retries) or D-Bus (pkg, svc).
const CLUSTER_PACKAGES = ['etcd3', 'dbus-next', '@peculiar/x509', 'reflect-metadata', 'cockatiel', '@parcel/watcher'];
const tempDir = useTempDirs();

describe('a plain mgmt run', () => {
  it('GIVEN the build THEN the bundle is ASCII and requires the cluster packages instead of holding them', async () => {
    const source = await readFile(BUNDLE);
    expect(source.findIndex((byte) => byte > 0x7f)).toBe(-1);
    const text = source.toString('latin1');
    for (const name of CLUSTER_PACKAGES.filter((name) => name !== '@parcel/watcher')) expect(text, name).toContain(`require("${name}")`);
    expect(text).not.toContain('node_modules/@peculiar/x509/');
  });

  it('GIVEN an etcd binary WHEN a 200-file graph runs once to convergence THEN no package is loaded from node_modules and no etcd is started', async () => {
    const dir = await tempDir();
    // A stand-in etcd that only says it was started (a one-shot run must never start one).
    const bin = join(dir, 'bin');
    const started = join(dir, 'etcd-started');
    await mkdir(bin);
    await writeFile(join(bin, 'etcd'), `#!/bin/sh\necho started >> ${started}\nexec sleep 5\n`);
    await chmod(join(bin, 'etcd'), 0o755);
    // Test-only: the modules node loaded, written as the process exits.
    const preload = join(dir, 'loaded.cjs');
    const loaded = join(dir, 'loaded.txt');
    await writeFile(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, Object.keys(require.cache).join('\\n')));\n`);
    const files = Array.from({ length: 200 }, (_, i) => `  - name: f${i}\n    path: "${join(dir, `f${i}`)}"\n    content: "file ${i}\\n"\n`);
    const yaml = join(dir, 'graph.yaml');
    await writeFile(yaml, `graph: plain\nresources:\n  file:\n${files.join('')}`);

    const result = await runMgmt(['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json', '--etcd-binary', join(bin, 'etcd')], {
      env: { NODE_OPTIONS: `--require ${preload}`, TMPDIR: dir },
    });

    expect(result.code, result.stderr).toBe(0);
    expect(result.events.filter((event) => event.event === 'apply')).toHaveLength(200);
    const modules = (await readFile(loaded, 'utf8')).split('\n');
    expect(modules).toContain(MGMT_BIN);
    expect(modules.filter((path) => path.includes('/node_modules/'))).toEqual([]);
    await expect(readFile(started, 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
