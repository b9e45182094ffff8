// One etcd client over a set of endpoints that may change while the agent runs: clients follow
// `/_mgmt/endpoints/` (docs/cluster.md), so a host that joined through a seed keeps working when
// that seed dies. etcd3 fixes its host list at construction, so a new endpoint set means a new
// client; watches are built over `client$` and move to the new client by themselves. The same
// goes for its TLS credentials (issue 11 point 1): a renewed certificate means a new client.

import { ConstantBackoff, ExponentialBackoff, handleWhen, noop, retry, wrap } from 'cockatiel';
import { Etcd3, isRecoverableError, type Watcher } from 'etcd3';
import { BehaviorSubject, defer, distinctUntilChanged, Observable, ReplaySubject, switchMap, takeUntil } from 'rxjs';
import type { HostCredentials } from '../tls/files.js';
import { causesOf } from '../errors.js';
import { oneLine } from './log-reason.js';
import { tlsFailure } from './tls-failure.js';

/** EtcdConnectionOptions says where etcd is, how to prove who we are, and how long one operation may take. */
export interface EtcdConnectionOptions {
  /** The etcd client URLs, e.g. `https://127.0.0.1:2379` (`http://` without tls). */
  readonly endpoints: readonly string[];
  /** How long one operation (or establishing a watch) may take before it fails; default 5000 ms. */
  readonly timeoutMs?: number;
  /** The cluster CA to trust and this host's certificate and key; without it, plaintext (--insecure). */
  readonly tls?: HostCredentials;
}

// gRPC sets the TLS server name to the endpoint's host, an IP address for most clusters, and node
// then prints DEP0123 (RFC 6066 allows no IP there) on the agent's stderr. The name is only a hint
// (the certificate's IP SANs are what is checked): that one warning is not shown.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

const DEFAULT_TIMEOUT_MS = 5000;

/** EtcdTimeout is a bounded call that got no answer in time (not a refusal). */
export class EtcdTimeout extends Error {}

/**
 * answeredLate tells a cluster that is slow to answer (a bounded call's timeout, or etcd's own
 * while it elects a leader) from one that refused: the first is worth asking again.
 */
export function answeredLate(err: unknown): boolean {
  return causesOf(err).some((cause) => cause instanceof EtcdTimeout || /etcdserver: (request timed out|leader changed|no leader)/.test(cause.message));
}
// A replaced client may still be finishing a call; it is closed once such calls are surely over.
const RETIRE_AFTER_MS = 2 * DEFAULT_TIMEOUT_MS;

/** EtcdConnection is the agent's etcd client: bounded calls, watches, and a replaceable endpoint set. */
export class EtcdConnection {
  readonly timeoutMs: number;
  private readonly clients: BehaviorSubject<Etcd3>;
  private currentEndpoints: readonly string[];
  private currentTls: HostCredentials | undefined;
  private readonly retired = new Set<NodeJS.Timeout>();
  // Replays its one value, so a watch subscribed after close completes at once.
  private readonly closed$ = new ReplaySubject<void>(1);
  private closed = false;

  constructor(options: EtcdConnectionOptions) {
    if (options.endpoints.length === 0) throw new Error('etcd needs at least one endpoint (e.g. http://127.0.0.1:2379)');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.currentTls = options.tls;
    this.currentEndpoints = normalize(options.endpoints);
    const wrong = this.currentEndpoints.find((url) => !this.fitsScheme(url));
    if (wrong !== undefined) {
      throw new Error(options.tls ? `etcd endpoint ${wrong} is not https: a connection with TLS credentials reaches https URLs only` : `etcd endpoint ${wrong} is https: reaching it needs the cluster CA and this host's certificate`);
    }
    this.clients = new BehaviorSubject(this.makeClient(this.currentEndpoints, options.tls));
  }

  /** client is the current etcd3 client; take it anew for every operation, as it changes with the endpoints. */
  get client(): Etcd3 {
    this.checkOpen();
    return this.clients.value;
  }

  /** endpoints are the client URLs the current client uses. */
  get endpoints(): readonly string[] {
    return this.currentEndpoints;
  }

  /** credentials are the TLS credentials the current client uses; undefined for plaintext. */
  get credentials(): HostCredentials | undefined {
    return this.currentTls;
  }

  /** client$ emits the current client and each replacement, until close. */
  get client$(): Observable<Etcd3> {
    return this.clients.pipe(distinctUntilChanged(), takeUntil(this.closed$));
  }

  /**
   * setEndpoints switches to a new client when the endpoint set changed; it returns whether it did.
   * Endpoints of the other scheme (http with TLS, https without) are left out: the list comes from
   * etcd, where a host could publish a plaintext URL to strip the others' TLS.
   */
  setEndpoints(endpoints: readonly string[]): boolean {
    this.checkOpen();
    const next = normalize(endpoints).filter((url) => this.fitsScheme(url));
    if (next.length === 0 || sameList(next, this.currentEndpoints)) return false;
    this.currentEndpoints = next;
    this.replaceClient(this.makeClient(next, this.currentTls));
    return true;
  }

  /**
   * setCredentials switches to a new client with renewed credentials (the same CA, a new host
   * certificate), so the agent uses it without a restart; watches move over as with setEndpoints.
   */
  setCredentials(tls: HostCredentials): void {
    this.checkOpen();
    if (!this.currentTls) throw new Error('setCredentials: this etcd connection is plaintext (--insecure); it cannot switch to TLS');
    if (sameCredentials(tls, this.currentTls)) return;
    // Made before anything changes: credentials grpc cannot use leave the connection as it was.
    const next = this.makeClient(this.currentEndpoints, tls);
    this.currentTls = tls;
    this.replaceClient(next);
  }

  /** connectTo makes another connection, with this one's current credentials, to other endpoints (e.g. one member's own). */
  connectTo(endpoints: readonly string[], timeoutMs = this.timeoutMs): EtcdConnection {
    return new EtcdConnection({ endpoints, timeoutMs, tls: this.currentTls });
  }

  /** bounded runs one etcd operation, failing with an error naming the endpoints if it fails or outlasts the timeout. */
  async bounded<T>(what: string, operation: (client: Etcd3) => Promise<T>): Promise<T> {
    this.checkOpen();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new EtcdTimeout(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([operation(this.clients.value), timeout]);
    } catch (err) {
      const tls = this.currentTls && tlsFailure(err);
      throw new Error(
        tls
          ? `cannot ${what} on etcd ${this.currentEndpoints.join(', ')}: ${tls}`
          : `cannot ${what} on etcd ${this.currentEndpoints.join(', ')}: ${oneLine((err as Error).message)}; check that etcd is running and reachable there`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * watch emits once the etcd watch from `build` is established, then on each change, until close.
   * When the endpoints change, the watch is made again on the new client (and emits again).
   */
  watch(what: string, build: (client: Etcd3) => ReturnType<Etcd3['watch']>): Observable<void> {
    return defer(() => {
      this.checkOpen();
      return this.client$.pipe(switchMap((client) => this.watchOn(client, what, build)));
    });
  }

  /** close closes the client; watches complete first, so they do not turn into errors. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closed$.next();
    this.closed$.complete();
    for (const timer of this.retired) clearTimeout(timer);
    this.retired.clear();
    this.clients.value.close();
    this.clients.complete();
  }

  /** isClosed says whether close was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  private watchOn(client: Etcd3, what: string, build: (client: Etcd3) => ReturnType<Etcd3['watch']>): Observable<void> {
    return new Observable<void>((subscriber) => {
      let watcher: Watcher | undefined;
      let unsubscribed = false;
      const creating = build(client).create();
      this.bounded(what, () => creating).then(
        (w) => {
          if (unsubscribed) {
            void w.cancel().catch(() => {});
            return;
          }
          watcher = w;
          w.on('data', () => subscriber.next());
          w.on('error', (err) => subscriber.error(new Error(`${what} on etcd ${this.currentEndpoints.join(', ')} failed: ${(this.currentTls && tlsFailure(err)) ?? err.message}`, { cause: err })));
          subscriber.next();
        },
        (err: unknown) => {
          // A watch that timed out may still be created later; it must not linger in the client.
          creating.then((w) => w.cancel()).catch(() => {});
          subscriber.error(err);
        },
      );
      return () => {
        unsubscribed = true;
        void watcher?.cancel().catch(() => {});
      };
    });
  }

  // The replaced client may still be finishing a call: it is closed a little later.
  private replaceClient(client: Etcd3): void {
    const old = this.clients.value;
    this.clients.next(client);
    const timer = setTimeout(() => {
      this.retired.delete(timer);
      old.close();
    }, RETIRE_AFTER_MS);
    timer.unref();
    this.retired.add(timer);
  }

  private fitsScheme(url: string): boolean {
    return this.currentTls ? url.startsWith('https://') : !url.startsWith('https://');
  }

  private makeClient(endpoints: readonly string[], tls: HostCredentials | undefined): Etcd3 {
    try {
      return this.makeEtcd3(endpoints, tls);
    } catch (err) {
      // grpc reads the PEM at once and says only OpenSSL's "no start line".
      throw new Error(`etcd ${endpoints.join(', ')}: the cluster CA, host certificate or key is not usable: ${oneLine((err as Error).message)}`, { cause: err });
    }
  }

  private makeEtcd3(endpoints: readonly string[], tls: HostCredentials | undefined): Etcd3 {
    return new Etcd3({
      hosts: [...endpoints],
      ...(tls && { credentials: { rootCertificate: Buffer.from(tls.caPem), certChain: Buffer.from(tls.certPem), privateKey: Buffer.from(tls.keyPem) } }),
      dialTimeout: this.timeoutMs,
      // Unary calls get a deadline so an unreachable cluster fails them instead of hanging; the
      // watch stream must stay open, so it gets none (its setup is bounded by `bounded` instead).
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
      faultHandling: {
        // No per-host circuit breaker: etcd3's default opens for 5 s after three failures, and a
        // client with one endpoint (its seed) would then fail every call through a leader change.
        host: () => noop,
        // A failed call is retried on another endpoint: this is the failover when a server dies.
        // A call refused for an old auth revision is made again at once (the rights changed, the
        // server did not fail).
        global: wrap(
          retry(handleWhen(isAuthRevisionOld), { maxAttempts: 3, backoff: new ConstantBackoff(0) }),
          retry(handleWhen(isRecoverableError), { maxAttempts: Math.max(3, endpoints.length * 2), backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 200 }) }),
        ),
        // Watches move to a live endpoint quickly (etcd3's default backs off up to 30 s).
        watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }).next(),
      },
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the etcd connection is closed');
  }
}

/**
 * isAuthRevisionOld: etcd refused a request because users or roles changed between its
 * authentication and its apply (a host admitted, server rights granted or taken back); it was not
 * applied, and the same request is made again with the new rights (as etcd's own client does).
 */
function isAuthRevisionOld(err: Error): boolean {
  return /revision of auth store is old/.test(err.message);
}

function normalize(endpoints: readonly string[]): string[] {
  return [...new Set(endpoints.map((url) => url.trim()).filter((url) => url !== ''))].sort();
}

function sameCredentials(a: HostCredentials, b: HostCredentials): boolean {
  return a.caPem === b.caPem && a.certPem === b.certPem && a.keyPem === b.keyPem;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
