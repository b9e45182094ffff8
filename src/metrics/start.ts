// The one module the agent imports, and only with --prometheus: prom-client is initialised with it
// (the bundle initialises a module when first required), so a run without the flag runs none of
// its code (test/metrics/lazy-load.test.ts).

import type { EngineObserver } from '../engine/observer.js';
import type { EventLog } from '../log/events.js';
import { AgentState } from './agent-state.js';
import { serveMetrics } from './http-server.js';
import type { ListenAddress } from './listen-address.js';
import { createMetrics } from './registry.js';

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

/** startMetrics registers the metrics and serves them; a listen that fails throws an MgmtError naming the flag. */
export async function startMetrics(options: MetricsOptions): Promise<RunningMetrics> {
  const agent = new AgentState();
  const { registry, observer } = createMetrics(options.kinds, agent);
  const server = await serveMetrics(options.listen, {
    metrics: () => registry.metrics(),
    contentType: registry.contentType,
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
