// files-N: N `file` resources of about 100 bytes in one directory. (a) First converge: a whole
// `mgmt run` on an empty directory against a plain Node loop writing the same files atomically;
// (b) re-check: the same run again with every file already correct, against a plain Node loop
// reading and comparing every file. Both loops use synchronous calls, the floor of the work in
// Node (see baselines/). Targets (issue 13): at 10,000 files first converge <= 1.5x and re-check
// <= 2.5x the loop, and the agent's peak RSS <= 150 MB (its own sub-result). At 1,000 files the
// loops take tens of milliseconds, so the agent's fixed cost (node's start, loading, parse and
// compile: ~150 ms) weighs more: there the loop targets are looser (<= 2 and <= 3) and the real
// target is peer-cfengine-1000's (half of CFEngine's time).

import { join } from 'node:path';
import { agentDetails, runAgent, type AgentRun, type AgentRunOptions } from '../lib/agent-run.js';
import { interleaved } from '../lib/interleave.js';
import { emptyDir, expectConverged, makeManifest, writeGraphAndManifest, type Manifest } from '../lib/manifest.js';
import { baselineScript } from '../lib/paths.js';
import { expectSuccess, runNode, syncDisks } from '../lib/proc.js';
import { makeResult, makeSubResult, type Scenario, type ScenarioContext, type ScenarioResult, type SubResult } from '../lib/scenario.js';
import { median, repeat, type RepeatPolicy } from '../lib/stats.js';

const RUN_TIMEOUT_MS = 240_000;

/** FilesTargets are a files scenario's targets: ratios to the Node loops, and an optional peak RSS. */
export interface FilesTargets {
  /** First converge, mgmt / the write loop. */
  readonly first: number;
  /** Re-check, mgmt / the check loop. */
  readonly check: number;
  /** The agent's peak RSS over first converge and re-check, in MB. */
  readonly peakRssMb?: number;
}

/** OneRun is one repetition: the agent and the baseline, first converge and re-check. */
interface OneRun {
  readonly mgmtFirst: AgentRun;
  readonly mgmtCheck: AgentRun;
  readonly nodeWrite: number;
  readonly nodeCheck: number;
}

/** filesScenario builds the files-N scenario for `count` files, repeated as the policy allows. */
export function filesScenario(count: number, targets: FilesTargets, policy: RepeatPolicy): Scenario {
  const name = `files-${count}`;
  const memory = targets.peakRssMb === undefined ? '' : `, peak RSS <= ${targets.peakRssMb} MB`;
  return {
    name,
    doc: `${count} file resources: first converge and re-check vs a plain Node loop (target ratios <= ${targets.first} and <= ${targets.check}${memory})`,
    run: (ctx) => runFiles(ctx, name, count, targets, policy),
  };
}

async function runFiles(ctx: ScenarioContext, name: string, count: number, targets: FilesTargets, policy: RepeatPolicy): Promise<ScenarioResult> {
  const manifest = makeManifest(join(ctx.tmp, 'files'), count);
  const { yaml, json } = await writeGraphAndManifest(join(ctx.tmp, name), `bench-${name}`, manifest);
  const agentOptions = { tmp: ctx.tmp, flags: ['--no-watch'], timeoutMs: RUN_TIMEOUT_MS, sync: true };
  const node = async (script: 'write-files' | 'check-files'): Promise<number> => {
    await syncDisks();
    return expectSuccess(await runNode([baselineScript(script), json], { timeoutMs: RUN_TIMEOUT_MS }), `baseline ${script}`).ms;
  };

  const runs = await repeat(policy, async (i): Promise<OneRun> => {
    const agentBlock = (): Promise<AgentPair> => firstAndRecheck(manifest, yaml, name, agentOptions);
    const baselineBlock = async (): Promise<{ nodeWrite: number; nodeCheck: number }> => {
      await emptyDir(manifest);
      const nodeWrite = await node('write-files');
      if (i === 0) await expectConverged(manifest, 'baseline write-files');
      const nodeCheck = await node('check-files');
      return { nodeWrite, nodeCheck };
    };
    const [agent, baseline] = await interleaved(i, agentBlock, baselineBlock);
    const run = { ...agent, ...baseline };
    ctx.progress(
      `run ${i + 1}: first converge mgmt ${run.mgmtFirst.ms.toFixed(0)} ms / node ${run.nodeWrite.toFixed(0)} ms; ` +
        `re-check mgmt ${run.mgmtCheck.ms.toFixed(0)} ms / node ${run.nodeCheck.toFixed(0)} ms; ` +
        `peak RSS ${peakOf(run)?.toFixed(0) ?? '?'} MB`,
    );
    return run;
  });
  await emptyDir(manifest);

  const firstFigure = median(runs.map((run) => run.mgmtFirst.ms));
  const firstBaseline = median(runs.map((run) => run.nodeWrite));
  const checkFigure = median(runs.map((run) => run.mgmtCheck.ms));
  const checkBaseline = median(runs.map((run) => run.nodeCheck));
  const recheck = makeSubResult(
    {
      figure: checkFigure,
      baseline: checkBaseline,
      baselineName: 'node: readFileSync + compare each file',
      target: `ratio <= ${targets.check}`,
      pass: checkFigure / checkBaseline <= targets.check,
    },
    { ...agentDetails(runs.map((run) => run.mgmtCheck)) },
  );
  const memory = targets.peakRssMb === undefined ? undefined : memoryResult(runs, targets.peakRssMb);
  return makeResult(
    {
      scenario: name,
      figure: firstFigure,
      baseline: firstBaseline,
      baselineName: 'node: writeFileSync temp + renameSync each file',
      target: `ratio <= ${targets.first} (re-check and memory: their own lines)`,
      pass: firstFigure / firstBaseline <= targets.first && recheck.pass && (memory?.pass ?? true),
      runs: runs.length,
    },
    {
      files: count,
      bytesPerFile: manifest.files[0]!.content.length,
      ...agentDetails(runs.map((run) => run.mgmtFirst)),
      recheck,
      ...(memory ? { memory } : {}),
    },
  );
}

/** AgentPair is one first converge of a files graph from an empty directory, and the re-check after it. */
export interface AgentPair {
  readonly mgmtFirst: AgentRun;
  readonly mgmtCheck: AgentRun;
}

/** firstAndRecheck empties the manifest's directory, runs the agent on it once (checking it applied every file), then once more. */
export async function firstAndRecheck(manifest: Manifest, yaml: string, what: string, options: AgentRunOptions): Promise<AgentPair> {
  await emptyDir(manifest);
  const mgmtFirst = await runAgent(yaml, `${what}, first converge`, options);
  await expectConverged(manifest, `mgmt run (${what}, first converge)`);
  const count = manifest.files.length;
  if (mgmtFirst.applies !== count) throw new Error(`mgmt run (${what}) applied ${mgmtFirst.applies} resources, expected ${count}`);
  const mgmtCheck = await runAgent(yaml, `${what}, re-check`, options);
  return { mgmtFirst, mgmtCheck };
}

/** peakOf is one repetition's highest peak RSS over the agent's first converge and re-check (MB). */
function peakOf(run: OneRun): number | undefined {
  const peaks = [run.mgmtFirst.peakRssMb, run.mgmtCheck.peakRssMb].filter((mb): mb is number => mb !== undefined);
  return peaks.length > 0 ? Math.max(...peaks) : undefined;
}

/** memoryResult is the peak RSS sub-result: the median over repetitions of each one's highest peak, against the target. */
function memoryResult(runs: readonly OneRun[], targetMb: number): SubResult {
  const peaks = runs.map(peakOf).filter((mb): mb is number => mb !== undefined);
  const figure = median(peaks);
  return makeSubResult(
    {
      figure,
      baseline: targetMb,
      baselineName: `the target, ${targetMb} MB`,
      target: `peak RSS <= ${targetMb} MB`,
      pass: peaks.length > 0 && figure <= targetMb,
    },
    { unit: 'MB' },
  );
}

/** files1000 is the 1,000-file scenario. */
export const files1000: Scenario = filesScenario(1000, { first: 2, check: 3 }, { min: 5, max: 15, budgetMs: 25_000 });

/** files10000 is the 10,000-file scenario. */
export const files10000: Scenario = filesScenario(10000, { first: 1.5, check: 2.5, peakRssMb: 150 }, { min: 3, max: 7, budgetMs: 75_000 });
