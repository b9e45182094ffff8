// startup: `mgmt --version` wall time against `node -e 0`, both spawned with the bench's own node
// (`node bin/mgmt.js`, as before: the `mgmt` command's first line adds the exec of `env`, ~1-7 ms
// on this machine, which is the launcher's cost, not the agent's).

import { MGMT_BIN } from '../lib/paths.js';
import { expectSuccess, runNode } from '../lib/proc.js';
import { makeResult, type Scenario } from '../lib/scenario.js';
import { median, percentile, repeat, round } from '../lib/stats.js';

const TARGET_MS = 150;
const WARMUP = 2;

/** startup measures `mgmt --version` against a bare `node -e 0`; target under 150 ms absolute. */
export const startup: Scenario = {
  name: 'startup',
  doc: '`mgmt --version` vs `node -e 0` (target < 150 ms)',
  async run(ctx) {
    // Warm the page cache for node and the CLI so the first measured run is not an outlier.
    for (let i = 0; i < WARMUP; i++) {
      expectSuccess(await runNode(['-e', '0']), 'node -e 0');
      expectSuccess(await runNode([MGMT_BIN, '--version']), 'mgmt --version');
    }
    const pairs = await repeat({ min: 10, max: 40, budgetMs: 8_000 }, async (i) => {
      // Alternate which one goes first so that neither always runs right after the other.
      const measure = async (which: 'node' | 'mgmt'): Promise<number> =>
        which === 'node'
          ? expectSuccess(await runNode(['-e', '0']), 'node -e 0').ms
          : expectSuccess(await runNode([MGMT_BIN, '--version']), 'mgmt --version').ms;
      const first = i % 2 === 0 ? 'node' : 'mgmt';
      const a = await measure(first);
      const b = await measure(first === 'node' ? 'mgmt' : 'node');
      return first === 'node' ? { node: a, mgmt: b } : { node: b, mgmt: a };
    });
    const mgmt = pairs.map((pair) => pair.mgmt);
    const node = pairs.map((pair) => pair.node);
    const figure = median(mgmt);
    const baseline = median(node);
    ctx.progress(`mgmt --version ${figure.toFixed(1)} ms, node -e 0 ${baseline.toFixed(1)} ms`);
    return makeResult(
      {
        scenario: 'startup',
        figure,
        baseline,
        baselineName: 'node -e 0',
        target: `figure < ${TARGET_MS} ms (absolute)`,
        pass: figure < TARGET_MS,
        runs: pairs.length,
      },
      {
        overheadMs: round(figure - baseline),
        p90: { mgmt: round(percentile(mgmt, 90)), node: round(percentile(node, 90)) },
        command: 'node bin/mgmt.js --version',
      },
    );
  },
};
