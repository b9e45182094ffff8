// The one module the agent imports, and only with --prometheus. It listens at once (so a taken
// port fails the run before anything is applied) and counts from the start in plain numbers, but
// initialises prom-client (the bundle initialises a module when first required) only for the
// first scrape: a run nobody scrapes never pays for it, and a run without the flag runs none of
// its code (test/metrics/lazy-load.test.ts).

import type { EngineObserver } from '../engine/observer.js';
import type { EventLog } from '../log/events.js';
import { AgentState } from './agent-state.js';
import { MetricsObserver, type Repair } from './engine-observer.js';
import { serveMetrics } from './http-server.js';
import type { ListenAddress } from './listen-address.js';
import type { MgmtMetrics } from './registry.js';

// Repair times kept for the histogram until the first scrape; a flood beyond it still counts in
// mgmt_repairs_total, only its times are not kept.
const MAX_PENDING_REPAIRS = 10_000;

/** MetricsOptions are the settings of --prometheus: where to listen, and the kinds whose metrics start at zero. */
export interface MetricsOptions {
  readonly listen: ListenAddress;
  /** Every registered kind: each has every label set of upstream's metrics from the start. */
  readonly kinds: readonly string[];
}

/** RunningMetrics is the metrics server of a run, and what the agent feeds it. */
export interface RunningMetrics {
  /** The /metrics URL it serves. */
  readonly url: string;
  /** Counts what the engine does (EngineOptions.observer). */
  readonly observer: EngineObserver;
  /** setConverged records whether every resource is idle now. */
  setConverged(converged: boolean): void;
  /** clusterLog is `log` that also reads its `cluster` events (etcd role and members). */
  clusterLog(log: EventLog): EventLog;
  /** close stops the server. */
  close(): Promise<void>;
}

/** startMetrics starts counting and serving; a listen that fails throws an MgmtError naming the flag. */
export async function startMetrics(options: MetricsOptions): Promise<RunningMetrics> {
  const agent = new AgentState();
  let metrics: MgmtMetrics | undefined;
  const pending: Repair[] = [];
  const observer = new MetricsObserver(options.kinds, (repair) => {
    if (metrics) metrics.repaired(repair);
    else if (pending.length < MAX_PENDING_REPAIRS) pending.push(repair);
  });
  let registering: Promise<MgmtMetrics> | undefined;
  const registered = (): Promise<MgmtMetrics> =>
    (registering ??= import('./registry.js').then(({ createMetrics }) => {
      metrics = createMetrics(observer, agent);
      for (const repair of pending.splice(0)) metrics.repaired(repair);
      return metrics;
    }));
  const server = await serveMetrics(options.listen, {
    metrics: async () => {
      const { registry } = await registered();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    health: () => ({ converged: agent.converged }),
  });
  return {
    url: server.url,
    observer,
    setConverged: (converged) => agent.setConverged(converged),
    clusterLog: (log) => ({
      ...log,
      emit: (event) => {
        if (event.event === 'cluster') agent.clusterEvent(event);
        log.emit(event);
      },
    }),
    close: () => server.close(),
  };
}
