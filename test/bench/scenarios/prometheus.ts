// files-10000-prometheus: what --prometheus costs. files-10000's first converge and re-check, run
// with --prometheus (on a free port) and without, alternately, each side first in turn; the
// figure is the median with it, the baseline the median without. Target (issue 14): under 5%
// more, for both; the user CPU times, less disturbed by other load, have their own lines. Without the flag the agent never loads prom-client (test/metrics/lazy-load.test.ts).

import { join } from 'node:path';
import { agentDetails, type AgentRun } from '../lib/agent-run.js';
import { interleaved } from '../lib/interleave.js';
import { emptyDir, makeManifest, writeGraphAndManifest } from '../lib/manifest.js';
import { makeResult, makeSubResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js';
import { median, type RepeatPolicy, repeat } from '../lib/stats.js';
import { firstAndRecheck, type AgentPair } from './files.js';

const COUNT = 10_000;
const TARGET = 1.05;
const RUN_TIMEOUT_MS = 240_000;
const PROMETHEUS = ['--prometheus', '--prometheus-listen', '127.0.0.1:0'];
// More runs than files-10000: a 5% difference is within one run's noise on a shared machine.
const POLICY: RepeatPolicy = { min: 7, max: 15, budgetMs: 240_000 };

/** files10000Prometheus is the on/off comparison of --prometheus at 10,000 files. */
export const files10000Prometheus: Scenario = {
  name: 'files-10000-prometheus',
  doc: `${COUNT} file resources with --prometheus vs without: first converge and re-check (target ratios < ${TARGET})`,
  run: runPrometheus,
};

async function runPrometheus(ctx: ScenarioContext): Promise<ScenarioResult> {
  const name = files10000Prometheus.name;
  const manifest = makeManifest(join(ctx.tmp, 'files'), COUNT);
  const { yaml } = await writeGraphAndManifest(join(ctx.tmp, name), `bench-${name}`, manifest);
  const options = (flags: readonly string[]) => ({ tmp: ctx.tmp, flags: ['--no-watch', ...flags], timeoutMs: RUN_TIMEOUT_MS, sync: true });
  const runs = await repeat(POLICY, async (i): Promise<{ on: AgentPair; off: AgentPair }> => {
    const [on, off] = await interleaved(
      i,
      () => firstAndRecheck(manifest, yaml, `${name}, on`, options(PROMETHEUS)),
      () => firstAndRecheck(manifest, yaml, `${name}, off`, options([])),
    );
    ctx.progress(
      `run ${i + 1}: first converge on ${on.mgmtFirst.ms.toFixed(0)} ms / off ${off.mgmtFirst.ms.toFixed(0)} ms; ` +
        `re-check on ${on.mgmtCheck.ms.toFixed(0)} ms / off ${off.mgmtCheck.ms.toFixed(0)} ms; ` +
        `user CPU first ${on.mgmtFirst.userMs} / ${off.mgmtFirst.userMs} ms, re-check ${on.mgmtCheck.userMs} / ${off.mgmtCheck.userMs} ms`,
    );
    return { on, off };
  });
  await emptyDir(manifest);

  const firstOn = median(runs.map((run) => run.on.mgmtFirst.ms));
  const firstOff = median(runs.map((run) => run.off.mgmtFirst.ms));
  const checkOn = median(runs.map((run) => run.on.mgmtCheck.ms));
  const checkOff = median(runs.map((run) => run.off.mgmtCheck.ms));
  // User CPU time, which other load on the machine disturbs less than the wall time: each its own line.
  const cpu = (pick: (pair: AgentPair) => AgentRun, what: string) => {
    const on = median(runs.map((run) => pick(run.on).userMs ?? NaN));
    const off = median(runs.map((run) => pick(run.off).userMs ?? NaN));
    return makeSubResult({ figure: on, baseline: off, baselineName: `mgmt ${what} user CPU time without --prometheus`, target: `ratio < ${TARGET}`, pass: on / off < TARGET });
  };
  const recheck = makeSubResult(
    { figure: checkOn, baseline: checkOff, baselineName: 'mgmt re-check without --prometheus', target: `ratio < ${TARGET}`, pass: checkOn / checkOff < TARGET },
    { on: agentDetails(runs.map((run) => run.on.mgmtCheck)), off: agentDetails(runs.map((run) => run.off.mgmtCheck)) },
  );
  return makeResult(
    {
      scenario: name,
      figure: firstOn,
      baseline: firstOff,
      baselineName: 'mgmt first converge without --prometheus',
      target: `ratio < ${TARGET} (re-check: its own line)`,
      pass: firstOn / firstOff < TARGET && recheck.pass,
      runs: runs.length,
    },
    {
      files: COUNT,
      on: agentDetails(runs.map((run) => run.on.mgmtFirst)),
      off: agentDetails(runs.map((run) => run.off.mgmtFirst)),
      recheck,
      firstUserCpu: cpu((pair) => pair.mgmtFirst, 'first converge'),
      recheckUserCpu: cpu((pair) => pair.mgmtCheck, 're-check'),
    },
  );
}
