import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ETCD_ROLES, type AgentState } from './agent-state.js';
import { CHECK_COMBINATIONS, type KindTally, type MetricsObserver, type Repair } from './engine-observer.js';

const BOOLS = ['false', 'true'] as const;
const FAILURES = ['soft', 'hard'] as const;

// Seconds from a watch event to its repair: an inotify-driven file repair takes about a millisecond,
// a package or a service many seconds.
const REPAIR_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// Labels are written in the order of their object's keys: alphabetical, as upstream's Go client
// writes them, so that its test scripts' greps match our lines too.

/** checkLabels are the labels of one mgmt_checkapply_total slot (checkIndex order: apply, eventful, errorful). */
function checkLabels(kind: string, index: number): Record<string, string> {
  return { apply: BOOLS[(index >> 2) & 1]!, errorful: BOOLS[index & 1]!, eventful: BOOLS[(index >> 1) & 1]!, kind };
}

/** Flushed is what a counter already has of a tally's totals: the engine counts on, scrapes add the difference. */
interface Flushed {
  readonly checks: number[];
  soft: number;
  hard: number;
  repairs: number;
}

/** MgmtMetrics are the registry /metrics serves, and where the observer's repair times go. */
export interface MgmtMetrics {
  readonly registry: Registry;
  /** repaired observes one drift repair's time (MetricsObserver's onRepair). */
  repaired(repair: Repair): void;
}

/**
 * createMetrics registers upstream mgmt's metrics (same names, help texts and labels: its
 * dashboards and alerts work unchanged), ours, and prom-client's process and Node defaults, on a
 * registry of their own, read from the observer's tallies and the agent's state at each scrape.
 * Every label set of every kind the observer knows is there at zero from the start.
 */
export function createMetrics(observer: MetricsObserver, agent: AgentState): MgmtMetrics {
  const registry = new Registry();
  const registers = [registry];
  const flushed = new Map<KindTally, Flushed>();
  const flushedOf = (tally: KindTally): Flushed => {
    let done = flushed.get(tally);
    if (!done) flushed.set(tally, (done = { checks: new Array<number>(CHECK_COMBINATIONS).fill(0), soft: 0, hard: 0, repairs: 0 }));
    return done;
  };

  const checkApplyTotal: Counter = new Counter({
    name: 'mgmt_checkapply_total',
    help: 'Number of CheckApply that have run.',
    labelNames: ['apply', 'errorful', 'eventful', 'kind'],
    registers,
    collect: () => {
      for (const [kind, tally] of observer.kinds) {
        const done = flushedOf(tally).checks;
        for (let i = 0; i < CHECK_COMBINATIONS; i++) {
          // inc by 0 for a new kind still makes its label set appear at zero.
          checkApplyTotal.inc(checkLabels(kind, i), tally.checks[i]! - done[i]!);
          done[i] = tally.checks[i]!;
        }
      }
    },
  });
  new Gauge({
    name: 'mgmt_graph_start_time_seconds',
    help: 'Start time of the current graph since unix epoch in seconds.',
    registers,
    collect() {
      this.set(observer.graphStartSeconds);
    },
  });
  new Gauge({
    name: 'mgmt_resources',
    help: 'Number of managed resources.',
    labelNames: ['kind'],
    registers,
    collect() {
      for (const [kind, tally] of observer.kinds) this.set({ kind }, tally.resources);
    },
  });
  const failuresTotal: Counter = new Counter({
    name: 'mgmt_failures_total',
    help: 'Total of failed resources.',
    labelNames: ['failure', 'kind'],
    registers,
    collect: () => {
      for (const [kind, tally] of observer.kinds) {
        const done = flushedOf(tally);
        for (const failure of FAILURES) {
          failuresTotal.inc({ failure, kind }, tally.failures[failure] - done[failure]);
          done[failure] = tally.failures[failure];
        }
      }
    },
  });
  new Gauge({
    name: 'mgmt_failures',
    help: 'Number of failing resources.',
    labelNames: ['failure', 'kind'],
    registers,
    collect() {
      const now = observer.failingNow();
      for (const kind of observer.kinds.keys()) {
        for (const failure of FAILURES) this.set({ failure, kind }, now.get(kind)?.[failure] ?? 0);
      }
    },
  });

  // Ours.
  const repairs: Counter = new Counter({
    name: 'mgmt_repairs_total',
    help: 'Drift repairs: checkApply runs that fixed a resource a watch event found out of order after it had been in order.',
    labelNames: ['kind'],
    registers,
    collect: () => {
      for (const [kind, tally] of observer.kinds) {
        const done = flushedOf(tally);
        repairs.inc({ kind }, tally.repairs - done.repairs);
        done.repairs = tally.repairs;
      }
    },
  });
  const repairSeconds = new Histogram({ name: 'mgmt_repair_seconds', help: 'Seconds from the watch event that found a resource out of order to the end of the checkApply that repaired it.', labelNames: ['kind'], buckets: REPAIR_BUCKETS, registers });
  for (const kind of observer.kinds.keys()) repairSeconds.zero({ kind });
  new Counter({
    name: 'mgmt_graph_swaps_total',
    help: 'Graphs swapped into the engine: the first, then one per reload (an edit of the graph file, SIGHUP, a change of collected resources).',
    registers,
    collect() {
      this.reset();
      this.inc(observer.swaps);
    },
  });
  new Gauge({
    name: 'mgmt_converged',
    help: 'Whether every resource is idle and in order or failed for good (1) or not (0), as --converged-timeout 0 sees it.',
    registers,
    collect() {
      this.set(agent.converged ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mgmt_converged_seconds',
    help: 'Seconds the agent has been converged; 0 while it is not.',
    registers,
    collect() {
      this.set(agent.convergedSeconds());
    },
  });
  new Gauge({
    name: 'mgmt_etcd_role',
    help: 'This host\'s part in the etcd cluster (1 for its role): none (the local World), client, or server (a member running etcd).',
    labelNames: ['role'],
    registers,
    collect() {
      for (const role of ETCD_ROLES) this.set({ role }, agent.role === role ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mgmt_etcd_members',
    help: 'etcd servers this host follows (client URLs under /_mgmt/endpoints); 0 without etcd.',
    registers,
    collect() {
      this.set(agent.members);
    },
  });
  // prom-client's CPU counters count from their registration, the first scrape: they start from
  // what the process used before it, as counters since the process started must.
  const before = process.cpuUsage();
  collectDefaultMetrics({ register: registry });
  const addSeconds = (name: string, micros: number): void => (registry.getSingleMetric(name) as Counter | undefined)?.inc(micros / 1e6);
  addSeconds('process_cpu_user_seconds_total', before.user);
  addSeconds('process_cpu_system_seconds_total', before.system);
  addSeconds('process_cpu_seconds_total', before.user + before.system);
  return { registry, repaired: ({ kind, seconds }) => repairSeconds.observe({ kind }, seconds) };
}
