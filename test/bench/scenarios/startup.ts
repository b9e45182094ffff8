// startup: `mgmt --version` wall time against `node -e 0`, both spawned with the bench's own node
// (`node bin/mgmt.js`, as before: the `mgmt` command's first line adds the exec of `env`, ~1-7 ms
// on this machine, which is the launcher's cost, not the agent's). Alongside, the fixed cost of a
// one-shot run: `mgmt run --converged-timeout=0` of a one-file graph that is already right (the
// bundle, the World, the event log, one check, the exit), over the same `node -e 0`.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MGMT_BIN } from '../lib/paths.js';
import { expectSuccess, runNode } from '../lib/proc.js';
import { makeResult, type Scenario } from '../lib/scenario.js';
import { median, percentile, repeat, round } from '../lib/stats.js';

const TARGET_MS = 150;
const WARMUP = 2;

type Measured = 'node' | 'mgmt' | 'run';

/** startup measures `mgmt --version` against a bare `node -e 0`; target under 150 ms absolute. */
export const startup: Scenario = {
  name: 'startup',
  doc: '`mgmt --version` vs `node -e 0` (target < 150 ms), and a one-shot run of one file',
  async run(ctx) {
    const file = join(ctx.tmp, 'file');
    const yaml = join(ctx.tmp, 'one.yaml');
    await writeFile(file, 'one\n');
    await writeFile(yaml, `graph: one\nresources:\n  file:\n  - name: one\n    path: "${file}"\n    content: "one\\n"\n`);
    const commands: Record<Measured, readonly string[]> = {
      node: ['-e', '0'],
      mgmt: [MGMT_BIN, '--version'],
      // As an operator runs it once (no --no-server: finding no etcd to start is part of it).
      run: [MGMT_BIN, 'run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'],
    };
    const measure = async (which: Measured): Promise<number> => expectSuccess(await runNode(commands[which], { env: { TMPDIR: ctx.tmp } }), commands[which].join(' ')).ms;
    // Warm the page cache for node and the CLI so the first measured run is not an outlier.
    for (let i = 0; i < WARMUP; i++) for (const which of ['node', 'mgmt', 'run'] as const) await measure(which);
    const order: readonly Measured[] = ['node', 'mgmt', 'run'];
    const rounds = await repeat({ min: 10, max: 40, budgetMs: 12_000 }, async (i) => {
      // Rotate which one goes first so that none always runs right after another.
      const times: Partial<Record<Measured, number>> = {};
      for (let k = 0; k < order.length; k++) {
        const which = order[(i + k) % order.length]!;
        times[which] = await measure(which);
      }
      return times as Record<Measured, number>;
    });
    const mgmt = rounds.map((times) => times.mgmt);
    const node = rounds.map((times) => times.node);
    const run = rounds.map((times) => times.run);
    const figure = median(mgmt);
    const baseline = median(node);
    ctx.progress(`mgmt --version ${figure.toFixed(1)} ms, node -e 0 ${baseline.toFixed(1)} ms, one-shot run of one file ${median(run).toFixed(1)} ms`);
    return makeResult(
      {
        scenario: 'startup',
        figure,
        baseline,
        baselineName: 'node -e 0',
        target: `figure < ${TARGET_MS} ms (absolute)`,
        pass: figure < TARGET_MS,
        runs: rounds.length,
      },
      {
        overheadMs: round(figure - baseline),
        p90: { mgmt: round(percentile(mgmt, 90)), node: round(percentile(node, 90)) },
        command: 'node bin/mgmt.js --version',
        // Not a target: what a one-shot run costs before and after its one check.
        oneShotRun: { ms: round(median(run)), overNodeMs: round(median(run) - baseline), p90: round(percentile(run, 90)), command: 'node bin/mgmt.js run --yaml ONE_FILE.yaml --converged-timeout=0 --tmp-prefix --no-watch' },
      },
    );
  },
};
