// `npm run bench [-- NAME...]`: runs the scenarios of test/bench/scenarios/ (all, or those named),
// prints one JSON line per scenario on stdout and a summary table on stderr. It exits 0 when every
// scenario ran (targets met or not: see `pass`), 1 when a scenario failed to run, 2 on bad usage.

import { swap10000 } from './scenarios/swap.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingBuildOutputs, REPO_ROOT } from './lib/paths.js';
import { killAll } from './lib/proc.js';
import { isSubResult, type Scenario, type ScenarioResult } from './lib/scenario.js';
import { autogroupScenarios } from './scenarios/autogroup.js';
import { autoedgeScenarios } from './scenarios/autoedge.js';
import { clusterExchangeScenarios } from './scenarios/cluster-exchange.js';
import { drift10000 } from './scenarios/drift.js';
import { execChain } from './scenarios/exec-chain.js';
import { files1000, files10000 } from './scenarios/files.js';
import { chain100000, growthScenarios } from './scenarios/growth.js';
import { hostileFlood } from './scenarios/hostile-flood.js';
import { peerCfengine1000, peerCfengine10000 } from './scenarios/peer-cfengine.js';
import { startup } from './scenarios/startup.js';
import { svcRestart } from './scenarios/svc.js';
import { pkgScenarios } from './scenarios/pkg.js';
import { files10000Prometheus } from './scenarios/prometheus.js';

/** SCENARIOS lists every scenario in the order a full run takes them. */
export const SCENARIOS: readonly Scenario[] = [
  startup,
  execChain,
  files1000,
  files10000,
  files10000Prometheus,
  peerCfengine1000,
  peerCfengine10000,
  drift10000,
  ...growthScenarios,
  chain100000,
  ...autoedgeScenarios,
  ...autogroupScenarios,
  swap10000,
  ...clusterExchangeScenarios,
  svcRestart,
  ...pkgScenarios,
  hostileFlood,
];

// Every scenario's directory, removed when the bench exits: removing one between scenarios would
// slow the next one's file creation (see retireDir in lib/manifest.ts).
const tempDirs = new Set<string>();

function cleanup(): void {
  killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function usage(): string {
  const width = Math.max(...SCENARIOS.map((scenario) => scenario.name.length));
  const names = SCENARIOS.map((scenario) => `  ${scenario.name.padEnd(width)} ${scenario.doc}`);
  return ['usage: npm run bench [-- NAME...]   (no name: all scenarios)', '', 'scenarios:', ...names].join('\n');
}

function errorResult(name: string, err: unknown): ScenarioResult {
  const message = err instanceof Error ? err.message : String(err);
  return {
    scenario: name,
    unit: 'ms',
    figure: null,
    baseline: null,
    baselineName: '',
    ratio: null,
    target: '',
    pass: false,
    runs: 0,
    error: message,
  };
}

const fmt = (value: unknown): string => (typeof value === 'number' ? String(value) : value === null || value === undefined ? '-' : String(value));

/** summaryTable renders the results (and their sub-results, such as files re-check) as aligned text. */
export function summaryTable(results: readonly ScenarioResult[]): string {
  const header = ['scenario', 'figure ms', 'baseline ms', 'ratio', 'target', 'pass'];
  const rows: string[][] = [];
  for (const result of results) {
    const pass = result.error ? 'ERROR' : result.pass ? 'yes' : 'NO';
    rows.push([result.scenario, fmt(result.figure), fmt(result.baseline), fmt(result.ratio), result.target, pass]);
    for (const [key, value] of Object.entries(result)) {
      if (!isSubResult(value)) continue;
      const unit = value.unit ? ` ${value.unit}` : '';
      rows.push([`  ${key}`, fmt(value.figure) + unit, fmt(value.baseline) + unit, fmt(value.ratio), value.target, value.pass ? 'yes' : 'NO']);
    }
    if (result.error) rows.push(['  error', String(result.error).split('\n')[0]!.slice(0, 100), '', '', '', '']);
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column >= 1 && column <= 3 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    process.stderr.write(usage() + '\n');
    return 0;
  }
  const unknown = argv.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.map((name) => `"${name}"`).join(', ')}\n${usage()}\n`);
    return 2;
  }
  const missing = missingBuildOutputs();
  if (missing.length > 0) {
    process.stderr.write(`bench: the agent is not built (missing ${missing.join(', ')}).\nRun \`npm run build\` (tsc -p tsconfig.json) in ${REPO_ROOT} first.\n`);
    return 2;
  }
  const selected = argv.length === 0 ? SCENARIOS : SCENARIOS.filter((scenario) => argv.includes(scenario.name));
  process.stderr.write(`bench: node ${process.version}, ${cpus().length} CPUs, scenarios: ${selected.map((s) => s.name).join(' ')}\n`);

  const results: ScenarioResult[] = [];
  const started = performance.now();
  for (const scenario of selected) {
    const tmp = mkdtempSync(join(tmpdir(), `mgmt-bench-${scenario.name}-`));
    tempDirs.add(tmp);
    const scenarioStarted = performance.now();
    const progress = (message: string): void => void process.stderr.write(`bench: ${scenario.name}: ${message}\n`);
    let result: ScenarioResult;
    try {
      result = await scenario.run({ tmp, progress });
    } catch (err) {
      result = errorResult(scenario.name, err);
    } finally {
      // The directory stays until the bench exits (cleanup): see retireDir in lib/manifest.ts.
      killAll();
    }
    progress(`done in ${((performance.now() - scenarioStarted) / 1000).toFixed(1)} s`);
    results.push(result);
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  process.stderr.write(`\n${summaryTable(results)}\n\nbench: ${results.length} scenarios in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return results.some((result) => result.error) ? 1 : 0;
}

process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    cleanup();
    process.stderr.write(`bench: interrupted by ${signal}\n`);
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  cleanup();
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
