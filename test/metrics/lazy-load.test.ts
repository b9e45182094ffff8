// Metrics cost nothing when off: prom-client is inlined in the bundle, but in modules the bundle
// initialises only when first required, and only the module the agent imports with --prometheus
// requires it. V8's own coverage of a real run (NODE_V8_COVERAGE) says which of them ran.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

interface ScriptCoverage {
  readonly url: string;
  readonly functions: ReadonlyArray<{ readonly functionName: string; readonly ranges: ReadonlyArray<{ readonly count: number }> }>;
}

/** promClientCalls runs a one-shot graph with `flags` and counts the calls of each of the bundle's prom-client module wrappers. */
async function promClientCalls(flags: readonly string[]): Promise<Map<string, number>> {
  const dir = await tempDir();
  const yaml = join(dir, 'graph.yaml');
  await writeFile(yaml, `graph: g\nresources:\n  file:\n  - name: f\n    path: "${join(dir, 'out')}"\n    content: "hello\\n"\n`);
  const coverage = join(dir, 'coverage');
  const result = await runMgmt(['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', ...flags], { env: { NODE_V8_COVERAGE: coverage } });
  expect(result.code, result.stderr).toBe(0);
  const calls = new Map<string, number>();
  for (const file of await readdir(coverage)) {
    const { result: scripts } = JSON.parse(await readFile(join(coverage, file), 'utf8')) as { result: ScriptCoverage[] };
    for (const script of scripts.filter((s) => s.url.endsWith('/dist/bundle/mgmt.cjs'))) {
      // esbuild names each inlined CommonJS module's wrapper by its path.
      for (const fn of script.functions) if (/node_modules\/prom-client\//.test(fn.functionName)) calls.set(fn.functionName, fn.ranges[0]!.count);
    }
  }
  return calls;
}

describe('prom-client', () => {
  it('GIVEN a run without --prometheus THEN none of prom-client\'s modules runs; GIVEN one with it THEN they do', async () => {
    const off = await promClientCalls([]);
    // The bundle holds it (the probe sees its modules), and none of them ran.
    const index = [...off.keys()].find((name) => name.endsWith('node_modules/prom-client/index.js'));
    expect(index).toBeDefined();
    expect([...off].filter(([, count]) => count > 0)).toEqual([]);
    const on = await promClientCalls(['--prometheus', '--prometheus-listen', '127.0.0.1:0']);
    expect(on.get(index!)).toBe(1);
  });
});
