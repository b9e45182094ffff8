// Metrics cost nothing when off: prom-client is inlined in the bundle, but in modules the bundle
// initialises only when first required, and only the metrics module requires it, for the first
// scrape. V8's own coverage of a real run (NODE_V8_COVERAGE) says which of them ran.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMgmt, startMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

interface ScriptCoverage {
  readonly url: string;
  readonly functions: ReadonlyArray<{ readonly functionName: string; readonly ranges: ReadonlyArray<{ readonly count: number }> }>;
}

/**
 * promClientCalls runs a graph with `flags` (one-shot, or scraped once and stopped) and counts the
 * calls of each of the bundle's prom-client module wrappers.
 */
async function promClientCalls(flags: readonly string[], scrape = false): Promise<Map<string, number>> {
  const dir = await tempDir();
  const yaml = join(dir, 'graph.yaml');
  await writeFile(yaml, `graph: g\nresources:\n  file:\n  - name: f\n    path: "${join(dir, 'out')}"\n    content: "hello\\n"\n`);
  const coverage = join(dir, 'coverage');
  const env = { NODE_V8_COVERAGE: coverage };
  const args = ['run', '--yaml', yaml, '--tmp-prefix', '--no-watch', ...flags];
  if (scrape) {
    const proc = startMgmt([...args, '--log-format', 'json'], { env });
    const { url } = await proc.waitForEvent((e) => e.event === 'metrics', 'the metrics event');
    expect((await fetch(url as string)).status).toBe(200);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  } else {
    const result = await runMgmt([...args, '--converged-timeout=0'], { env });
    expect(result.code, result.stderr).toBe(0);
  }
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
  it('GIVEN a run without --prometheus, or one with it that nobody scrapes THEN none of prom-client\'s modules runs; GIVEN a scrape THEN they do', async () => {
    const metrics = ['--prometheus', '--prometheus-listen', '127.0.0.1:0'];
    const off = await promClientCalls([]);
    // The bundle holds it (the probe sees its modules), and none of them ran.
    const index = [...off.keys()].find((name) => name.endsWith('node_modules/prom-client/index.js'));
    expect(index).toBeDefined();
    expect([...off].filter(([, count]) => count > 0)).toEqual([]);
    const unscraped = await promClientCalls(metrics);
    expect([...unscraped].filter(([, count]) => count > 0)).toEqual([]);
    const scraped = await promClientCalls(metrics, true);
    expect(scraped.get(index!)).toBe(1);
  });
});
