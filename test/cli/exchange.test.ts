import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

function hostGraph(root: string, host: string): string {
  const dir = join(root, host);
  return `graph: ${host}
resources:
  file:
  - {name: "f1${host}", path: "${dir}/f1${host}", content: "i am f1 of ${host}"}
  - {name: "@@f3${host}", path: "${dir}/f3${host}", content: "i am f3, exported from ${host}"}
collect:
- {kind: file, pattern: "${dir}/"}
`;
}

describe('exported and collected resources on the local World', () => {
  it('GIVEN two agents sharing a prefix WHEN each exports a file and collects into its own directory THEN each holds both exports', async () => {
    const root = await tempDir();
    const prefix = join(root, 'prefix');
    const run = async (host: string) => {
      const yaml = join(root, `${host}.yaml`);
      await writeFile(yaml, hostGraph(root, host));
      return startMgmt(['run', '--yaml', yaml, '--hostname', host, '--prefix', prefix, '--log-format', 'json']);
    };
    const a = await run('a');
    await waitFor(() => existsSync(join(root, 'a', 'f3a')), 'host a to collect its own export');
    const b = await run('b');
    for (const [host, other] of [['a', 'b'], ['b', 'a']]) {
      await waitFor(() => existsSync(join(root, host, `f3${other}`)), `host ${host} to collect f3${other}`);
      expect(readFileSync(join(root, host, `f3${other}`), 'utf8')).toBe(`i am f3, exported from ${other}`);
      // the other host's unexported file is not collected
      expect(existsSync(join(root, host, `f1${other}`))).toBe(false);
    }
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);
    expect(a.events.some((e) => e.event === 'export' && e.count === 1)).toBe(true);
  });
});
