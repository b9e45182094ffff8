// cluster-exchange-N (N = 3, 5): upstream's exchange of exported files on real etcd (issue 4, item
// 8). h1 starts with no --seeds and bootstraps its own etcd server;
// once it logs `cluster server-start`, h2..hN start one after the other with `--seeds <h1 client
// URL>`, each once the hosts before it have exchanged their files (upstream's A, then B, then C).
// Each host's graph is graph3a.yaml's shape (test/helpers/exchange.ts, as in the exchange tests):
// two unexported and two exported (`@@`) files in its own directory, and a collect of every host's
// files into that directory. Figure: the time from the spawn of the LAST host until every host's
// directory holds every exported file with the right content (seen through fs.watch, with a 5 ms
// poll as a fallback). Median of 5 runs, each a fresh cluster in fresh directories, every agent
// stopped with SIGTERM after it; a run not converged within 20 s counts as infinite. The
// "baseline" is the 1 s target itself, as autogroup-mixed-10000 does, so ratio = figure / 1000.
// Each scenario measures the secure cluster (mutual TLS, the default: every joiner brings a token
// made on h1 before it starts, which is not timed) and the `--insecure` one in the same run, runs
// alternating; the figure is the secure median, and secure must stay within 1.2x of insecure
// (issue 11).

import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { resolveEtcdBinary } from '../../../src/etcd/binary.js';
import { exchangeDir, fileContent, listFiles, seedFiles, writeExchangeGraph, type ExchangeFiles } from '../../helpers/exchange.js';
import { freePorts } from '../../helpers/ports.js';
import { parseEvent, type MgmtEvent } from '../lib/events.js';
import { MGMT_BIN } from '../lib/paths.js';
import { startNode, stopChild, type LongRunning } from '../lib/proc.js';
import { makeResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.js';
import { median, medianOf, round } from '../lib/stats.js';

const TARGET_MS = 1000;
/** Secure may cost at most this much over --insecure (issue 11). */
const SECURE_OVER_INSECURE_MAX = 1.2;
const RUNS = 5;
const POLL_MS = 5;
const SERVER_START_TIMEOUT_MS = 30_000;
/** A run not converged by then counts as never converging (an infinite time). */
const CONVERGE_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;
/** An exit slower than this after SIGTERM is worth a note (drift-10000 holds the agent to 1 s). */
const SLOW_STOP_MS = 1000;
// Fast etcd timings and a 2 s lease, as test/helpers/cluster.ts's
// FAST_ETCD_FLAGS (which the bench cannot import: that module imports vitest).
const FAST_ETCD_FLAGS = ['--etcd-heartbeat-interval', '10', '--etcd-election-timeout', '50', '--lease-ttl', '2'];

/** HostPlan is one host of a run: where it works, its ports and its files. */
interface HostPlan {
  readonly name: string;
  /** The directory its files live in and it collects every host's exports into. */
  readonly dir: string;
  readonly prefix: string;
  readonly yaml: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** Where its join service listens when it serves (secure runs). */
  readonly joinUrl: string;
  readonly secure: boolean;
  readonly files: ExchangeFiles;
}

/** planCluster writes the graphs of `count` hosts under `root` (the tests' exchange shape), on fresh loopback ports. */
async function planCluster(root: string, count: number, secure: boolean): Promise<HostPlan[]> {
  const ports = await freePorts(3 * count);
  const scheme = secure ? 'https' : 'http';
  const plans: HostPlan[] = [];
  for (const [i, name] of hostNames(count).entries()) {
    const files = seedFiles(name);
    plans.push({
      name,
      dir: exchangeDir(root, name),
      prefix: join(root, `${name}-prefix`),
      yaml: await writeExchangeGraph(root, name, files),
      clientUrl: `${scheme}://127.0.0.1:${ports[3 * i]}`,
      peerUrl: `${scheme}://127.0.0.1:${ports[3 * i + 1]}`,
      joinUrl: `https://127.0.0.1:${ports[3 * i + 2]}`,
      secure,
      files,
    });
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

/** startAgent spawns `mgmt run` for one host (bootstrapping its own etcd, or joining through `seed` with a token file) and records its events. */
function startAgent(plan: HostPlan, seed?: { plan: HostPlan; tokenFile?: string }): Agent {
  const secureArgs = plan.secure
    ? ['--join-urls', plan.joinUrl, ...(seed ? ['--join-url', seed.plan.joinUrl] : []), ...(seed?.tokenFile ? ['--token-file', seed.tokenFile] : [])]
    : ['--insecure'];
  const events: Agent['events'] = [];
  const waiters = new Set<() => void>();
  const args = [
    MGMT_BIN, 'run', '--yaml', plan.yaml, '--hostname', plan.name, '--prefix', plan.prefix, '--log-format', 'json',
    // Plaintext etcd (the http:// URLs of planCluster): the secure cluster is measured beside it once it runs.
    ...secureArgs, '--client-urls', plan.clientUrl, '--server-urls', plan.peerUrl, ...FAST_ETCD_FLAGS,
    ...(seed ? ['--seeds', seed.plan.clientUrl] : []),
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

/** isCluster accepts the `cluster` events with this action. */
const isCluster = (action: string) => (event: MgmtEvent): boolean => event.event === 'cluster' && event.action === action;

/** Expected is one exported file that must arrive in one host's directory. */
interface Expected {
  readonly host: string;
  readonly dir: string;
  readonly file: string;
  readonly path: string;
  readonly content: string;
}

/** expectedExports lists every exported file of every host, in every host's directory. */
function expectedExports(plans: readonly HostPlan[]): Expected[] {
  return plans.flatMap((host) =>
    plans.flatMap((from) =>
      from.files.exports.map((file) => ({ host: host.name, dir: host.dir, file, path: join(host.dir, file), content: fileContent(from.name, file) })),
    ),
  );
}

/** heldBy resolves once every one of `hosts` holds every one of their exports (seen by the watch). */
async function heldBy(files: FileWatch, hosts: readonly HostPlan[]): Promise<void> {
  const paths = hosts.flatMap((host) => hosts.flatMap((from) => from.files.exports.map((file) => join(host.dir, file))));
  while (!paths.every((path) => files.seenAt.has(path))) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
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

/**
 * watchFiles watches the expected files' directories (fs.watch, ~0.2 ms) and, as a fallback, lists
 * them every POLL_MS (one readdir per directory, so the poll takes little CPU from the agents).
 */
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
  const dirs = [...new Set(expected.map((e) => e.dir))];
  const checkDir = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const item = pending.get(join(dir, name));
      if (item) check(item);
    }
  };
  const watchers: FSWatcher[] = dirs.map((dir) =>
    watch(dir, (_type, name) => {
      if (name === null) return checkDir(dir);
      const item = pending.get(join(dir, name.toString()));
      if (item) check(item);
    }),
  );
  const poll = setInterval(() => dirs.forEach(checkDir), POLL_MS);
  dirs.forEach(checkDir);
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

/** RunResult is one measured run; a run that did not converge within CONVERGE_TIMEOUT_MS has infinite times. */
interface RunResult {
  /** Last host's spawn to every exported file everywhere. */
  readonly ms: number;
  /** What was still missing when a run did not converge (`host:file`), else empty. */
  readonly missing: readonly string[];
  /** Per host: last host's spawn to its directory holding every export. */
  readonly hostMs: Record<string, number>;
  /** h1's spawn to its `cluster server-start`. */
  readonly serverStartMs: number;
  /** The last host's spawn to its `start` event (its own clock): node boot, YAML parse, World setup, first collect. */
  readonly lastBootMs: number | undefined;
  /** The last `start` event of any joiner (as it arrived) to every export everywhere: the exchange without the boot. */
  readonly afterStartsMs: number;
  /** The spread of the joiners' spawns (each waits for the exchange of the hosts before it). */
  readonly spawnSpreadMs: number;
  /** How many hosts had started an etcd server when the exchange converged (or the run gave up). */
  readonly serversAtConverge: number;
  readonly serversAtStop: number;
  readonly stop: ReadonlyArray<{ host: string; ms: number | null; code: number | null; signal: NodeJS.Signals | null }>;
  /** Notable lines while the cluster ran: warn/error events, stderr output. */
  readonly oddities: string[];
  /** Notable lines from the SIGTERM on: warn/error events, bad or slow exits, processes left behind. */
  readonly stopOddities: string[];
}

/** runOnce starts one fresh cluster of `count` hosts under `root`, measures the exchange, and stops it. */
async function runOnce(root: string, count: number, secure: boolean): Promise<RunResult> {
  const plans = await planCluster(root, count, secure);
  const expected = expectedExports(plans);
  const files = watchFiles(expected);
  const agents: Agent[] = [];
  let measured: Omit<RunResult, 'stop' | 'oddities' | 'stopOddities' | 'serversAtStop'> | undefined;
  let failure: unknown;
  try {
    const h1 = startAgent(plans[0]!);
    agents.push(h1);
    const serverStartAt = await racing(agents, h1.until(isCluster('server-start')), SERVER_START_TIMEOUT_MS, 'h1 to log cluster server-start');
    // A secure h1 makes tokens once its join service serves.
    if (secure) await racing(agents, h1.until(isCluster('join-service')), SERVER_START_TIMEOUT_MS, 'h1 to log cluster join-service');
    // As in upstream's demo: each host starts once the hosts before it have exchanged their files
    // ("run node B, it converges almost instantly"), and the clock runs from the last one's start.
    for (const [i, plan] of plans.slice(1).entries()) {
      await racing(agents, heldBy(files, plans.slice(0, i + 1)), CONVERGE_TIMEOUT_MS, `${plans.slice(0, i + 1).map((p) => p.name).join(', ')} to exchange their files`);
      agents.push(startAgent(plan, { plan: h1.plan, tokenFile: secure ? await tokenFile(root, h1.plan, plan.name) : undefined }));
    }
    const last = agents[agents.length - 1]!;
    // A cluster that never converges is a result (an infinite time), not a failure to run.
    const converged = await racing(agents, files.done.then(() => true), CONVERGE_TIMEOUT_MS, 'every host to hold every exported file', false);
    const convergedAt = converged ? Math.max(...files.seenAt.values()) : Number.POSITIVE_INFINITY;
    const hostMs: Record<string, number> = {};
    for (const plan of plans) {
      const times = expected.filter((e) => e.host === plan.name).map((e) => files.seenAt.get(e.path) ?? Number.POSITIVE_INFINITY);
      hostMs[plan.name] = Math.max(...times) - last.spawnedAt;
    }
    const lastStart = last.events.find((e) => e.event.event === 'start');
    const startsAt = agents.slice(1).map((a) => a.events.find((e) => e.event.event === 'start')?.at ?? Number.POSITIVE_INFINITY);
    measured = {
      ms: convergedAt - last.spawnedAt,
      missing: files.missing().map((e) => `${e.host}:${e.file}`),
      hostMs,
      serverStartMs: serverStartAt - h1.spawnedAt,
      lastBootMs: lastStart ? Date.parse(lastStart.event.ts) - last.spawnedAtMs : undefined,
      afterStartsMs: convergedAt - Math.max(...startsAt),
      spawnSpreadMs: last.spawnedAt - agents[1]!.spawnedAt,
      serversAtConverge: agents.filter((a) => a.events.some((e) => e.at <= Math.min(convergedAt, performance.now()) && isCluster('server-start')(e.event))).length,
    };
    if (process.env.BENCH_TIMELINE) {
      console.error(`TL RUN ${secure}`);
      for (const agent of agents) for (const e of agent.events) if (e.at >= last.spawnedAt - 5) console.error(`TL ${(e.at - last.spawnedAt).toFixed(0).padStart(5)} ${agent.plan.name} ${JSON.stringify(e.event).slice(0, 260)}`);
      for (const [path, at] of files.seenAt) if (at >= last.spawnedAt) console.error(`TL ${(at - last.spawnedAt).toFixed(0).padStart(5)} file ${path.slice(root.length)}`);
    }
    checkDirectories(plans);
  } catch (err) {
    failure = err;
  }
  files.close();
  const serversAtStop = agents.filter((a) => a.events.some((e) => isCluster('server-start')(e.event))).length;
  const stopAt = performance.now();
  const stop = await Promise.all(
    agents.map(async (agent) => ({ host: agent.plan.name, ...(await stopChild(agent.proc, 'SIGTERM', STOP_GRACE_MS)) })),
  );
  // URLs and the run's directory named by host, so that the same oddity in two runs reads the same.
  const named = (line: string): string =>
    plans.reduce((text, plan) => text.replaceAll(plan.clientUrl, `<${plan.name} client>`).replaceAll(plan.peerUrl, `<${plan.name} peer>`), line).replaceAll(root, '<run>');
  const oddities = [...agentOddities(agents, (at) => at < stopAt), ...stderrLines(agents)].map(named);
  const stopOddities = [...agentOddities(agents, (at) => at >= stopAt), ...badExits(stop), ...killLeftovers(root)].map(named);
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new Error([message, ...oddities, ...stopOddities].slice(0, 20).join('\n  '));
  }
  return { ...measured!, serversAtStop, stop, oddities, stopOddities };
}

/** tokenFile makes a one-use join token on `server` (mgmt token create) and writes it to a file for `host`. */
async function tokenFile(root: string, server: HostPlan, host: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [MGMT_BIN, 'token', 'create', '--prefix', server.prefix, '--endpoints', server.clientUrl], { timeout: 30_000 });
  const file = join(root, `${host}.token`);
  await writeFile(file, stdout, { mode: 0o600 });
  return file;
}

/**
 * racing waits for `promise` and fails when an agent exits first; after timeoutMs it fails too,
 * or resolves with `onTimeout` when one is given. `what` says what was awaited.
 */
async function racing<T>(agents: readonly Agent[], promise: Promise<T>, timeoutMs: number, what: string, onTimeout?: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // The losers must not reject later (an agent's exit at the SIGTERM would be an unhandled rejection): all resolve.
  const outcome = await Promise.race([
    promise.then((value) => ({ value })),
    ...agents.map((agent) => agent.proc.exited.then(({ code, signal }) => ({ failed: `${agent.plan.name} exited (${signal ?? `code ${code}`})` }))),
    new Promise<{ value: T } | { failed: string }>((resolve) => {
      timer = setTimeout(() => resolve(onTimeout === undefined ? { failed: `timed out after ${timeoutMs} ms` } : { value: onTimeout }), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if ('failed' in outcome) throw new Error(`${outcome.failed} waiting for ${what}`);
  return outcome.value;
}

/** checkDirectories fails when a host's directory holds a file that is neither its own nor exported (another host's unexported file). */
function checkDirectories(plans: readonly HostPlan[]): void {
  const exports = plans.flatMap((plan) => plan.files.exports);
  for (const plan of plans) {
    const want = new Set([...plan.files.locals, ...exports]);
    const extra = listFiles(plan.dir).filter((name) => !want.has(name));
    if (extra.length > 0) throw new Error(`${plan.name}'s directory holds files it should not: ${extra.join(' ')}`);
  }
}

/** agentOddities lists the agents' warn and error events that arrived at a time `when` accepts. */
function agentOddities(agents: readonly Agent[], when: (at: number) => boolean): string[] {
  const lines: string[] = [];
  for (const agent of agents) {
    for (const { at, event } of agent.events) {
      if (when(at) && (event.level === 'warn' || event.level === 'error' || event.event === 'error')) {
        lines.push(`${agent.plan.name}: ${event.event}${event.phase ? ` (${String(event.phase)})` : ''}: ${oneLine(String(event.message ?? JSON.stringify(event)))}`);
      }
    }
  }
  return lines;
}

/** oneLine shortens a multi-line message (such as an etcd stderr tail) to its first and last lines. */
function oneLine(message: string): string {
  const lines = message.trim().split('\n').map((line) => (line.length > 300 ? `${line.slice(0, 300)}...` : line));
  return lines.length > 2 ? `${lines[0]} | ... | ${lines[lines.length - 1]}` : lines.join(' | ');
}

/** stderrLines quotes the start of what each agent wrote on stderr (nothing, with --log-format json, unless something is wrong). */
function stderrLines(agents: readonly Agent[]): string[] {
  return agents.flatMap((agent) => {
    const stderr = agent.proc.stderr().trim();
    // The head says what went wrong (a crash prints its message, then the stack).
    return stderr ? [`${agent.plan.name} stderr: ${stderr.split('\n').slice(0, 8).map((line) => line.trim()).join(' | ')}`] : [];
  });
}

/** badExits lists the agents that did not exit 0 within SLOW_STOP_MS of the SIGTERM. */
function badExits(stops: RunResult['stop']): string[] {
  return stops.flatMap((stop) => {
    if (stop.ms === null) return [`${stop.host}: no exit within ${STOP_GRACE_MS} ms of SIGTERM (SIGKILLed)`];
    if (stop.code !== 0) return [`${stop.host}: exited with ${stop.signal ?? `code ${stop.code}`} after SIGTERM`];
    if (stop.ms > SLOW_STOP_MS) return [`${stop.host}: exited ${Math.round(stop.ms)} ms after SIGTERM`];
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

/** measureExchange runs RUNS fresh clusters of `count` hosts and reports the median exchange time against the 1 s target. */
async function measureExchange(scenario: string, count: number, ctx: ScenarioContext): Promise<ScenarioResult> {
  try {
    await resolveEtcdBinary();
  } catch (err) {
    throw new Error(`${scenario} needs a real etcd server: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(0) : 'never');
  const runsOf: Record<'secure' | 'insecure', RunResult[]> = { secure: [], insecure: [] };
  // Alternating, so that a slow spell of this shared machine weighs on both modes alike.
  for (let i = 0; i < RUNS; i++) {
    for (const mode of ['secure', 'insecure'] as const) {
      const root = await mkdtemp(join(ctx.tmp, `${mode}${i + 1}-`));
      try {
        const run = await runOnce(root, count, mode === 'secure');
        runsOf[mode].push(run);
        const hosts = Object.entries(run.hostMs).map(([host, value]) => `${host} ${ms(value)}`).join(', ');
        const slowest = [...run.stop].sort((a, b) => (b.ms ?? Number.POSITIVE_INFINITY) - (a.ms ?? Number.POSITIVE_INFINITY))[0]!;
        const figure = Number.isFinite(run.ms) ? `${run.ms.toFixed(1)} ms` : `NOT CONVERGED within ${CONVERGE_TIMEOUT_MS} ms (missing ${run.missing.join(' ')})`;
        ctx.progress(
          `${mode} run ${i + 1}: ${figure} (per host: ${hosts}; last boot ${run.lastBootMs ?? '?'} ms, then ${ms(run.afterStartsMs)} ms; ` +
            `h1 server-start ${run.serverStartMs.toFixed(0)} ms; etcd servers ${run.serversAtConverge}/${count} at converge; ` +
            `slowest SIGTERM exit ${slowest.host} ${slowest.ms === null ? 'SIGKILLed' : `${slowest.ms.toFixed(0)} ms`})`,
        );
        for (const line of run.oddities) ctx.progress(`  ${mode} run ${i + 1}: ${line}`);
        for (const line of run.stopOddities) ctx.progress(`  ${mode} run ${i + 1} at stop: ${line}`);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    }
  }

  const summary = (runs: readonly RunResult[]) => {
    // Medians over every run, a run that never converged counting as infinite (null in the JSON).
    const medianAll = (pick: (run: RunResult) => number): number | null => round(median(runs.map(pick)));
    const oddities = [...new Set(runs.flatMap((run) => run.oddities))];
    const stopOddities = [...new Set(runs.flatMap((run) => run.stopOddities))];
    return {
      medianMs: median(runs.map((run) => run.ms)),
      runsMs: runs.map((run) => round(run.ms)),
      maxMs: round(Math.max(...runs.map((run) => run.ms))),
      notConverged: runs.flatMap((run, i) => (Number.isFinite(run.ms) ? [] : [{ run: i + 1, missing: run.missing }])),
      hostMs: Object.fromEntries(hostNames(count).map((host) => [host, medianAll((run) => run.hostMs[host]!)])),
      h1ServerStartMs: medianAll((run) => run.serverStartMs),
      lastBootMs: medianOf(runs, (run) => run.lastBootMs),
      afterStartsMs: medianAll((run) => run.afterStartsMs),
      spawnSpreadMs: medianAll((run) => run.spawnSpreadMs),
      serversAtConverge: runs.map((run) => run.serversAtConverge),
      serversAtStop: runs.map((run) => run.serversAtStop),
      sigtermExitMaxMs: round(Math.max(...runs.flatMap((run) => run.stop.map((stop) => stop.ms ?? Number.POSITIVE_INFINITY)))),
      // Distinct lines over the runs (warn/error events, stderr), while measuring and from the SIGTERM on.
      oddities: oddities.slice(0, 10),
      odditiesCount: oddities.length,
      stopOddities: stopOddities.slice(0, 10),
      stopOdditiesCount: stopOddities.length,
    };
  };
  const secure = summary(runsOf.secure);
  const insecure = summary(runsOf.insecure);
  const secureOverInsecure = secure.medianMs / insecure.medianMs;
  return makeResult(
    {
      scenario,
      figure: secure.medianMs,
      baseline: TARGET_MS,
      baselineName: 'DESIGN 8 cluster target (every export everywhere < 1 s after the last host starts), secure (mutual TLS)',
      target: `ratio < 1 secure and --insecure, every run converges, secure within ${SECURE_OVER_INSECURE_MAX}x of --insecure`,
      pass:
        secure.medianMs < TARGET_MS &&
        insecure.medianMs < TARGET_MS &&
        secure.notConverged.length === 0 &&
        insecure.notConverged.length === 0 &&
        secureOverInsecure <= SECURE_OVER_INSECURE_MAX,
      runs: runsOf.secure.length + runsOf.insecure.length,
    },
    { hosts: count, secureOverInsecure: round(secureOverInsecure), secure, insecure },
  );
}

/** hostNames names the hosts of a cluster of `count`: h1..hN. */
function hostNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `h${i + 1}`);
}

/** clusterExchange is the scenario for a cluster of `count` hosts. */
function clusterExchange(count: number): Scenario {
  return {
    name: `cluster-exchange-${count}`,
    doc: `${count} hosts on real etcd exchange exported files: last host's start to every export everywhere (target < 1 s)`,
    run: (ctx) => measureExchange(`cluster-exchange-${count}`, count, ctx),
  };
}

/** clusterExchangeScenarios are the cluster exchange benchmarks for 3 and 5 hosts. */
export const clusterExchangeScenarios: readonly Scenario[] = [clusterExchange(3), clusterExchange(5)];
