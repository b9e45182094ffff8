// hostile-flood (issue 10, finding 6): a long-running `mgmt run --log-format json` manages one file
// beside an exec whose watchcmd is `yes`, which prints without pause. The file is damaged again and
// again (deleted or overwritten) and the time until it is right again is measured as in drift-10000
// (p50, p99). Baseline: the same agent and file without the flood. Targets: under the flood the
// repair p99 stays under 100 ms, the agent's peak RSS under 300 MB, and SIGTERM exits within 1 s.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseEvent } from '../lib/events.js';
import { makeManifest, toYaml, type Manifest } from '../lib/manifest.js';
import { MGMT_BIN } from '../lib/paths.js';
import { readStatusKb, startNode, stopChild } from '../lib/proc.js';
import { makeResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js';
import { percentile, round } from '../lib/stats.js';
import { measureDrift, waitFor, type DriftSamples } from './drift.js';

const SAMPLES = 100;
const TARGET_P99_MS = 100;
const STOP_TARGET_MS = 1000;
const RSS_TARGET_MB = 300;
// Long enough for the flood to be in full swing before the first sample.
const SETTLE_MS = 2000;

/** hostileFlood measures repair latency of a file under a `yes` watchcmd flood against the same run without it. */
export const hostileFlood: Scenario = {
  name: 'hostile-flood',
  doc: `repair latency of a file beside a \`yes\` watchcmd, JSON log (target p99 < ${TARGET_P99_MS} ms; RSS < ${RSS_TARGET_MB} MB; SIGTERM < 1 s)`,
  run: runHostileFlood,
};

/** FloodRun is what one agent run measured. */
interface FloodRun {
  readonly samples: DriftSamples;
  readonly peakRssMb: number | null;
  readonly stopMs: number | null;
  readonly stopCode: number | null;
  /** Events the agent wrote, by name (dropped, apply, log, ...). */
  readonly events: Record<string, number>;
}

async function runHostileFlood(ctx: ScenarioContext): Promise<ScenarioResult> {
  const dir = join(ctx.tmp, 'files');
  await mkdir(dir, { recursive: true });
  const manifest = makeManifest(dir, 1);
  const quiet = await oneRun(ctx, manifest, false);
  const flood = await oneRun(ctx, manifest, true);

  const all = (samples: DriftSamples): number[] => samples.latencies.map((s) => s.ms ?? Number.POSITIVE_INFINITY);
  const figure = percentile(all(flood.samples), 99);
  const baseline = percentile(all(quiet.samples), 99);
  const summary = (run: FloodRun): Record<string, unknown> => ({
    p50: round(percentile(all(run.samples), 50)),
    p99: round(percentile(all(run.samples), 99)),
    max: round(Math.max(...all(run.samples))),
    unrepaired: run.samples.latencies.filter((s) => s.ms === undefined).length,
    peakRssMb: run.peakRssMb,
    sigterm: { ms: run.stopMs === null ? null : round(run.stopMs, 1), code: run.stopCode },
    events: run.events,
  });
  const stopOk = flood.stopMs !== null && flood.stopMs <= STOP_TARGET_MS;
  const rssOk = flood.peakRssMb !== null && flood.peakRssMb < RSS_TARGET_MB;
  return makeResult(
    {
      scenario: 'hostile-flood',
      figure,
      baseline,
      baselineName: 'the same agent without the flood (p99)',
      target: `p99 < ${TARGET_P99_MS} ms; peak RSS < ${RSS_TARGET_MB} MB; SIGTERM exit < ${STOP_TARGET_MS} ms`,
      pass: figure < TARGET_P99_MS && stopOk && rssOk && flood.samples.latencies.every((s) => s.ms !== undefined),
      runs: flood.samples.latencies.length,
    },
    {
      statistic: 'p99',
      p50Ratio: round(percentile(all(flood.samples), 50) / percentile(all(quiet.samples), 50), 3),
      flood: summary(flood),
      quiet: summary(quiet),
    },
  );
}

async function oneRun(ctx: ScenarioContext, manifest: Manifest, flooded: boolean): Promise<FloodRun> {
  const who = flooded ? 'flood' : 'quiet';
  const yaml = join(ctx.tmp, `${who}.yaml`);
  const noisy = ['  exec:', '  - name: noisy', '    cmd: "true"', '    watchcmd: "yes"', ''].join('\n');
  await writeFile(yaml, toYaml(`bench-${who}`, manifest) + (flooded ? noisy : ''));

  const events: Record<string, number> = {};
  let written = false;
  let onWritten: (() => void) | undefined;
  const agent = startNode([MGMT_BIN, 'run', '--yaml', yaml, '--tmp-prefix', '--no-server', '--log-format', 'json'], (line) => {
    const event = parseEvent(line);
    if (!event) return;
    events[event.event] = (events[event.event] ?? 0) + 1;
    // Checked OK (the file is left from the previous run) or written: the file is managed.
    if ((event.event === 'apply' || event.event === 'check') && event.resource?.startsWith('file[')) {
      written = true;
      onWritten?.();
    }
  });
  await waitFor(agent, `mgmt run (${who})`, 60_000, (done) => {
    onWritten = done;
    if (written) done();
  });
  await delay(SETTLE_MS);
  const samples = await measureDrift(manifest, ctx, who, SAMPLES);
  const peakKb = readStatusKb(agent.child.pid!, 'VmHWM');
  const stop = await stopChild(agent, 'SIGTERM', 10_000);
  ctx.progress(`${who}: agent stopped ${stop.ms === null ? 'only by SIGKILL' : `in ${stop.ms.toFixed(0)} ms`} (code ${stop.code})`);
  return {
    samples,
    peakRssMb: peakKb === undefined ? null : round(peakKb / 1024, 1),
    stopMs: stop.ms,
    stopCode: stop.code,
    events,
  };
}
