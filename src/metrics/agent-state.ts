import type { LogEvent } from '../log/events.js';

/** EtcdRole is this host's part in an etcd cluster: none (the local World), a client, or a server (a member running etcd). */
export type EtcdRole = 'none' | 'client' | 'server';

/** ETCD_ROLES lists every role, each a label value of mgmt_etcd_role. */
export const ETCD_ROLES: readonly EtcdRole[] = ['none', 'client', 'server'];

/** AgentState is what the metrics know of the agent beyond the engine: convergence and the cluster, read at each scrape. */
export class AgentState {
  /** Whether every resource is idle now (as with --converged-timeout 0). */
  converged = false;
  /** When it last became converged (Date.now()). */
  convergedAt = 0;
  role: EtcdRole = 'none';
  /** etcd servers this host follows, from the cluster's last `endpoints` event; 0 without etcd. */
  members = 0;
  private readonly clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.clock = clock;
  }

  /** setConverged records a change of convergence. */
  setConverged(converged: boolean): void {
    if (converged && !this.converged) this.convergedAt = this.clock();
    this.converged = converged;
  }

  /** convergedSeconds is how long the agent has been converged; 0 while it is not. */
  convergedSeconds(): number {
    return this.converged ? (this.clock() - this.convergedAt) / 1000 : 0;
  }

  /**
   * clusterEvent reads one `cluster` event of the event log: any makes this host at least a
   * client, its etcd's start and stop make it a server and a client again, and `endpoints` lists
   * the client URLs of the servers it follows.
   */
  clusterEvent(event: LogEvent): void {
    if (this.role === 'none') this.role = 'client';
    if (event.action === 'server-start') this.role = 'server';
    else if (event.action === 'server-stop') this.role = 'client';
    else if (event.action === 'endpoints' && Array.isArray(event.endpoints)) this.members = event.endpoints.length;
  }
}
