// files-N: N `file` resources of about 100 bytes in one directory. (a) First converge: a whole
// `mgmt run` on an empty directory against a plain Node loop writing the same files atomically;
// (b) re-check: the same run again with every file already correct, against a plain Node loop
// reading and comparing every file. Both targets: ratio <= 2.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { countEvents, graphTimings, parseEvents, runPhases, type GraphTimings, type RunPhases } from '../lib/events.js';
import { makeManifest, wrongFiles, writeGraphAndManifest, type Manifest } from '../lib/manifest.js';
import { baselineScript } from '../lib/paths.js';
import { expectSuccess, runMgmt, runNode, syncDisks, type TimedRun } from '../lib/proc.js';
import { makeResult, makeSubResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js';
import { median, medianOf, repeat, type RepeatPolicy } from '../lib/stats.js';

const TARGET_RATIO = 2;
const RUN_TIMEOUT_MS = 240_000;

/** AgentRun is what one timed `mgmt run` of the files graph tells us. */
interface AgentRun {
  readonly ms: number;
  readonly phases: RunPhases;
  readonly graph: GraphTimings;
  readonly applies: number;
  readonly peakRssMb: number | undefined;
}

/** OneRun is one repetition: the agent and the baseline, first converge and re-check. */
interface OneRun {
  readonly mgmtFirst: AgentRun;
  readonly mgmtCheck: AgentRun;
  readonly nodeWrite: number;
  readonly nodeCheck: number;
}

/** filesScenario builds the files-N scenario for `count` files, repeated as the policy allows. */
export function filesScenario(count: number, policy: RepeatPolicy): Scenario {
  const name = `files-${count}`;
  return {
    name,
    doc: `${count} file resources: first converge and re-check vs a plain Node loop (target ratio <= ${TARGET_RATIO})`,
    run: (ctx) => runFiles(ctx, name, count, policy),
  };
}

async function runFiles(ctx: ScenarioContext, name: string, count: number, policy: RepeatPolicy): Promise<ScenarioResult> {
  const dir = join(ctx.tmp, 'files');
  const manifest = makeManifest(dir, count);
  const { yaml, json } = await writeGraphAndManifest(join(ctx.tmp, name), `bench-${name}`, manifest);
  const mgmtArgs = ['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];
  // --tmp-prefix makes its directory under os.tmpdir(): keep it inside the scenario's directory.
  const options = { env: { TMPDIR: ctx.tmp }, timeoutMs: RUN_TIMEOUT_MS, sampleRss: true };

  const emptyDir = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  };
  const agent = async (what: string): Promise<AgentRun> => {
    await syncDisks();
    const run: TimedRun = expectSuccess(await runMgmt(mgmtArgs, options), `mgmt run (${name}, ${what})`);
    const events = parseEvents(run.stdout);
    const counts = countEvents(events);
    if (counts.error) throw new Error(`mgmt run (${name}, ${what}) logged ${counts.error} error events`);
    return {
      ms: run.ms,
      phases: runPhases(events, run.spawnedAt, run.exitedAt),
      graph: graphTimings(events),
      applies: counts.apply ?? 0,
      peakRssMb: run.peakRssMb,
    };
  };
  const node = async (script: 'write-files' | 'check-files'): Promise<number> => {
    await syncDisks();
    return expectSuccess(await runNode([baselineScript(script), json], { timeoutMs: RUN_TIMEOUT_MS }), `baseline ${script}`).ms;
  };

  const runs = await repeat(policy, async (i): Promise<OneRun> => {
    const agentBlock = async (): Promise<{ mgmtFirst: AgentRun; mgmtCheck: AgentRun }> => {
      await emptyDir();
      const mgmtFirst = await agent('first converge');
      await expectConverged(manifest, `mgmt run (${name}, first converge)`);
      if (mgmtFirst.applies !== count) throw new Error(`mgmt run (${name}) applied ${mgmtFirst.applies} resources, expected ${count}`);
      const mgmtCheck = await agent('re-check');
      return { mgmtFirst, mgmtCheck };
    };
    const baselineBlock = async (): Promise<{ nodeWrite: number; nodeCheck: number }> => {
      await emptyDir();
      const nodeWrite = await node('write-files');
      if (i === 0) await expectConverged(manifest, 'baseline write-files');
      const nodeCheck = await node('check-files');
      return { nodeWrite, nodeCheck };
    };
    // Alternate the order so neither side always meets a freshly emptied page cache first.
    const run =
      i % 2 === 0 ? { ...(await agentBlock()), ...(await baselineBlock()) } : { ...(await baselineBlock()), ...(await agentBlock()) };
    ctx.progress(
      `run ${i + 1}: first converge mgmt ${run.mgmtFirst.ms.toFixed(0)} ms / node ${run.nodeWrite.toFixed(0)} ms; ` +
        `re-check mgmt ${run.mgmtCheck.ms.toFixed(0)} ms / node ${run.nodeCheck.toFixed(0)} ms`,
    );
    return run;
  });
  await rm(dir, { recursive: true, force: true });

  const firstFigure = median(runs.map((run) => run.mgmtFirst.ms));
  const firstBaseline = median(runs.map((run) => run.nodeWrite));
  const checkFigure = median(runs.map((run) => run.mgmtCheck.ms));
  const checkBaseline = median(runs.map((run) => run.nodeCheck));
  const recheck = makeSubResult(
    {
      figure: checkFigure,
      baseline: checkBaseline,
      baselineName: 'node: readFile + compare each file, sequentially',
      target: `ratio <= ${TARGET_RATIO}`,
      pass: checkFigure / checkBaseline <= TARGET_RATIO,
    },
    { ...agentDetails(runs.map((run) => run.mgmtCheck)) },
  );
  return makeResult(
    {
      scenario: name,
      figure: firstFigure,
      baseline: firstBaseline,
      baselineName: 'node: writeFile temp + rename each file, sequentially',
      target: `ratio <= ${TARGET_RATIO} (first converge and re-check)`,
      pass: firstFigure / firstBaseline <= TARGET_RATIO && recheck.pass,
      runs: runs.length,
    },
    { files: count, bytesPerFile: manifest.files[0]!.content.length, ...agentDetails(runs.map((run) => run.mgmtFirst)), recheck },
  );
}

/** agentDetails summarizes where the agent's time and memory went over several runs (medians). */
function agentDetails(runs: readonly AgentRun[]): Record<string, unknown> {
  return {
    applies: medianOf(runs, (run) => run.applies),
    // From the `graph` event: YAML parse, compile stages and the engine's swap (ms).
    graphMs: {
      parse: medianOf(runs, (run) => run.graph.parse),
      autoedges: medianOf(runs, (run) => run.graph.autoedges),
      autogroup: medianOf(runs, (run) => run.graph.autogroup),
      toposort: medianOf(runs, (run) => run.graph.toposort),
      swap: medianOf(runs, (run) => run.graph.swap),
    },
    // Wall time split at the agent's own timestamps: spawn→start, start→graph, graph→converged, converged→exit.
    phasesMs: {
      boot: medianOf(runs, (run) => run.phases.boot),
      swap: medianOf(runs, (run) => run.phases.swap),
      work: medianOf(runs, (run) => run.phases.work),
      exit: medianOf(runs, (run) => run.phases.exit),
    },
    // VmHWM polled every 20 ms: a lower bound of the peak.
    peakRssMb: medianOf(runs, (run) => run.peakRssMb),
  };
}

async function expectConverged(manifest: Manifest, what: string): Promise<void> {
  const wrong = await wrongFiles(manifest);
  if (wrong.length > 0) {
    throw new Error(`${what} left ${wrong.length} of ${manifest.files.length} files missing or wrong (e.g. ${wrong.slice(0, 3).join(', ')})`);
  }
}

/** files1000 is the 1,000-file scenario. */
export const files1000: Scenario = filesScenario(1000, { min: 5, max: 15, budgetMs: 25_000 });

/** files10000 is the 10,000-file scenario. */
export const files10000: Scenario = filesScenario(10000, { min: 3, max: 7, budgetMs: 75_000 });
