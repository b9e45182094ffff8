// Elastic clustering (docs/cluster.md; classic key names with 1.0.x leases).
// Every agent with etcd follows `/_mgmt/endpoints/`; one that may serve volunteers (a leased key);
// a nominated one `member add`s itself and starts etcd with `--initial-cluster-state existing`;
// an unnominated one removes itself and stops; and the agent whose etcd is the raft leader runs
// the Chooser on every change of volunteers, nominations or `idealClusterSize`.

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { concatMap, debounceTime, interval, merge, type Observable, Subject, type Subscription } from 'rxjs';
import { backoffDelay, retryWithBackoff } from '../../streams/retry-with-backoff.js';
import type { EtcdConnection } from '../etcd/connection.js';
import { checkEtcdPorts, clusterVersion, EtcdStartError, type EtcdServer, type EtcdServerEvent, type EtcdServerOptions } from '../etcd/server.js';
import { errorMessage, MgmtError } from '../errors.js';
import { retryPromise } from '../os/retry.js';
import { delay, withTimeout } from '../os/time.js';
import { Chooser, type ClusterAction, type ClusterMember, type ClusterView } from './chooser.js';
import {
  CONVERGED_PREFIX,
  DEFAULT_IDEAL_CLUSTER_SIZE,
  ENDPOINTS_PREFIX,
  hostsUnder,
  IDEAL_CLUSTER_SIZE_KEY,
  JOIN_PREFIX,
  joinUrls,
  NOMINATED_PREFIX,
  sameUrls,
  serverEndpoints,
  VOLUNTEERS_PREFIX,
} from './keys.js';
import { LeasedKeys } from './leased-keys.js';

/** ClusterEvent is what the cluster reports; the agent logs it as a `cluster` event. */
export interface ClusterEvent {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** nominate, unnominate, member-add, member-remove, endpoints, server-start, server-stop, server-crash, ideal-cluster-size, volunteer, error. */
  readonly action: string;
  readonly host?: string;
  readonly message?: string;
  readonly [field: string]: unknown;
}

/** ClusterOptions configures one agent's part in the cluster. */
export interface ClusterOptions {
  readonly hostname: string;
  readonly connection: EtcdConnection;
  /** Client URLs this host's etcd serves on, when it serves. */
  readonly clientUrls: readonly string[];
  /** Peer URLs this host's etcd serves on, when it serves. */
  readonly peerUrls: readonly string[];
  /** The data directory the servers from makeServer use (wiped before a fresh join). */
  readonly dataDir: string;
  /** Makes this host's etcd server (prefix, binary and timing are the caller's). */
  readonly makeServer: (options: Pick<EtcdServerOptions, 'initialCluster' | 'initialClusterState' | 'onEvent'>) => EtcdServer;
  /** Bootstrap a new cluster (no --seeds): serve at once and set idealClusterSize when it is missing. */
  readonly bootstrap?: { readonly idealClusterSize: number };
  /** Volunteer to serve (false with --no-server). */
  readonly volunteer: boolean;
  /** The lease TTL of volunteers/endpoints/converged keys, in seconds. */
  readonly leaseTtlSeconds: number;
  readonly onEvent: (event: ClusterEvent) => void;
  /** How often the leader re-examines the cluster without a change (a safety net); default 1000 ms. */
  readonly reconcileEveryMs?: number;
  readonly chooser?: Chooser;
  /** Keeps the client URLs this host follows, each time they change (so a restart can find its cluster). */
  readonly rememberEndpoints?: (endpoints: readonly string[]) => Promise<void>;
  /** Told when this host cannot go on serving (its etcd's ports are taken); the agent then exits 1. */
  readonly onFatal?: (err: Error) => void;
  /** Grants and takes back server hosts' rights in etcd (issue 11 point 3); absent with --insecure. */
  readonly serverRights?: ServerRights;
  /** The join service this host runs while its etcd serves (issue 11 point 2); absent with --insecure. */
  readonly joinService?: JoinServiceControl;
  /** Secures a new cluster's store once its etcd answers (bootstrap only; run after every start, so idempotent). */
  readonly prepareStore?: () => Promise<void>;
}

/** ServerRights are etcd's root role for server hosts: the leader grants it on nomination and takes it back from hosts that no longer serve. */
export interface ServerRights {
  setServer(host: string, server: boolean): Promise<void>;
  /** serverHosts lists the hosts that hold the rights now. */
  serverHosts(): Promise<string[]>;
}

/** JoinServiceControl starts (resolving with the URLs it listens on) and stops this host's join service. */
export interface JoinServiceControl {
  /** Where it will listen (checked for taken ports before this host adds itself as a member). */
  readonly urls: readonly string[];
  start(): Promise<readonly string[]>;
  stop(): Promise<void>;
}

// A stopping member removes itself before its etcd stops, or the last two members would strand one
// another (issue 11 point 7): it may take this long, unless a second stop signal hurries the agent.
const LEAVE_TIMEOUT_MS = 5000;
// Revoking the lease tells the others at once that this host is gone (its endpoints key with it).
const REVOKE_TIMEOUT_MS = 1000;
const HANDOVER_TIMEOUT_MS = 1000;
// How often a leaving member asks its own etcd whether it is the last one.
const LAST_MEMBER_POLL_MS = 50;
/** MEMBERSHIP_LOCK_KEY serializes member add and remove across hosts. */
const MEMBERSHIP_LOCK_KEY = '/_mgmt/lock/membership';
const LOCK_RETRY_MS = 20;
const JOIN_LOCK_TIMEOUT_MS = 10_000;
// A membership change that fails (a member answering mid-change) is tried this many times.
const MEMBERSHIP_ATTEMPTS = 5;
// A failing step is logged on its first failure and then every this many; waits double from 50 ms to 2 s.
const RETRY_LOG_EVERY = 20;
const RETRY_INITIAL_MS = 50;
const RETRY_MAX_MS = 2000;
// The leader re-checks who holds server rights at least this often (and when a host stops serving).
const RIGHTS_RECHECK_MS = 10_000;

/** Cluster runs this agent's volunteering, serving and (when leader) nominating. */
export class Cluster {
  private readonly options: ClusterOptions;
  private readonly connection: EtcdConnection;
  private readonly me: string;
  private readonly leased: LeasedKeys;
  private readonly chooser: Chooser;
  private readonly subscriptions: Subscription[] = [];
  private readonly poke = new Subject<void>();
  private server: EtcdServer | undefined;
  private memberId: string | undefined;
  private closed = false;
  // One serve/leave transition at a time.
  private transition: Promise<void> = Promise.resolve();
  private lastEndpoints = '';
  private lastIdeal: number | undefined;
  private nominationFailures = 0;
  private rightsCheckedFor: ReadonlySet<string> = new Set();
  private rightsCheckedAt = 0;

  constructor(options: ClusterOptions) {
    this.options = options;
    this.connection = options.connection;
    this.me = options.hostname;
    this.chooser = options.chooser ?? new Chooser();
    this.leased = new LeasedKeys({
      connection: options.connection,
      ttlSeconds: options.leaseTtlSeconds,
      onError: (message) => this.error(message),
      onRetry: (message) => this.emit({ level: 'warn', action: 'retry', host: this.me, message }),
    });
  }

  /** serving says whether this host runs an etcd member now. */
  get serving(): boolean {
    return this.server !== undefined;
  }

  /**
   * start bootstraps the server (without seeds) and resolves once etcd answers; then volunteering,
   * nominations, endpoints and the leader loop go on in the background until close.
   */
  async start(): Promise<void> {
    if (this.options.bootstrap) {
      await this.startServer('new', undefined);
      if (this.closed) return;
      if (this.options.prepareStore) await this.persist('secure the store', this.options.prepareStore);
      // etcd answers now, but may die again (it is restarted): these steps are retried, not fatal.
      await this.persist('set idealClusterSize', () =>
        this.connection.bounded('set idealClusterSize', (client) =>
          client.if(IDEAL_CLUSTER_SIZE_KEY, 'Version', '==', 0).then(client.put(IDEAL_CLUSTER_SIZE_KEY).value(String(this.options.bootstrap!.idealClusterSize))).commit(),
        ),
      );
      await this.persist('nominate this host', () =>
        this.connection.bounded('nominate this host', (client) => client.put(NOMINATED_PREFIX + this.me).value(joinUrls(this.options.peerUrls)).exec()),
      );
    }
    this.leased.start();
    if (this.options.volunteer) {
      await this.persist('volunteer', () => this.leased.set(VOLUNTEERS_PREFIX + this.me, joinUrls(this.options.peerUrls)));
      this.emit({ level: 'info', action: 'volunteer', host: this.me, peerUrls: this.options.peerUrls });
    }
    if (this.server) {
      await this.persist('publish endpoints', () => this.leased.set(ENDPOINTS_PREFIX + this.me, joinUrls(this.options.clientUrls)));
      await this.startJoinService();
    }
    const reconcileEvery = this.options.reconcileEveryMs ?? 1000;
    this.subscriptions.push(
      this.watch('watch endpoints', (client) => client.watch().prefix(ENDPOINTS_PREFIX)).subscribe({
        next: () => void this.followEndpoints(),
        error: (err: unknown) => this.error(errorMessage(err)),
      }),
      this.watch('watch nominations', (client) => client.watch().prefix(NOMINATED_PREFIX)).subscribe({
        next: () => {
          this.followNominationSoon();
          this.poke.next();
        },
        error: (err: unknown) => this.error(errorMessage(err)),
      }),
      this.watch('watch idealClusterSize', (client) => client.watch().key(IDEAL_CLUSTER_SIZE_KEY)).pipe(
        concatMap(() => this.reportIdeal().catch((err: unknown) => this.error(errorMessage(err)))),
      ).subscribe({
        next: () => this.poke.next(),
        error: (err: unknown) => this.error(errorMessage(err)),
      }),
      merge(
        this.watch('watch volunteers', (client) => client.watch().prefix(VOLUNTEERS_PREFIX)),
        interval(reconcileEvery),
        this.poke,
      )
        .pipe(
          debounceTime(10),
          concatMap(() => this.lead()),
        )
        .subscribe({ error: (err: unknown) => this.error(errorMessage(err)) }),
    );
  }

  /** persist retries one setup step until it succeeds or the cluster closes, logging the first failure and every RETRY_LOG_EVERY-th. */
  private persist<T>(what: string, step: () => Promise<T>): Promise<T> {
    return retryPromise(step, {
      pauseMs: (failures) => backoffDelay(failures, RETRY_INITIAL_MS, RETRY_MAX_MS),
      stop: () => this.closed,
      onRetry: (err, failures) => {
        if ((failures - 1) % RETRY_LOG_EVERY === 0) this.error(`${what} failed (retrying): ${errorMessage(err)}`);
      },
    });
  }

  /** watch is a connection watch that is made again (and emits again) after it fails. */
  private watch(what: string, build: Parameters<EtcdConnection['watch']>[1]): Observable<void> {
    return this.connection.watch(what, build).pipe(
      retryWithBackoff({
        initialMs: RETRY_INITIAL_MS,
        maxMs: RETRY_MAX_MS,
        onRetry: (err, attempt) => {
          if ((attempt - 1) % RETRY_LOG_EVERY === 0) this.error(`${errorMessage(err)} (retrying)`);
        },
      }),
    );
  }

  /** setConverged publishes `/_mgmt/converged/$host` (on this agent's lease). */
  async setConverged(converged: boolean): Promise<void> {
    await this.leased.set(CONVERGED_PREFIX + this.me, String(converged)).catch((err: unknown) => this.error(errorMessage(err)));
  }

  /**
   * close leaves cleanly: the lease is revoked (its keys vanish, so the others stop using this
   * host's endpoint and see it gone), a member of a larger cluster removes itself through the
   * other members (so the last two never strand one another, and the leader can nominate another
   * volunteer at once), and the server stops.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    await Promise.race([this.leased.close(), delay(REVOKE_TIMEOUT_MS)]);
    // A join under way finishes first (it removes its new member when it sees the close).
    await Promise.race([this.transition, delay(LEAVE_TIMEOUT_MS)]);
    const server = this.server;
    if (!server) return;
    await this.options.joinService?.stop().catch(() => undefined);
    let left = false;
    if (this.memberId !== undefined) {
      // The calls that remove this member must not go to it: it stops serving once removed.
      const others = this.connection.endpoints.filter((url) => !server.clientUrls.includes(url));
      if (others.length > 0) this.connection.setEndpoints(others);
      left = await this.removeSelf(server, LEAVE_TIMEOUT_MS, 1);
    }
    this.server = undefined;
    await server.stop({ discard: left });
    // A member that left must start afresh if it comes back (member add needs an empty data dir).
    if (left) await rm(server.dataDir, { recursive: true, force: true }).catch(() => undefined);
  }

  // --- serving --------------------------------------------------------------------------------

  private queue(step: () => Promise<void>): void {
    this.transition = this.transition.then(step).catch((err: unknown) => this.error(errorMessage(err)));
  }

  /** followNominationSoon follows the nomination now, and again after a failure until it succeeds. */
  private followNominationSoon(): void {
    this.queue(async () => {
      try {
        await this.followNomination();
        this.nominationFailures = 0;
      } catch (err) {
        if (this.closed) return;
        if (err instanceof EtcdStartError && err.takenPorts.length > 0) {
          // Another process holds this host's etcd ports: no retry frees them.
          this.error(err.message);
          this.options.onFatal?.(err);
          return;
        }
        this.nominationFailures++;
        const retryInMs = backoffDelay(this.nominationFailures, 200, 5000);
        this.error(`${errorMessage(err)} (trying again in ${retryInMs} ms)`);
        setTimeout(() => this.followNominationSoon(), retryInMs).unref();
      }
    });
  }

  /** followNomination starts a server when this host is nominated and stops it when unnominated. */
  private async followNomination(): Promise<void> {
    if (this.closed) return;
    const nominated = await this.connection.bounded('read nominations', (client) => client.get(NOMINATED_PREFIX + this.me).string());
    if (this.closed) return;
    if (nominated !== null && !this.server && this.options.volunteer) await this.join();
    else if (nominated === null && this.server) await this.leave();
  }

  private async join(): Promise<void> {
    this.emit({ level: 'info', action: 'nominated', host: this.me });
    const peerUrls = this.options.peerUrls;
    const dataDir = this.options.dataDir;
    const hasData = existsSync(join(dataDir, 'member'));
    // Before `member add`: a member added that cannot start would cost a one-member cluster its quorum.
    await checkEtcdPorts(this.me, this.options.clientUrls, peerUrls, this.options.joinService?.urls ?? []);
    // The lock is held until the new member serves: while it starts, the quorum counts it already.
    await this.changeMembership('join the etcd cluster', JOIN_LOCK_TIMEOUT_MS, async () => {
      let members = await this.memberList();
      const mine = members.find((m) => sameUrls(m.peerUrls, peerUrls));
      let addedId: string | undefined;
      if (mine && mine.name === '') {
        // Added before but never started (a failed start): start it now. Removing it instead would
        // need a quorum that this unstarted member may be the one missing.
        await rm(dataDir, { recursive: true, force: true });
      } else if (!(mine && mine.name === this.me && hasData)) {
        // (A member that survived an agent restart with its data carries on as it is.)
        // etcd 3.4 refuses to join a cluster whose version is not decided yet (just bootstrapped).
        await this.waitForClusterVersion(members);
        if (mine) {
          // A member for these URLs from an earlier life (or a half-finished join): start it afresh.
          await this.removeMember(mine.id, 'remove a stale member');
        }
        await rm(dataDir, { recursive: true, force: true });
        // The answer lists the members as of the add; a fresh member list may come from a member
        // that has not applied the add yet (etcd's member list is not linearizable).
        const added = await this.retrying('add this host as an etcd member', MEMBERSHIP_ATTEMPTS, () =>
          this.connection.bounded('add this host as an etcd member', (client) => client.cluster.memberAdd({ peerURLs: [...peerUrls] })),
        );
        this.emit({ level: 'info', action: 'member-add', host: this.me, peerUrls });
        members = added.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs }));
        addedId = added.member.ID;
      }
      const initialCluster = members
        .flatMap((m) => m.peerUrls.map((url) => `${m.name === '' && sameUrls(m.peerUrls, peerUrls) ? this.me : m.name || `unstarted-${m.id}`}=${url}`))
        .join(',');
      try {
        await this.startServer('existing', initialCluster);
      } catch (err) {
        // Leave no member behind that can never start: it would count against the quorum.
        const id = addedId;
        if (id !== undefined) await this.removeMember(id, 'remove the failed member').catch(() => undefined);
        throw err;
      }
    });
    if (this.closed) return;
    // Right after a membership change (and others may follow at once) a write can outlast its
    // deadline while raft settles: it is tried again, with warnings, before it counts as a failure.
    await this.retrying('publish endpoints', MEMBERSHIP_ATTEMPTS, () => this.leased.set(ENDPOINTS_PREFIX + this.me, joinUrls(this.options.clientUrls)));
    await this.startJoinService();
  }

  private async leave(): Promise<void> {
    const server = this.server!;
    this.emit({ level: 'info', action: 'unnominated', host: this.me });
    await this.leased.set(ENDPOINTS_PREFIX + this.me, undefined).catch(() => undefined);
    await this.stopJoinService();
    // Stopping counts as the expected end of the process, not a crash to restart.
    this.server = undefined;
    // Under load a removal can time out; if it never succeeds the leader removes this departing member.
    const left = await this.removeSelf(server, 5000, MEMBERSHIP_ATTEMPTS);
    await server.stop({ discard: left });
    await rm(server.dataDir, { recursive: true, force: true }).catch(() => undefined);
    this.memberId = undefined;
    this.emit({ level: 'info', action: 'server-stop', host: this.me });
    void this.followEndpoints();
  }

  /** removeSelf removes this host's member (not the last one); it says whether the member is gone. */
  private async removeSelf(server: EtcdServer, timeoutMs: number, attempts: number, lockHeld = false): Promise<boolean> {
    let gone = false;
    const leave = async (): Promise<boolean> => {
      const members = await this.memberList();
      const me = members.find((m) => m.name === this.me);
      // The leader may have removed it already (it saw this host's lease go).
      if (!me) {
        gone = true;
        return true;
      }
      // The last member stays: removing it would end the cluster (and crash etcd).
      if (members.length < 2) return false;
      await this.handOverLeadership(server, me, members);
      await this.removeMember(me.id, 'remove this member');
      gone = true;
      this.emit({ level: 'info', action: 'member-remove', host: this.me, reason: 'left' });
      return true;
    };
    const watching = new AbortController();
    // When the other members leave at the same time (a whole cluster stopped), this one is soon the
    // last: there is then nothing to leave, and no other member left to take the lock from.
    const lastMember = this.untilLastMember(server, watching.signal).then(() => 'last' as const);
    try {
      const outcome = await Promise.race([lastMember, this.retrying('remove this host from the etcd cluster', attempts, () => withTimeout(
        // (A join that is stopped removes its member under the lock the join holds.)
        lockHeld ? leave() : this.changeMembership('remove this member', timeoutMs, leave),
        timeoutMs,
      ))]);
      if (outcome !== 'last') return outcome;
      this.emit({ level: 'info', action: 'last-member', host: this.me, message: 'the other members left: this host keeps the cluster\'s data' });
      return false;
    } catch (err) {
      // Removed, and only the lock's release was slow: that is a clean leave.
      if (gone) return true;
      // The others may be stopping too; if they are not, the leader removes this member later.
      this.emit({ level: 'warn', action: 'member-remove', host: this.me, message: `could not remove this host from the etcd cluster: ${errorMessage(err)}` });
      return false;
    } finally {
      watching.abort();
    }
  }

  /**
   * untilLastMember resolves once this host's own etcd lists it as the only member (etcd answers a
   * member list from its own state, so it does without a quorum); it never resolves otherwise, and
   * stops asking when aborted.
   */
  private async untilLastMember(server: EtcdServer, signal: AbortSignal): Promise<void> {
    const own = this.connection.connectTo(server.clientUrls, LAST_MEMBER_POLL_MS * 5);
    try {
      while (!signal.aborted) {
        const members = await own.bounded('list the members this host knows', (client) => client.cluster.memberList({})).catch(() => undefined);
        if (members && members.members.length === 1 && members.members[0]!.name === this.me) return;
        await delay(LAST_MEMBER_POLL_MS);
      }
    } finally {
      own.close();
    }
    // Aborted: the removal settled the race; this never resolves.
    return new Promise<never>(() => {});
  }

  /**
   * handOverLeadership makes another started member the raft leader when this member leads: a
   * leader that removes itself leaves requests in flight (the lock's release, other hosts' writes)
   * waiting for their deadline while the others elect a new one. It asks this host's own etcd (the
   * leader must be asked); a failure only costs that wait.
   */
  private async handOverLeadership(server: EtcdServer, me: ClusterMember, members: readonly ClusterMember[]): Promise<void> {
    const successor = members.find((m) => m.id !== me.id && m.name !== '');
    if (!successor) return;
    const own = this.connection.connectTo(server.clientUrls, HANDOVER_TIMEOUT_MS);
    try {
      const status = await own.bounded('read this member\'s status', (client) => client.maintenance.status({}));
      if (status.leader !== me.id) return;
      await own.bounded(`hand the raft leadership to ${successor.name}`, (client) => client.maintenance.moveLeader({ targetID: successor.id }));
      this.emit({ level: 'info', action: 'leader-handover', host: successor.name });
    } catch (err) {
      this.emit({ level: 'warn', action: 'leader-handover', host: successor.name, message: errorMessage(err) });
    } finally {
      own.close();
    }
  }

  private async startServer(state: 'new' | 'existing', initialCluster: string | undefined): Promise<void> {
    const server = this.options.makeServer({
      initialClusterState: state,
      initialCluster,
      onEvent: (event) => this.onServerEvent(server, event),
    });
    try {
      await server.start();
    } catch (err) {
      throw state === 'new' && err instanceof EtcdStartError && err.removedMember ? this.removedError(err) : err;
    }
    if (this.closed) {
      // Stopped while joining: the new member leaves as a started one does, while its etcd still
      // counts for the quorum the removal needs; left behind, it would cost the others theirs (a
      // one-member cluster that added it could then write nothing).
      const left = state === 'existing' && (await this.removeSelf(server, LEAVE_TIMEOUT_MS, 1, true));
      await server.stop({ discard: left });
      if (left) await rm(server.dataDir, { recursive: true, force: true }).catch(() => undefined);
      return;
    }
    this.server = server;
    this.memberId = (await this.memberList().catch(() => [])).find((m) => m.name === this.me)?.id;
    this.emit({ level: 'info', action: 'server-start', host: this.me, pid: server.pid, clientUrls: server.clientUrls, state });
    void this.followEndpoints();
  }

  /** startJoinService serves joins beside this host's etcd and publishes where, on this host's lease. */
  private async startJoinService(): Promise<void> {
    const service = this.options.joinService;
    if (!service) return;
    const urls = await service.start();
    await this.persist('publish the join service', () => this.leased.set(JOIN_PREFIX + this.me, joinUrls(urls)));
    this.emit({ level: 'info', action: 'join-service', host: this.me, urls });
  }

  private async stopJoinService(): Promise<void> {
    if (!this.options.joinService) return;
    await this.leased.set(JOIN_PREFIX + this.me, undefined).catch(() => undefined);
    await this.options.joinService.stop().catch((err: unknown) => this.error(`cannot stop the join service: ${errorMessage(err)}`));
  }

  private onServerEvent(server: EtcdServer, event: EtcdServerEvent): void {
    if (this.server !== server || this.closed) return; // a server being stopped on purpose
    if (event.type === 'crashed') {
      // etcd exits by itself when the cluster removed its member: that is no crash to restart.
      this.queue(() => this.checkStillMember(server));
      this.emit({ level: 'error', action: 'server-crash', host: this.me, reason: event.reason, restartInMs: event.restartInMs, message: `etcd ${event.reason}` });
    } else if (event.type === 'restarted') {
      this.emit({ level: 'warn', action: 'server-restart', host: this.me, pid: event.pid, attempt: event.attempt, ms: event.ms });
    }
  }

  /** removedError explains a bootstrap whose etcd data belongs to a member its cluster removed. */
  private removedError(err: EtcdStartError): MgmtError {
    return new MgmtError(
      `${err.message}: this host was removed from the etcd cluster that its data in ${this.options.dataDir} belongs to, and no other member it knows of answered; ` +
        `start it with --seeds URL (a member's client URL) to join that cluster again (its old data is then discarded), or move ${this.options.dataDir} away to start a new cluster`,
      { cause: err },
    );
  }

  /** waitForClusterVersion waits (up to JOIN_LOCK_TIMEOUT_MS) until every started member reports a decided cluster version. */
  private async waitForClusterVersion(members: readonly ClusterMember[]): Promise<void> {
    const urls = members.filter((m) => m.name !== '').flatMap((m) => (m.clientUrls ?? []).slice(0, 1));
    const deadline = Date.now() + JOIN_LOCK_TIMEOUT_MS;
    for (;;) {
      const versions = await Promise.all(urls.map((url) => clusterVersion(url, this.connection.credentials)));
      if (versions.every((v) => v !== undefined && v !== 'not_decided') || Date.now() > deadline) return;
      await delay(RETRY_INITIAL_MS);
    }
  }

  /** checkStillMember stops a server whose member the cluster removed, so this host can volunteer afresh. */
  private async checkStillMember(server: EtcdServer): Promise<void> {
    if (this.closed || this.server !== server) return;
    const members = await this.memberList();
    if (members.some((m) => m.name === this.me || sameUrls(m.peerUrls, this.options.peerUrls))) return;
    this.server = undefined;
    this.memberId = undefined;
    await this.leased.set(ENDPOINTS_PREFIX + this.me, undefined).catch(() => undefined);
    await this.stopJoinService();
    await server.stop();
    await rm(server.dataDir, { recursive: true, force: true }).catch(() => undefined);
    this.emit({ level: 'warn', action: 'server-stop', host: this.me, reason: 'removed from the cluster' });
    void this.followEndpoints();
  }

  // --- endpoints ------------------------------------------------------------------------------

  /** followEndpoints points the client at every server's client URLs (with this host's own, when it serves). */
  private async followEndpoints(): Promise<void> {
    if (this.closed) return;
    let entries: Record<string, string>;
    try {
      entries = await this.connection.bounded('read endpoints', (client) => client.getAll().prefix(ENDPOINTS_PREFIX).strings());
    } catch (err) {
      this.error(errorMessage(err));
      return;
    }
    if (this.closed) return;
    const next = serverEndpoints(entries, this.server?.clientUrls);
    if (next.length === 0) return; // keep the seeds
    if (this.connection.setEndpoints(next) || joinUrls(next) !== this.lastEndpoints) {
      this.lastEndpoints = joinUrls(next);
      this.emit({ level: 'info', action: 'endpoints', endpoints: next });
      await this.options.rememberEndpoints?.(next).catch((err: unknown) => this.error(`cannot keep the endpoints for a restart: ${errorMessage(err)}`));
    }
  }

  // --- leading --------------------------------------------------------------------------------

  /** lead runs the Chooser when this host's etcd is the raft leader, and carries out its actions. */
  private async lead(): Promise<void> {
    if (this.closed || !this.server || this.memberId === undefined) return;
    try {
      const status = await this.connection.bounded('read the etcd status', (client) => client.maintenance.status({}));
      if (status.leader !== this.memberId) return;
      const view = await this.readView();
      const actions = this.chooser.choose(view, Date.now());
      for (const action of actions) {
        if (this.closed) return;
        await this.act(action);
      }
      // Rights follow a view that holds no changes of this pass (a host just nominated is not in
      // it, and would lose the rights it was just given): the change's own watch brings the next pass.
      if (actions.length === 0) await this.reconcileRights(view);
    } catch (err) {
      this.error(errorMessage(err));
    }
  }

  private async readView(): Promise<ClusterView> {
    const [members, volunteers, nominated, ideal] = await Promise.all([
      this.memberList(),
      this.connection.bounded('read volunteers', (client) => client.getAll().prefix(VOLUNTEERS_PREFIX).strings()),
      this.connection.bounded('read nominations', (client) => client.getAll().prefix(NOMINATED_PREFIX).strings()),
      this.connection.bounded('read idealClusterSize', (client) => client.get(IDEAL_CLUSTER_SIZE_KEY).string()),
    ]);
    return {
      me: this.me,
      idealClusterSize: this.parseIdeal(ideal),
      members,
      volunteers: hostsUnder(VOLUNTEERS_PREFIX, volunteers),
      nominated: hostsUnder(NOMINATED_PREFIX, nominated),
    };
  }

  /**
   * reconcileRights gives server rights to the nominated and serving hosts and takes them back from
   * the others: a host keeps them while it is a member (it needs them to remove itself), and a host
   * that stopped serving loses them. Checked when a host stops serving, else every
   * RIGHTS_RECHECK_MS: a nominated host got them with its nomination, and every check is several
   * raft entries (etcd 3.4's auth calls) that a growing cluster need not wait behind.
   */
  private async reconcileRights(view: ClusterView): Promise<void> {
    const rights = this.options.serverRights;
    if (!rights) return;
    const servers = new Set<string>([this.me, ...view.nominated.keys(), ...view.members.map((m) => m.name).filter((name) => name !== '')]);
    const shrank = [...this.rightsCheckedFor].some((host) => !servers.has(host));
    if (!shrank && Date.now() - this.rightsCheckedAt < RIGHTS_RECHECK_MS) return;
    const holders = new Set(await rights.serverHosts());
    for (const host of servers) {
      if (holders.has(host)) continue;
      await rights.setServer(host, true);
      this.emit({ level: 'info', action: 'server-rights', host, granted: true });
    }
    const leavers = [...holders].filter((host) => !servers.has(host) && host !== 'root'); // etcd's own root user keeps its role
    // Taken back only from hosts that are still neither nominated nor members now.
    const now = leavers.length > 0 ? await this.readView() : view;
    const stillServing = new Set([...now.nominated.keys(), ...now.members.map((m) => m.name)]);
    for (const host of leavers) {
      if (stillServing.has(host)) continue;
      await rights.setServer(host, false);
      this.emit({ level: 'info', action: 'server-rights', host, granted: false });
    }
    this.rightsCheckedFor = servers;
    this.rightsCheckedAt = Date.now();
  }

  private parseIdeal(value: string | null): number {
    return value !== null && /^\s*\d+\s*$/.test(value) ? Number(value) : DEFAULT_IDEAL_CLUSTER_SIZE;
  }

  /** reportIdeal logs idealClusterSize when this host first reads it and whenever it changes. */
  private async reportIdeal(): Promise<void> {
    const value = await this.connection.bounded('read idealClusterSize', (client) => client.get(IDEAL_CLUSTER_SIZE_KEY).string());
    const ideal = this.parseIdeal(value);
    if (ideal === this.lastIdeal) return;
    const previous = this.lastIdeal;
    this.lastIdeal = ideal;
    if (value !== null && String(ideal) !== value.trim()) {
      this.emit({ level: 'warn', action: 'ideal-cluster-size', size: ideal, message: `${IDEAL_CLUSTER_SIZE_KEY} is ${JSON.stringify(value.slice(0, 40))}, not a whole number; using ${ideal}` });
    } else {
      this.emit({ level: 'info', action: 'ideal-cluster-size', size: ideal, previous });
    }
  }

  private async act(action: ClusterAction): Promise<void> {
    switch (action.action) {
      case 'nominate':
        // The rights first: a nominated host adds itself as a member, which needs them.
        await this.options.serverRights?.setServer(action.host, true);
        await this.connection.bounded(`nominate ${action.host}`, (client) => client.put(NOMINATED_PREFIX + action.host).value(joinUrls(action.peerUrls)).exec());
        this.emit({ level: 'info', action: 'nominate', host: action.host, peerUrls: action.peerUrls });
        return;
      case 'unnominate':
        await this.connection.bounded(`unnominate ${action.host}`, (client) => client.delete().key(NOMINATED_PREFIX + action.host).exec());
        this.emit({ level: 'info', action: 'unnominate', host: action.host, reason: action.reason });
        return;
      case 'member-remove':
        await this.changeMembership(`remove member ${action.host || action.id}`, JOIN_LOCK_TIMEOUT_MS, async () => {
          if (!(await this.memberList()).some((m) => m.id === action.id)) return;
          await this.removeMember(action.id, `remove member ${action.host || action.id}`);
        });
        if (action.host !== '') {
          await this.connection.bounded(`drop the endpoints of ${action.host}`, (client) => client.delete().key(ENDPOINTS_PREFIX + action.host).exec());
        }
        this.emit({ level: 'info', action: 'member-remove', host: action.host || undefined, id: action.id, reason: action.reason });
        return;
    }
  }

  /**
   * changeMembership runs one membership change under an etcd lock, so two hosts never change
   * membership at once (two last members removing themselves together crash etcd 3.4).
   */
  private async changeMembership<T>(what: string, timeoutMs: number, change: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lock = this.connection.client.lock(MEMBERSHIP_LOCK_KEY).ttl(Math.max(2, this.options.leaseTtlSeconds));
      try {
        await this.connection.bounded(`lock membership to ${what}`, () => lock.acquire());
      } catch (err) {
        if (Date.now() >= deadline) throw new Error(`could not ${what}: membership stayed locked for ${timeoutMs} ms (${errorMessage(err)})`);
        await delay(LOCK_RETRY_MS);
        continue;
      }
      try {
        return await change();
      } finally {
        await lock.release().catch(() => undefined);
      }
    }
  }

  /** removeMember removes a member; one already gone counts as removed (member lists can be stale). */
  private async removeMember(id: string, what: string): Promise<void> {
    try {
      await this.connection.bounded(what, (client) => client.cluster.memberRemove({ ID: id }));
    } catch (err) {
      if (!/member not found/i.test(errorMessage(err))) throw err;
    }
  }

  /** retrying runs a step up to `attempts` times, logging each failure but the last as a warning. */
  private retrying<T>(what: string, attempts: number, step: () => Promise<T>): Promise<T> {
    return retryPromise(step, {
      attempts,
      pauseMs: (failures) => backoffDelay(failures, RETRY_INITIAL_MS, RETRY_MAX_MS),
      stop: () => this.closed,
      onRetry: (err, failures) => {
        this.emit({ level: 'warn', action: 'retry', host: this.me, message: `${what} failed (attempt ${failures} of ${attempts}): ${errorMessage(err)}` });
      },
    });
  }

  private async memberList(): Promise<ClusterMember[]> {
    const list = await this.connection.bounded('list etcd members', (client) => client.cluster.memberList({}));
    return list.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs }));
  }

  private emit(event: ClusterEvent): void {
    this.options.onEvent(event);
  }

  private error(message: string): void {
    this.options.onEvent({ level: 'error', action: 'error', message });
  }
}
