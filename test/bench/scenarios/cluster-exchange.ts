// cluster-exchange-N (N = 3, 5): the seed's exchange of exported files on real etcd (issue 4, item
// 8; DESIGN section 8 "cluster"). h1 starts with no --seeds and bootstraps its own etcd server;
// once it logs `cluster server-start`, h2..hN start back to back with `--seeds <h1 client URL>`.
// Each host's graph is graph3a.yaml's shape: two unexported files and two exported (`@@`) files in
// its own directory, and a collect of every host's files into that directory. Figure: the time from
// the spawn of the LAST host until every host's directory holds every exported file with the right
// content (seen through fs.watch, with a 5 ms poll as a fallback). Median of 5 runs, each a fresh
// cluster in fresh directories, every agent stopped with SIGTERM after it. The "baseline" is the
// 1 s target itself (converged < 1 s after the last host starts), so ratio = figure / 1000.

import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveEtcdBinary } from '../../../src/etcd/binary.js';
import { freePorts } from '../../helpers/ports.js';
import { parseEvent, type MgmtEvent } from '../lib/events.js';
import { MGMT_BIN } from '../lib/paths.js';
import { startNode, stopChild, type LongRunning } from '../lib/proc.js';
import { makeResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js';
import { median, medianOf, round } from '../lib/stats.js';

const TARGET_MS = 1000;
const RUNS = 5;
const POLL_MS = 5;
const SERVER_START_TIMEOUT_MS = 30_000;
const CONVERGE_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
// The fast etcd timings of DESIGN section 7 and a 2 s lease, as test/helpers/cluster.ts's
// FAST_ETCD_FLAGS (which the bench cannot import: that module imports vitest).
const FAST_ETCD_FLAGS = ['--etcd-heartbeat-interval', '10', '--etcd-election-timeout', '50', '--lease-ttl', '2'];

/** GraphFile is one `file` resource of a host's graph. */
interface GraphFile {
  /** The resource name, `@@`-prefixed when exported. */
  readonly resource: string;
  /** The file's name in its directory (unique over the cluster: collected files keep it). */
  readonly file: string;
  readonly content: string;
}

/** HostPlan is one host of a run: where it works, its ports and its graph. */
interface HostPlan {
  readonly name: string;
  /** The directory its files live in and it collects every host's exports into. */
  readonly dir: string;
  readonly prefix: string;
  readonly yaml: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly unexported: readonly GraphFile[];
  readonly exported: readonly GraphFile[];
}

/** hostFiles names a host's four files: f1, f2 unexported, f3, f4 exported (graph3a.yaml's shape). */
function hostFiles(host: string): { unexported: GraphFile[]; exported: GraphFile[] } {
  const file = (n: number, exported: boolean): GraphFile => ({
    resource: `${exported ? '@@' : ''}file${n}${host}`,
    file: `f${n}${host}`,
    content: exported ? `i am f${n}, exported from host ${host}\n` : `i am f${n} of host ${host}\n`,
  });
  return { unexported: [file(1, false), file(2, false)], exported: [file(3, true), file(4, true)] };
}

/** hostYaml renders a host's graph (JSON strings are valid YAML scalars). */
export function hostYaml(plan: Pick<HostPlan, 'name' | 'dir' | 'unexported' | 'exported'>): string {
  const resources = [...plan.unexported, ...plan.exported].flatMap((f) => [
    `  - name: ${JSON.stringify(f.resource)}`,
    `    path: ${JSON.stringify(join(plan.dir, f.file))}`,
    `    content: ${JSON.stringify(f.content)}`,
    '    state: exists',
  ]);
  return [
    `graph: cluster-exchange-${plan.name}`,
    'resources:',
    '  file:',
    ...resources,
    'collect:',
    '- kind: file',
    `  pattern: ${JSON.stringify(plan.dir + '/')}`,
    'edges: []',
  ].join('\n') + '\n';
}

/** planCluster makes the directories and graphs of `count` hosts under `root`, on fresh loopback ports. */
async function planCluster(root: string, count: number): Promise<HostPlan[]> {
  const ports = await freePorts(2 * count);
  const plans: HostPlan[] = [];
  for (let i = 0; i < count; i++) {
    const name = `h${i + 1}`;
    const dir = join(root, name, 'files');
    await mkdir(dir, { recursive: true });
    const plan: HostPlan = {
      name,
      dir,
      prefix: join(root, name, 'prefix'),
      yaml: join(root, `${name}.yaml`),
      clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
      peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
      ...hostFiles(name),
    };
    await writeFile(plan.yaml, hostYaml(plan));
    plans.push(plan);
  }
  return plans;
}

/** Agent is one running `mgmt run` with the events it logged so far. */
interface Agent {
  readonly plan: HostPlan;
  readonly proc: LongRunning;
  /** performance.now() and Date.now() just before spawn(). */
  readonly spawnedAt: number;
  readonly spawnedAtMs: number;
  /** Its events, each with the performance.now() it arrived at. */
  readonly events: Array<{ readonly at: number; readonly event: MgmtEvent }>;
  /** until resolves with the arrival time of the first event (past or future) that `match` accepts. */
  until(match: (event: MgmtEvent) => boolean): Promise<number>;
}

function startAgent(plan: HostPlan, seeds?: string): Agent {
  const events: Agent['events'] = [];
  const waiters = new Set<() => void>();
  const args = [
    MGMT_BIN, 'run', '--yaml', plan.yaml, '--hostname', plan.name, '--prefix', plan.prefix, '--log-format', 'json',
    '--client-urls', plan.clientUrl, '--server-urls', plan.peerUrl, ...FAST_ETCD_FLAGS,
    ...(seeds ? ['--seeds', seeds] : []),
  ];
  const spawnedAtMs = Date.now();
  const spawnedAt = performance.now();
  const proc = startNode(args, (line) => {
    const event = parseEvent(line);
    if (!event) return;
    events.push({ at: performance.now(), event });
    for (const wake of [...waiters]) wake();
  });
  const until = (match: (event: MgmtEvent) => boolean): Promise<number> =>
    new Promise((resolve) => {
      const check = (): void => {
        const found = events.find((e) => match(e.event));
        if (!found) return;
        waiters.delete(check);
        resolve(found.at);
      };
      waiters.add(check);
      check();
    });
  return { plan, proc, spawnedAt, spawnedAtMs, events, until };
}

const isCluster = (action: string) => (event: MgmtEvent): boolean => event.event === 'cluster' && event.action === action;

/** Expected is one exported file that must arrive in one host's directory. */
interface Expected {
  readonly host: string;
  readonly dir: string;
  readonly file: string;
  readonly path: string;
  readonly content: string;
}

/** expectedFiles lists every exported file of every host, in every host's directory. */
function expectedFiles(plans: readonly HostPlan[]): Expected[] {
  return plans.flatMap((host) =>
    plans.flatMap((from) => from.exported.map((f) => ({ host: host.name, dir: host.dir, file: f.file, path: join(host.dir, f.file), content: f.content }))),
  );
}

/** FileWatch follows the expected files until each holds its content. */
interface FileWatch {
  /** Resolves when every expected file was seen with its content. */
  readonly done: Promise<void>;
  /** When (performance.now()) each file was first seen right. */
  readonly seenAt: ReadonlyMap<string, number>;
  missing(): Expected[];
  close(): void;
}

/** watchFiles watches the expected files' directories (fs.watch, ~0.2 ms) and polls them every POLL_MS as a fallback. */
function watchFiles(expected: readonly Expected[]): FileWatch {
  const pending = new Map(expected.map((e) => [e.path, e]));
  const seenAt = new Map<string, number>();
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const check = (item: Expected): void => {
    let content: string | undefined;
    try {
      content = readFileSync(item.path, 'utf8');
    } catch {
      return;
    }
    if (content !== item.content || !pending.has(item.path)) return;
    seenAt.set(item.path, performance.now());
    pending.delete(item.path);
    if (pending.size === 0) finish();
  };
  const checkAll = (): void => {
    for (const item of [...pending.values()]) check(item);
  };
  const watchers: FSWatcher[] = [...new Set(expected.map((e) => e.dir))].map((dir) =>
    watch(dir, (_type, name) => {
      const item = name === null ? undefined : pending.get(join(dir, name.toString()));
      if (item) check(item);
      else if (name === null) checkAll();
    }),
  );
  const poll = setInterval(checkAll, POLL_MS);
  checkAll();
  return {
    done,
    seenAt,
    missing: () => [...pending.values()],
    close: () => {
      clearInterval(poll);
      for (const watcher of watchers) watcher.close();
    },
  };
}

/** RunResult is one measured run. */
interface RunResult {
  /** Last host's spawn to every exported file everywhere. */
  readonly ms: number;
  /** Per host: last host's spawn to its directory holding every export (negative = before the spawn). */
  readonly hostMs: Record<string, number>;
  /** h1's spawn to its `cluster server-start`. */
  readonly serverStartMs: number;
  /** The last host's spawn to its `start` event (its own clock): node boot, YAML parse, World setup. */
  readonly lastBootMs: number | undefined;
  /** The spread of the joiners' spawns (they start back to back). */
  readonly spawnSpreadMs: number;
  /** How many hosts had started an etcd server when the exchange converged. */
  readonly serversAtConverge: number;
  readonly serversAtStop: number;
  readonly stop: ReadonlyArray<{ host: string; ms: number | null; code: number | null; signal: NodeJS.Signals | null }>;
  /** Notable lines: warn/error events, stderr output, bad exits, etcd servers left behind. */
  readonly oddities: string[];
}

/** runOnce starts one fresh cluster of `count` hosts under `root`, measures the exchange, and stops it. */
async function runOnce(root: string, count: number): Promise<RunResult> {
  const plans = await planCluster(root, count);
  const expected = expectedFiles(plans);
  const files = watchFiles(expected);
  const agents: Agent[] = [];
  let measured: Omit<RunResult, 'stop' | 'oddities' | 'serversAtStop'> | undefined;
  let failure: unknown;
  try {
    const h1 = startAgent(plans[0]!);
    agents.push(h1);
    const serverStartAt = await racing(agents, h1.until(isCluster('server-start')), SERVER_START_TIMEOUT_MS, 'h1 to log cluster server-start');
    for (const plan of plans.slice(1)) agents.push(startAgent(plan, h1.plan.clientUrl));
    const last = agents[agents.length - 1]!;
    await racing(agents, files.done, CONVERGE_TIMEOUT_MS, () =>
      `every host to hold every exported file (missing ${files.missing().map((e) => `${e.host}:${e.file}`).join(' ')})`,
    );
    const convergedAt = Math.max(...files.seenAt.values());
    const hostMs: Record<string, number> = {};
    for (const plan of plans) {
      const times = expected.filter((e) => e.host === plan.name).map((e) => files.seenAt.get(e.path)!);
      hostMs[plan.name] = round(Math.max(...times) - last.spawnedAt)!;
    }
    const lastStart = last.events.find((e) => e.event.event === 'start');
    measured = {
      ms: convergedAt - last.spawnedAt,
      hostMs,
      serverStartMs: serverStartAt - h1.spawnedAt,
      lastBootMs: lastStart ? Date.parse(lastStart.event.ts) - last.spawnedAtMs : undefined,
      spawnSpreadMs: last.spawnedAt - agents[1]!.spawnedAt,
      serversAtConverge: agents.filter((a) => a.events.some((e) => e.at <= convergedAt && isCluster('server-start')(e.event))).length,
    };
    await checkDirectories(plans);
  } catch (err) {
    failure = err;
  }
  files.close();
  const serversAtStop = agents.filter((a) => a.events.some((e) => isCluster('server-start')(e.event))).length;
  const stop = await Promise.all(
    agents.map(async (agent) => ({ host: agent.plan.name, ...(await stopChild(agent.proc, 'SIGTERM', STOP_GRACE_MS)) })),
  );
  const oddities = [...agentOddities(agents), ...stopOddities(stop), ...killLeftovers(root)];
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new Error([message, ...oddities.slice(0, 20)].join('\n  '));
  }
  return { ...measured!, serversAtStop, stop, oddities };
}

/**
 * racing waits for `promise`, failing when an agent exits first or after timeoutMs; `what` (a
 * string, or a function for a message made at the timeout) says what was awaited.
 */
async function racing<T>(agents: readonly Agent[], promise: Promise<T>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const describe = (): string => (typeof what === 'string' ? what : what());
  // The losers must not reject later (an agent's exit at the SIGTERM would be an unhandled rejection): all resolve.
  const outcome = await Promise.race([
    promise.then((value) => ({ value })),
    ...agents.map((agent) => agent.proc.exited.then(({ code, signal }) => ({ failed: `${agent.plan.name} exited (${signal ?? `code ${code}`})` }))),
    new Promise<{ failed: string }>((resolve) => {
      timer = setTimeout(() => resolve({ failed: `timed out after ${timeoutMs} ms` }), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if ('failed' in outcome) throw new Error(`${outcome.failed} waiting for ${describe()}`);
  return outcome.value;
}

/** checkDirectories fails unless each host's directory holds exactly its own files and every export (no other host's unexported files). */
async function checkDirectories(plans: readonly HostPlan[]): Promise<void> {
  const exports = plans.flatMap((plan) => plan.exported);
  for (const plan of plans) {
    const want = [...plan.unexported, ...exports].map((f) => f.file).sort();
    // Its own unexported files may still be on their way; only extra files are wrong.
    const extra = (await readdir(plan.dir)).filter((name) => !want.includes(name));
    if (extra.length > 0) throw new Error(`${plan.name}'s directory holds files it should not: ${extra.join(' ')}`);
    for (const f of exports) {
      const content = await readFile(join(plan.dir, f.file), 'utf8');
      if (content !== f.content) throw new Error(`${plan.name}: ${f.file} holds ${JSON.stringify(content)}, not ${JSON.stringify(f.content)}`);
    }
  }
}

/** agentOddities lists the warn and error events and the stderr output of the agents. */
function agentOddities(agents: readonly Agent[]): string[] {
  const lines: string[] = [];
  for (const agent of agents) {
    for (const { event } of agent.events) {
      if (event.level === 'warn' || event.level === 'error' || event.event === 'error') {
        lines.push(`${agent.plan.name}: ${event.event}${event.phase ? ` (${String(event.phase)})` : ''}: ${String(event.message ?? JSON.stringify(event))}`);
      }
    }
    const stderr = agent.proc.stderr().trim();
    if (stderr) lines.push(`${agent.plan.name} stderr: ${stderr.split('\n').slice(-3).join(' | ')}`);
  }
  return lines;
}

function stopOddities(stops: RunResult['stop']): string[] {
  return stops.flatMap((stop) => {
    if (stop.ms === null) return [`${stop.host}: no exit within ${STOP_GRACE_MS} ms of SIGTERM (SIGKILLed)`];
    if (stop.code !== 0) return [`${stop.host}: exited with ${stop.signal ?? `code ${stop.code}`} after SIGTERM`];
    return [];
  });
}

/** killLeftovers SIGKILLs (by pid) any process still running with `root` on its command line, such as an etcd its agent left behind. */
function killLeftovers(root: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (Number(pid) === process.pid || !cmdline.includes(root)) continue;
    found.push(`left running after its agent stopped: pid ${pid} ${cmdline.trim().slice(0, 120)}`);
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function measureExchange(scenario: string, count: number, ctx: ScenarioContext): Promise<ScenarioResult> {
  try {
    await resolveEtcdBinary();
  } catch (err) {
    throw new Error(`${scenario} needs a real etcd server: ${err instanceof Error ? err.message : String(err)}`);
  }
  const runs: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    const root = await mkdtemp(join(ctx.tmp, `run${i + 1}-`));
    try {
      const run = await runOnce(root, count);
      runs.push(run);
      const hosts = Object.entries(run.hostMs).map(([host, ms]) => `${host} ${ms.toFixed(0)}`).join(', ');
      const stopMs = Math.max(...run.stop.map((s) => s.ms ?? Number.POSITIVE_INFINITY));
      ctx.progress(
        `run ${i + 1}: ${run.ms.toFixed(1)} ms (per host: ${hosts}; h1 server-start ${run.serverStartMs.toFixed(0)} ms; ` +
          `etcd servers ${run.serversAtConverge}/${count} at converge; SIGTERM exits ${stopMs.toFixed(0)} ms)` +
          (run.oddities.length > 0 ? `; ${run.oddities.length} oddities, first: ${run.oddities[0]}` : ''),
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  const figure = median(runs.map((run) => run.ms));
  const oddities = [...new Set(runs.flatMap((run) => run.oddities))];
  return makeResult(
    {
      scenario,
      figure,
      baseline: TARGET_MS,
      baselineName: `DESIGN 8 cluster target (every export everywhere < 1 s after the last host starts)`,
      target: 'ratio < 1',
      pass: figure < TARGET_MS,
      runs: runs.length,
    },
    {
      hosts: count,
      runsMs: runs.map((run) => round(run.ms)),
      maxMs: round(Math.max(...runs.map((run) => run.ms))),
      hostMs: Object.fromEntries(Object.keys(runs[0]!.hostMs).map((host) => [host, medianOf(runs, (run) => run.hostMs[host])])),
      h1ServerStartMs: medianOf(runs, (run) => run.serverStartMs),
      lastBootMs: medianOf(runs, (run) => run.lastBootMs),
      spawnSpreadMs: medianOf(runs, (run) => run.spawnSpreadMs),
      serversAtConverge: runs.map((run) => run.serversAtConverge),
      serversAtStop: runs.map((run) => run.serversAtStop),
      sigtermExitMaxMs: round(Math.max(...runs.flatMap((run) => run.stop.map((s) => s.ms ?? Number.POSITIVE_INFINITY)))),
      oddities: oddities.slice(0, 10),
      odditiesCount: oddities.length,
    },
  );
}

function clusterExchange(count: number): Scenario {
  return {
    name: `cluster-exchange-${count}`,
    doc: `${count} hosts on real etcd exchange exported files: last host's start to every export everywhere (target < 1 s)`,
    run: (ctx) => measureExchange(`cluster-exchange-${count}`, count, ctx),
  };
}

/** clusterExchangeScenarios are the cluster exchange benchmarks for 3 and 5 hosts. */
export const clusterExchangeScenarios: readonly Scenario[] = [clusterExchange(3), clusterExchange(5)];
