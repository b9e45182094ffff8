// Metrics cost nothing when off: a run without --prometheus never loads prom-client (the bundle
// leaves it external and requires it only from the module the agent imports with the flag).

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const PROBE = fileURLToPath(new URL('../fixtures/scripts/loaded-modules.cjs', import.meta.url));

/** loadedPackages runs a one-shot graph with `flags` and lists the npm packages' files the agent loaded. */
async function loadedPackages(flags: readonly string[]): Promise<string[]> {
  const dir = await tempDir();
  const yaml = join(dir, 'graph.yaml');
  await writeFile(yaml, `graph: g\nresources:\n  file:\n  - name: f\n    path: "${join(dir, 'out')}"\n    content: "hello\\n"\n`);
  const list = join(dir, 'loaded');
  const result = await runMgmt(['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', ...flags], {
    env: { NODE_OPTIONS: `--require ${PROBE}`, MGMT_LOADED_MODULES: list },
  });
  expect(result.code, result.stderr).toBe(0);
  return (await readFile(list, 'utf8')).split('\n').filter(Boolean);
}

describe('prom-client', () => {
  it('GIVEN a run without --prometheus THEN prom-client is never loaded; GIVEN one with it THEN it is (the probe sees it)', async () => {
    const off = await loadedPackages([]);
    expect(off.filter((file) => file.includes('/prom-client/'))).toEqual([]);
    const on = await loadedPackages(['--prometheus', '--prometheus-listen', '127.0.0.1:0']);
    expect(on.filter((file) => file.includes('/node_modules/prom-client/')).length).toBeGreaterThan(0);
  });
});
