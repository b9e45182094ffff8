// Growth scenarios (issue 13's shapes that must not go quadratic): each shape of noops as one
// `mgmt run --converged-timeout=0 --tmp-prefix` at 1,000 and at 10,000 resources, the sizes
// interleaved; the figure is the agent's own work at 10,000 (compile stages + `start` to
// `converged`, from its event log: node's start and module loading left out), the baseline the
// same at 1,000, and the ratio the growth: target <= 12 (10x the resources, at most ~12x the
// time). Wall times are details; the JSON event log's size is a second line with the same bound.
// Plus chain-100000: a 100,000-noop chain converges in <= 10 s wall.
// chain, fan-out and fan-in run with --no-autogroup: noops group with each other, so fan-out's
// children (fan-in's parents) would become one vertex and the engine would never see the shape;
// refresh-only-print keeps autogroup on, as its quadratic case was in autogroup.
//
// By hand before these were written (wall; work as above; 2 shared cores at load ~8):
//   chain               1,000: 0.71 s, work 342 ms   10,000: 2.13 s, work 1,647 ms   growth 4.8
//   fan-out             1,000: 0.51 s, work 283 ms   10,000: 2.24 s, work 1,723 ms   growth 6.1
//   fan-in              1,000: 1.13 s, work 906 ms   10,000: 11.7 s, work 11,136 ms  growth 12.3;
//                       its engine part (`graph` to `converged`) is quadratic: 2,500: 1.06 s,
//                       5,000: 2.3 s, 10,000: 9.6 s, 20,000: 53.4 s
//   refresh-only-print  1,000: 0.96 s, work 646 ms   10,000: 3.79 s, work 2,684 ms   growth 4.2
//   chain-100000        29.5 s wall, 921 MB peak RSS: parse 1.2 s, swap 4.2 s, `graph` to
//                       `converged` 19.7 s (target 10 s)

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentDetails, runAgent, type AgentRun } from '../lib/agent-run.js';
import { growthOf } from '../lib/growth.js';
import { interleaved } from '../lib/interleave.js';
import { makeResult, makeSubResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js';
import { SHAPES, shapeGraph, type Shape, type ShapeGraph } from '../lib/shape-graphs.js';
import { median, medianOf, repeat, round } from '../lib/stats.js';

const SMALL = 1_000;
const LARGE = 10_000;
const MAX_GROWTH = 12;
const HUGE_CHAIN = 100_000;
const HUGE_CHAIN_TARGET_MS = 10_000;
const RUN_TIMEOUT_MS = 300_000;

/** flagsOf is the extra `mgmt run` flags of a shape: autogroup off except where autogroup is what is measured. */
function flagsOf(shape: Shape): string[] {
  return shape === 'refresh-only-print' ? [] : ['--no-autogroup'];
}

/** GraphFile is a shape's graph written to the scenario's directory. */
interface GraphFile extends ShapeGraph {
  readonly path: string;
}

async function writeShape(ctx: ScenarioContext, shape: Shape, count: number): Promise<GraphFile> {
  const graph = shapeGraph(shape, count);
  const path = join(ctx.tmp, `${shape}-${count}.yaml`);
  await writeFile(path, graph.yaml);
  return { ...graph, path };
}

/** runShape runs one graph to convergence and checks that the engine ran the whole shape. */
async function runShape(ctx: ScenarioContext, shape: Shape, graph: GraphFile, count: number): Promise<AgentRun> {
  const what = `${shape}-${count}`;
  const run = await runAgent(graph.path, what, { tmp: ctx.tmp, flags: flagsOf(shape), timeoutMs: RUN_TIMEOUT_MS });
  // With autogroup on, the noops of refresh-only-print may group; the prints never do.
  const least = flagsOf(shape).length > 0 ? graph.vertices : graph.vertices / 2;
  if (run.vertices === undefined || run.vertices < least || run.vertices > graph.vertices) {
    throw new Error(`mgmt run (${what}) ran ${run.vertices ?? 'no'} vertices, expected ${least === graph.vertices ? least : `${least} to ${graph.vertices}`}`);
  }
  if (run.workMs === undefined) throw new Error(`mgmt run (${what}) logged no start or no converged event`);
  return run;
}

async function runGrowth(ctx: ScenarioContext, shape: Shape): Promise<ScenarioResult> {
  const small = await writeShape(ctx, shape, SMALL);
  const large = await writeShape(ctx, shape, LARGE);
  const runs = await repeat({ min: 3, max: 5, budgetMs: 60_000 }, async (i) => {
    const [smallRun, largeRun] = await interleaved(
      i,
      () => runShape(ctx, shape, small, SMALL),
      () => runShape(ctx, shape, large, LARGE),
    );
    ctx.progress(
      `run ${i + 1}: ${SMALL}: work ${smallRun.workMs!.toFixed(0)} ms, wall ${smallRun.ms.toFixed(0)} ms; ` +
        `${LARGE}: work ${largeRun.workMs!.toFixed(0)} ms, wall ${largeRun.ms.toFixed(0)} ms`,
    );
    return { small: smallRun, large: largeRun };
  });
  const pick = (size: 'small' | 'large', value: (run: AgentRun) => number): number[] => runs.map((run) => value(run[size]));
  const work = growthOf(pick('small', (run) => run.workMs!), pick('large', (run) => run.workMs!), MAX_GROWTH);
  const wall = growthOf(pick('small', (run) => run.ms), pick('large', (run) => run.ms), MAX_GROWTH);
  const logBytes = growthOf(pick('small', (run) => run.logBytes), pick('large', (run) => run.logBytes), MAX_GROWTH);
  // Issue 13: the JSON log grows linearly, whatever the groups (a member's event never repeats its group).
  const log = makeSubResult(
    {
      figure: logBytes.large,
      baseline: logBytes.small,
      baselineName: `the JSON event log at ${SMALL}`,
      target: `growth <= ${MAX_GROWTH}`,
      pass: logBytes.pass,
    },
    { unit: 'B' },
  );
  return makeResult(
    {
      scenario: `${shape}-growth`,
      figure: work.large,
      baseline: work.small,
      baselineName: `the agent's work on the same shape at ${SMALL.toLocaleString('en')}`,
      target: `growth <= ${MAX_GROWTH} (work at ${LARGE} / at ${SMALL}; log: its own line)`,
      pass: work.pass && log.pass,
      runs: runs.length,
    },
    {
      shape,
      flags: flagsOf(shape),
      wallMs: { [SMALL]: round(wall.small), [LARGE]: round(wall.large), growth: wall.growth },
      [`at${SMALL}`]: agentDetails(runs.map((run) => run.small)),
      [`at${LARGE}`]: agentDetails(runs.map((run) => run.large)),
      log,
    },
  );
}

/** growthScenario builds `<shape>-growth`: the agent's work at 10,000 against 1,000 resources of that shape. */
export function growthScenario(shape: Shape): Scenario {
  return {
    name: `${shape}-growth`,
    doc: `${shape} of noops at ${SMALL} and ${LARGE}: growth of the agent's work (target <= ${MAX_GROWTH})`,
    run: (ctx) => runGrowth(ctx, shape),
  };
}

/** growthScenarios are the growth scenarios, one per shape. */
export const growthScenarios: readonly Scenario[] = SHAPES.map(growthScenario);

/** chain100000 runs a 100,000-noop chain to convergence; target <= 10 s wall. */
export const chain100000: Scenario = {
  name: `chain-${HUGE_CHAIN}`,
  doc: `a ${HUGE_CHAIN}-noop chain converges (target <= ${HUGE_CHAIN_TARGET_MS / 1000} s wall)`,
  async run(ctx) {
    const graph = await writeShape(ctx, 'chain', HUGE_CHAIN);
    const runs = await repeat({ min: 1, max: 3, budgetMs: 40_000 }, async (i) => {
      const run = await runShape(ctx, 'chain', graph, HUGE_CHAIN);
      ctx.progress(`run ${i + 1}: wall ${run.ms.toFixed(0)} ms, work ${run.workMs!.toFixed(0)} ms, peak RSS ${run.peakRssMb?.toFixed(0) ?? '?'} MB`);
      return run;
    });
    const figure = median(runs.map((run) => run.ms));
    return makeResult(
      {
        scenario: `chain-${HUGE_CHAIN}`,
        figure,
        baseline: HUGE_CHAIN_TARGET_MS,
        baselineName: `the target, ${HUGE_CHAIN_TARGET_MS / 1000} s`,
        target: `wall <= ${HUGE_CHAIN_TARGET_MS} ms`,
        pass: figure <= HUGE_CHAIN_TARGET_MS,
        runs: runs.length,
      },
      { workMs: medianOf(runs, (run) => run.workMs), ...agentDetails(runs) },
    );
  },
};
