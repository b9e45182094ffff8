// Keys that live only as long as this agent: written on an etcd lease that the agent keeps alive,
// so when the agent dies (SIGKILL, lost host) etcd deletes them after the TTL and the cluster sees
// the host gone (1.0.x session leases). A lost lease or a new client means a new lease with every
// key written again; a key re-put on the new lease is detached from the old one, so the old lease
// expiring deletes nothing.
// Puts and grants run one at a time: a put in flight on the old lease while a new one is granted
// would either meet the old lease revoked ("requested lease not found") or land after the re-put,
// move its key back to the old lease and see it deleted with the revoke.

import { EtcdLeaseInvalidError, type Etcd3, type Lease } from 'etcd3';
import type { Subscription } from 'rxjs';
import type { EtcdConnection } from '../etcd/connection.js';
import { oneLine } from '../etcd/log-reason.js';
import { causesOf } from '../errors.js';

/** LeasedKeysOptions: the connection, the TTL, and where errors go. */
export interface LeasedKeysOptions {
  readonly connection: EtcdConnection;
  /** The lease TTL in seconds (etcd's minimum is a few election timeouts). */
  readonly ttlSeconds: number;
  readonly onError: (message: string) => void;
  /** Told of a failure that is retried (a membership change can stall writes for seconds); errors start after RETRIES_BEFORE_ERROR in a row. */
  readonly onRetry?: (message: string) => void;
}

const REGRANT_DELAY_MS = 200;
// Failed grants in a row that are reported as retries before they count as errors.
const RETRIES_BEFORE_ERROR = 5;

/** LeasedKeys keeps a set of keys on this agent's lease, across lost leases and endpoint changes. */
export class LeasedKeys {
  private readonly options: LeasedKeysOptions;
  private readonly values = new Map<string, string>();
  private lease: Lease | undefined;
  private leaseClient: Etcd3 | undefined;
  // Every put, delete and grant, in order (see the top).
  private queue: Promise<void> = Promise.resolve();
  private subscription: Subscription | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failuresInARow = 0;

  constructor(options: LeasedKeysOptions) {
    this.options = options;
  }

  /** start grants the first lease and follows client changes. */
  start(): void {
    this.subscription = this.options.connection.client$.subscribe((client) => {
      if (client !== this.leaseClient) void this.regrant(client);
    });
  }

  /** set writes (or, with undefined, deletes) a leased key; it resolves once etcd has it, or once the next lease will write it. */
  set(key: string, value: string | undefined): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (value === undefined) this.values.delete(key);
    else this.values.set(key, value);
    return this.enqueue(() => this.write(key, value));
  }

  /** close revokes the lease, which deletes every key at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.unsubscribe();
    clearTimeout(this.retryTimer);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await lease.revoke().catch(() => undefined);
  }

  private regrant(client: Etcd3): Promise<void> {
    this.leaseClient = client;
    return this.enqueue(() => this.grant(client));
  }

  /** enqueue runs one lease operation once those before it have settled. */
  private enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.queue.then(operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(key: string, value: string | undefined): Promise<void> {
    const lease = this.lease;
    // Closed, between leases (the next grant writes every key), or a later set owns the key now.
    if (!lease || this.closed || this.values.get(key) !== value) return;
    if (value === undefined) {
      await this.options.connection.bounded(`delete ${key}`, (client) => client.delete().key(key).exec());
      return;
    }
    try {
      await this.options.connection.bounded(`put ${key}`, () => lease.put(key).value(value).exec());
    } catch (err) {
      // etcd let the lease expire before a keepalive told us: the next lease writes the key.
      const expired = causesOf(err).find((cause) => cause instanceof EtcdLeaseInvalidError);
      if (!expired) throw err;
      this.lost(lease, expired.message);
    }
  }

  private async grant(client: Etcd3): Promise<void> {
    if (this.closed || client !== this.leaseClient) return;
    const old = this.lease;
    const lease = client.lease(this.options.ttlSeconds, { autoKeepAlive: true });
    lease.on('lost', (err) => this.lost(lease, err.message));
    try {
      await this.options.connection.bounded('grant a lease', () => lease.grant());
      for (const [key, value] of this.values) {
        await this.options.connection.bounded(`put ${key}`, () => lease.put(key).value(value).exec());
      }
    } catch (err) {
      lease.release();
      this.failuresInARow++;
      const report = this.failuresInARow > RETRIES_BEFORE_ERROR || !this.options.onRetry ? this.options.onError : this.options.onRetry;
      report(`${(err as Error).message} (granting a new lease again in ${REGRANT_DELAY_MS} ms)`);
      this.scheduleRegrant(client);
      return;
    }
    this.failuresInARow = 0;
    if (this.closed) {
      await lease.revoke().catch(() => undefined);
      return;
    }
    this.lease = lease;
    // The old lease's keys now hang on the new one; revoking it only stops its keepalive.
    if (old) void old.revoke().catch(() => old.release());
  }

  /** lost drops the current lease, which etcd no longer has (its keys are gone), and grants another. */
  private lost(lease: Lease, reason: string): void {
    if (this.lease !== lease || this.closed || !this.leaseClient) return;
    this.options.onError(`lease lost (${oneLine(reason)}); granting a new one`);
    this.lease = undefined;
    this.scheduleRegrant(this.leaseClient);
  }

  private scheduleRegrant(client: Etcd3): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      // A newer client has its own grant under way.
      if (client === this.leaseClient) void this.regrant(client);
    }, REGRANT_DELAY_MS);
    this.retryTimer.unref();
  }
}
