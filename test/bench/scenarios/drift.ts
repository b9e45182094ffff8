// drift-10000: a long-running `mgmt run` manages 10,000 files in one directory. Once converged, one
// random file at a time is deleted or overwritten with junk, and the time until it is back with the
// right content is measured through the bench's own fs.watch on the directory (p50, p99). Baseline:
// the same measurement against a trivial Node repairer (fs.watch + rewrite), the floor of
// inotify + write. Target: p99 < 10 ms, and the agent exits within 1 s of SIGTERM.

import { mulberry32 } from '../../helpers/random.js';
import { mkdir } from 'node:fs/promises';
import { readFileSync, unlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseEvent } from '../lib/events.js';
import { makeManifest, wrongFiles, writeGraphAndManifest, type ManagedFile, type Manifest } from '../lib/manifest.js';
import { baselineScript, MGMT_BIN } from '../lib/paths.js';
import { readStatusKb, startNode, stopChild, type LongRunning } from '../lib/proc.js';
import { makeResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js';
import { percentile, round } from '../lib/stats.js';

const COUNT = 10_000;
const SAMPLES = 200;
const TARGET_P99_MS = 10;
const STOP_TARGET_MS = 1000;
const CONVERGE_TIMEOUT_MS = 240_000;
const SAMPLE_TIMEOUT_MS = 5_000;
const SETTLE_MS = 1_000;
const GAP_MS = 25;
const SEED = 0x5eed;
const RSS_TARGET_MB = 250; // RSS with 10,000 watched files

/** DriftMode is how a sample damages its file. */
type DriftMode = 'delete' | 'overwrite';

/** DriftSamples are the repair latencies of one measurement (undefined = not repaired in time). */
export interface DriftSamples {
  readonly latencies: ReadonlyArray<{ readonly mode: DriftMode; readonly ms: number | undefined }>;
}

/** drift10000 measures drift repair latency over 10,000 managed files against a plain fs.watch repairer. */
export const drift10000: Scenario = {
  name: 'drift-10000',
  doc: 'repair latency of one deleted/overwritten file among 10,000 (target p99 < 10 ms; SIGTERM exit < 1 s)',
  run: runDrift,
};

async function runDrift(ctx: ScenarioContext): Promise<ScenarioResult> {
  const dir = join(ctx.tmp, 'files');
  await mkdir(dir, { recursive: true });
  const manifest = makeManifest(dir, COUNT);
  const { yaml, json } = await writeGraphAndManifest(join(ctx.tmp, 'drift'), 'bench-drift', manifest);

  // The agent: start it, wait until every file resource applied, then let it settle.
  let applies = 0;
  const errors: string[] = [];
  const agentStarted = performance.now();
  let convergedMs: number | undefined;
  let onConverged: (() => void) | undefined;
  const agent = startNode(
    [MGMT_BIN, 'run', '--yaml', yaml, '--tmp-prefix', '--no-watch', '--log-format', 'json'],
    (line) => {
      const event = parseEvent(line);
      if (!event) return;
      if (event.event === 'apply') {
        applies++;
        if (applies === COUNT) {
          convergedMs = performance.now() - agentStarted;
          onConverged?.();
        }
      } else if (event.event === 'error') {
        errors.push(`${event.resource ?? ''} ${String(event.message ?? '')}`.trim());
      }
    },
    { env: { TMPDIR: ctx.tmp } },
  );
  await waitFor(agent, 'mgmt run', CONVERGE_TIMEOUT_MS, (done) => {
    onConverged = done;
    if (applies >= COUNT) done();
  });
  ctx.progress(`agent converged ${COUNT} files in ${(convergedMs! / 1000).toFixed(1)} s`);
  await delay(SETTLE_MS);
  const wrongAtStart = await wrongFiles(manifest);
  if (wrongAtStart.length > 0) throw new Error(`mgmt run left ${wrongAtStart.length} files wrong after converging`);
  const rssMb = kbToMb(readStatusKb(agent.child.pid!, 'VmRSS'));
  const settledApplies = applies;

  const agentSamples = await measureDrift(manifest, ctx, 'mgmt');
  const repairApplies = applies - settledApplies;
  const wrongAfter = (await wrongFiles(manifest)).length;
  const peakRssMb = kbToMb(readStatusKb(agent.child.pid!, 'VmHWM'));
  const stop = await stopChild(agent, 'SIGTERM', 5_000);
  ctx.progress(`agent stopped ${stop.ms === null ? 'only by SIGKILL' : `in ${stop.ms.toFixed(0)} ms`} (code ${stop.code})`);

  // The baseline repairer on the same (correct) directory, the same sequence of damage.
  let ready = false;
  let onReady: (() => void) | undefined;
  const repairer = startNode([baselineScript('repair-files'), json], (line) => {
    if (line !== 'ready') return;
    ready = true;
    onReady?.();
  });
  await waitFor(repairer, 'baseline repair-files', 30_000, (done) => {
    onReady = done;
    if (ready) done();
  });
  await delay(200);
  const baselineSamples = await measureDrift(manifest, ctx, 'node');
  await stopChild(repairer, 'SIGTERM', 5_000);

  const all = (samples: DriftSamples, mode?: DriftMode): number[] =>
    samples.latencies.filter((s) => mode === undefined || s.mode === mode).map((s) => s.ms ?? Number.POSITIVE_INFINITY);
  const figure = percentile(all(agentSamples), 99);
  const baseline = percentile(all(baselineSamples), 99);
  const unrepaired = agentSamples.latencies.filter((s) => s.ms === undefined).length;
  const stopOk = stop.ms !== null && stop.ms <= STOP_TARGET_MS;
  const summary = (samples: DriftSamples): Record<string, unknown> => ({
    p50: round(percentile(all(samples), 50)),
    p90: round(percentile(all(samples), 90)),
    p99: round(percentile(all(samples), 99)),
    max: round(Math.max(...all(samples))),
    deleteP50: round(percentile(all(samples, 'delete'), 50)),
    deleteP99: round(percentile(all(samples, 'delete'), 99)),
    overwriteP50: round(percentile(all(samples, 'overwrite'), 50)),
    overwriteP99: round(percentile(all(samples, 'overwrite'), 99)),
    unrepaired: samples.latencies.filter((s) => s.ms === undefined).length,
  });
  return makeResult(
    {
      scenario: 'drift-10000',
      figure,
      baseline,
      baselineName: 'node fs.watch repairer (p99)',
      target: `p99 < ${TARGET_P99_MS} ms; SIGTERM exit < ${STOP_TARGET_MS} ms`,
      pass: figure < TARGET_P99_MS && stopOk && unrepaired === 0 && wrongAfter === 0,
      runs: agentSamples.latencies.length,
    },
    {
      statistic: 'p99',
      files: COUNT,
      mgmt: summary(agentSamples),
      node: summary(baselineSamples),
      p50Ratio: round(percentile(all(agentSamples), 50) / percentile(all(baselineSamples), 50), 3),
      convergeMs: round(convergedMs ?? Number.NaN, 0),
      repairApplies,
      wrongAfter,
      errors: errors.slice(0, 5),
      rssMb,
      peakRssMb,
      rssTargetMb: RSS_TARGET_MB,
      sigterm: { ms: stop.ms === null ? null : round(stop.ms, 1), code: stop.code, signal: stop.signal, pass: stopOk },
    },
  );
}

/**
 * measureDrift damages `samples` random files one at a time (alternately deleting them and
 * overwriting them with junk) and times each until the bench's own fs.watch sees it repaired.
 */
export async function measureDrift(manifest: Manifest, ctx: ScenarioContext, who: string, samples = SAMPLES): Promise<DriftSamples> {
  const random = mulberry32(SEED);
  let pending: { readonly file: ManagedFile; readonly check: () => void } | undefined;
  const watcher: FSWatcher = watch(manifest.dir, (_event, name) => {
    if (pending && (name === null || name.toString() === pending.file.name)) pending.check();
  });
  const latencies: Array<{ mode: DriftMode; ms: number | undefined }> = [];
  try {
    let previous = -1;
    for (let sample = 0; sample < samples; sample++) {
      let index = Math.floor(random() * manifest.files.length);
      if (index === previous) index = (index + 1) % manifest.files.length;
      previous = index;
      const file = manifest.files[index]!;
      const mode: DriftMode = sample % 2 === 0 ? 'delete' : 'overwrite';
      const ms = await oneSample(file, mode, sample, (p) => (pending = p));
      pending = undefined;
      latencies.push({ mode, ms });
      if (ms === undefined) {
        ctx.progress(`${who}: ${file.name} (${mode}) not repaired within ${SAMPLE_TIMEOUT_MS} ms`);
        // Put it right ourselves so the next samples start from a converged directory.
        writeFileSync(file.path, file.content);
        if (latencies.filter((s) => s.ms === undefined).length >= 5) break;
      }
      await delay(GAP_MS);
    }
  } finally {
    watcher.close();
  }
  return { latencies };
}

/** oneSample damages one file and resolves with the milliseconds until it is correct again. */
function oneSample(
  file: ManagedFile,
  mode: DriftMode,
  sample: number,
  arm: (pending: { file: ManagedFile; check: () => void }) => void,
): Promise<number | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let started = 0;
    const finish = (ms: number | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(ms);
    };
    const check = (): void => {
      let content: string | undefined;
      try {
        content = readFileSync(file.path, 'utf8');
      } catch {
        content = undefined;
      }
      if (content === file.content) finish(performance.now() - started);
    };
    const timer = setTimeout(() => finish(undefined), SAMPLE_TIMEOUT_MS);
    arm({ file, check });
    // Synchronous damage: no watch event of this process can be handled before it is complete.
    started = performance.now();
    if (mode === 'delete') unlinkSync(file.path);
    else writeFileSync(file.path, `junk ${sample}\n`);
    check(); // the repairer may already have won the race
  });
}

/** waitFor resolves when `arm`'s callback fires, and fails if the child exits first or time runs out. */
export async function waitFor(child: LongRunning, what: string, timeoutMs: number, arm: (done: () => void) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => arm(resolve)),
      child.exited.then(({ code, signal }) => {
        throw new Error(`${what} exited early (${signal ?? `code ${code}`})${child.stderr() ? `:\n  ${child.stderr().trim().split('\n').slice(-15).join('\n  ')}` : ''}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} not ready within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function kbToMb(kb: number | undefined): number | null {
  return kb === undefined ? null : round(kb / 1024, 1);
}
