// Hostile battery, races (issue 10 finding 3, the file kind's part): files deleted, rewritten and
// replaced under a running agent while it checks them. A check that races with the file system
// sees a changed state, not an error, so nothing fails and every file converges.

import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startMgmt } from '../helpers/cli.js';
import { waitForFiles } from '../helpers/exchange.js';
import { mulberry32 } from '../helpers/random.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const COUNT = 1000;
const STORM_MS = 5000;
const CONVERGE_TIMEOUT_MS = 90_000;

const contentOf = (i: number): string => `file ${i}\n`;

describe('hostile: a storm of changes under a running agent (finding 3)', () => {
  it('finding 3: files deleted, rewritten and renamed over while checked never fail the file kind, and every file converges', { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    const out = join(dir, 'out');
    const paths = Array.from({ length: COUNT }, (_, i) => join(out, `f${i}`));
    const yaml = join(dir, 'graph.yaml');
    const lines = ['graph: hostile-races', 'resources:', '  file:'];
    paths.forEach((path, i) => lines.push(`    - name: ${JSON.stringify(path)}`, `      content: ${JSON.stringify(contentOf(i))}`));
    writeFileSync(yaml, lines.join('\n') + '\n');

    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    const applied = (): number => agent.events.filter((e) => e.event === 'apply').length;
    await agent.waitForEvent(() => applied() >= COUNT, 'every file applied', 60_000);

    // The storm: delete, rewrite with junk of the same or another size, rename another file over.
    const random = mulberry32(0x5707);
    const until = Date.now() + STORM_MS;
    let ops = 0;
    while (Date.now() < until) {
      for (let batch = 0; batch < 20; batch++, ops++) {
        const i = Math.floor(random() * COUNT);
        const path = paths[i]!;
        const what = Math.floor(random() * 4);
        if (what === 0) rmSync(path, { force: true });
        else if (what === 1) writeFileSync(path, contentOf(i).replace('file', 'junk'));
        else if (what === 2) writeFileSync(path, 'much longer junk than the content\n');
        else {
          const aside = join(dir, `aside-${ops}`);
          writeFileSync(aside, 'renamed over\n');
          renameSync(aside, path);
        }
      }
      await yieldToEvents(); // let the agent's events in, so its stdout never blocks
    }

    await waitForFiles(out, Object.fromEntries(paths.map((_, i) => [`f${i}`, contentOf(i)])), 'every file to converge', CONVERGE_TIMEOUT_MS);
    expect(ops).toBeGreaterThan(1000);
    const errors = agent.events.filter((e) => e.event === 'error' || e.event === 'retry');
    expect(errors.map((e) => `${e.resource}: ${e.message}`)).toEqual([]);
    agent.child.kill('SIGTERM');
    await agent.exited;
  });
});

