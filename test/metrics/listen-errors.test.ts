// A metrics server that cannot listen fails the run at once, with one line naming the flag, and
// nothing of the graph applied.

import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

/** oneFile writes a graph of one file resource and returns the graph and the file it would make. */
async function oneFile(): Promise<{ yaml: string; out: string }> {
  const dir = await tempDir();
  const yaml = join(dir, 'graph.yaml');
  const out = join(dir, 'out');
  await writeFile(yaml, `graph: g\nresources:\n  file:\n  - name: f\n    path: "${out}"\n    content: "hello\\n"\n`);
  return { yaml, out };
}

const RUN_ONCE = ['--converged-timeout=0', '--tmp-prefix', '--no-watch'];

describe('mgmt run --prometheus-listen', () => {
  it('GIVEN a port another process listens on THEN the run fails with one line (exit 1) and applies nothing', async () => {
    const { yaml, out } = await oneFile();
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as { port: number };
    try {
      const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE, '--prometheus', '--prometheus-listen', `127.0.0.1:${port}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`mgmt run: --prometheus-listen 127.0.0.1:${port}: address already in use\n`);
      expect(existsSync(out)).toBe(false);
    } finally {
      taken.close();
    }
  });

  it.each([
    [['--prometheus', '--prometheus-listen', '9233'], '--prometheus-listen "9233": not host:port'],
    [['--prometheus', '--prometheus-listen', '::1:9233'], 'an IPv6 address needs brackets'],
    [['--prometheus', '--prometheus-listen', '127.0.0.1:99999'], 'port 99999 is above 65535'],
    [['--prometheus-listen', '127.0.0.1:9233'], '--prometheus-listen needs --prometheus'],
  ])('GIVEN %j THEN a usage error of one line (exit 2), nothing applied', async (flags, message) => {
    const { yaml, out } = await oneFile();
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE, ...flags]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });
});
