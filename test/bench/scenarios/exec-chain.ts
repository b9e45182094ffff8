// exec-chain: four `sleep 1` execs, three chained (examples/parallel-chain.yaml at 1 s), run to
// convergence, against the 3 s critical path run as one `sleep 3` process spawned the same way.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEvents, runPhases, type RunPhases } from '../lib/events.js';
import { expectSuccess, runMgmt, timedRun } from '../lib/proc.js';
import { makeResult, type Scenario } from '../lib/scenario.js';
import { median, medianOf, repeat } from '../lib/stats.js';

const TARGET_RATIO = 1.1;
const STEP_S = 1;
const CHAIN = 3;

/** chainYaml is the graph: exec1 -> exec2 -> exec3 chained, exec4 independent, each `sleep 1`. */
export function chainYaml(): string {
  const execs = [1, 2, 3, 4].map((i) => `  - name: exec${i}\n    cmd: sleep ${STEP_S}`);
  const edges = [1, 2].map(
    (i) => `- name: e${i}\n  from: {kind: exec, name: exec${i}}\n  to: {kind: exec, name: exec${i + 1}}`,
  );
  return ['graph: bench-exec-chain', 'resources:', '  exec:', ...execs, 'edges:', ...edges].join('\n') + '\n';
}

/** execChain measures the chained-exec graph against its critical path; target ratio <= 1.10. */
export const execChain: Scenario = {
  name: 'exec-chain',
  doc: 'four `sleep 1` execs, three chained, vs one `sleep 3` (target ratio <= 1.10)',
  async run(ctx) {
    const yaml = join(ctx.tmp, 'exec-chain.yaml');
    await writeFile(yaml, chainYaml());
    const args = ['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];
    const env = { TMPDIR: ctx.tmp };

    const runs = await repeat({ min: 3, max: 6, budgetMs: 40_000 }, async (i) => {
      const agent = async (): Promise<{ ms: number; phases: RunPhases; applies: number }> => {
        const run = expectSuccess(await runMgmt(args, { env, timeoutMs: 60_000 }), 'mgmt run (exec-chain)');
        const events = parseEvents(run.stdout);
        return { ms: run.ms, phases: runPhases(events, run.spawnedAt, run.exitedAt), applies: events.filter((e) => e.event === 'apply').length };
      };
      const floor = async (): Promise<number> =>
        expectSuccess(await timedRun('sleep', [String(STEP_S * CHAIN)], { timeoutMs: 60_000 }), 'sleep').ms;
      let mgmt: Awaited<ReturnType<typeof agent>>;
      let sleep: number;
      if (i % 2 === 0) {
        mgmt = await agent();
        sleep = await floor();
      } else {
        sleep = await floor();
        mgmt = await agent();
      }
      if (mgmt.applies !== 4) throw new Error(`mgmt run (exec-chain) applied ${mgmt.applies} execs, expected 4`);
      ctx.progress(`run ${i + 1}: mgmt ${mgmt.ms.toFixed(0)} ms, sleep ${sleep.toFixed(0)} ms`);
      return { mgmt, sleep };
    });

    const figure = median(runs.map((run) => run.mgmt.ms));
    const baseline = median(runs.map((run) => run.sleep));
    return makeResult(
      {
        scenario: 'exec-chain',
        figure,
        baseline,
        baselineName: `sleep ${STEP_S * CHAIN} (critical path, spawned)`,
        target: `ratio <= ${TARGET_RATIO.toFixed(2)}`,
        pass: figure / baseline <= TARGET_RATIO,
        runs: runs.length,
      },
      {
        overheadMs: Math.round(figure - baseline),
        // Where the agent's time goes, from its own event timestamps (medians, ms).
        phasesMs: {
          boot: medianOf(runs, (run) => run.mgmt.phases.boot),
          swap: medianOf(runs, (run) => run.mgmt.phases.swap),
          work: medianOf(runs, (run) => run.mgmt.phases.work),
          exit: medianOf(runs, (run) => run.mgmt.phases.exit),
        },
      },
    );
  },
};
