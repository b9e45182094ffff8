// swap-10000: a running 10,000-file graph swapped for one where a single resource changed; the
// other 9,999 must keep running untouched. Published figure: mgmt 1.1.0's GraphSync of a
// 10,000-node graph, 16 ms.

import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import { Engine } from '../../../src/engine/engine.js';
import { compileGraph } from '../../../src/graph/compile.js';
import type { EventLog } from '../../../src/log/events.js';
import { defaultRegistry } from '../../../src/resources/index.js';
import { createFsWatcher } from '../../../src/watchers/fs.js';
import { parseGraph } from '../../../src/yamlgraph/parse.js';
import { makeResult, type Scenario } from '../lib/scenario.js';
import { median, percentile, round } from '../lib/stats.js';

const COUNT = 10_000;
const SWAPS = 15;
const PUBLISHED_MS = 16;

// The engine's own events are not what is measured here.
const silentLog: EventLog = {
  emit: () => undefined,
  forResource: () => ({ debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }),
  flush: async () => undefined,
};

function graphYaml(dir: string, changed: number, version: number): string {
  const lines = ['graph: swap', 'resources:', '  file:'];
  for (let i = 0; i < COUNT; i++) {
    lines.push(`  - name: f${i}`, `    path: ${join(dir, `f${i}`)}`, `    content: "file ${i} v${i === changed ? version : 0}"`);
  }
  return lines.join('\n') + '\n';
}

/** swap10000 times graph swaps of a running 10,000-vertex graph with one changed vertex. */
export const swap10000: Scenario = {
  name: 'swap-10000',
  doc: `swap a running ${COUNT}-file graph with one change (vs mgmt 1.1.0's published ${PUBLISHED_MS} ms)`,
  async run(ctx) {
    const dir = join(ctx.tmp, 'files');
    const watcher = createFsWatcher();
    const engine = new Engine({ log: silentLog, hostname: 'bench', prefix: join(ctx.tmp, 'prefix'), watcher });
    const compile = (changed: number, version: number) =>
      compileGraph(parseGraph(graphYaml(dir, changed, version), 'swap.yaml', defaultRegistry), defaultRegistry);
    const idle = () => firstValueFrom(engine.idle$.pipe(filter(Boolean)));
    try {
      await engine.swap(compile(-1, 0));
      await idle();
      const times: number[] = [];
      for (let i = 1; i <= SWAPS; i++) {
        const next = compile(0, i); // compiled before the clock starts: only the swap is timed
        const stats = await engine.swap(next);
        if (stats.kept !== COUNT - 1 || stats.added !== 1 || stats.removed !== 1) {
          throw new Error(`swap ${i} kept ${stats.kept}, added ${stats.added}, removed ${stats.removed}: expected ${COUNT - 1}, 1, 1`);
        }
        times.push(stats.ms);
        await idle();
      }
      const figure = median(times);
      ctx.progress(`swap of ${COUNT} vertices, one changed: median ${figure.toFixed(1)} ms`);
      return makeResult(
        {
          scenario: 'swap-10000',
          figure,
          baseline: PUBLISHED_MS,
          baselineName: 'mgmt 1.1.0 published',
          target: 'beat mgmt 1.1.0 (ratio < 1)',
          pass: figure < PUBLISHED_MS,
          runs: times.length,
        },
        { p90: round(percentile(times, 90)), first: round(times[0]!), kept: COUNT - 1 },
      );
    } finally {
      await engine.stop();
      watcher.close();
    }
  },
};
