// The etcd server the agent starts and supervises when it runs without --seeds. It is a child
// process started by the OS layer's runner, never a shell command line: every flag is one element
// of an argument array, so prefixes and URLs need no quoting.

import { chmod, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MgmtError } from '../errors.js';
import { startProcess, type RunningProcess } from '../os/process.js';
import { OutputTail } from '../os/tail.js';
import { delay, withTimeout } from '../os/time.js';
import { tlsPaths, type HostCredentials } from '../tls/files.js';
import { findOnPath } from '../os/program-path.js';
import { resolveEtcdBinary } from './binary.js';
import { httpGetJson } from './http-get.js';
import { etcdReason, REMOVED_MEMBER } from './log-reason.js';
import { takenPorts, takenPortsMessage, type TakenPort } from './port-check.js';

/** EtcdServerOptions configures one managed etcd member. */
export interface EtcdServerOptions {
  /** The agent's --prefix; etcd keeps its data in `<prefix>/etcd` (mode 0700). */
  readonly prefix: string;
  /** The etcd binary: a path, or a name looked up on PATH; default `etcd`. */
  readonly binary?: string;
  /** The member name; default this machine's hostname. */
  readonly name?: string;
  /** URLs etcd serves clients on (listen and advertise); default `http://127.0.0.1:2379` (`https://` with tls). */
  readonly clientUrls?: readonly string[];
  /** URLs etcd serves peers on (listen and initial advertise); default `http://127.0.0.1:2380` (`https://` with tls). */
  readonly peerUrls?: readonly string[];
  /**
   * The cluster CA and this host's certificate and key: etcd then serves clients and peers over TLS
   * and requires their certificates (issue 11 point 1), and every URL must be https. Without it,
   * plain http (--insecure) and every URL must be http.
   */
  readonly tls?: EtcdTlsFiles;
  /** The `--initial-cluster` value; default this member alone, `<name>=<peer urls>`. */
  readonly initialCluster?: string;
  /** `new` bootstraps a cluster, `existing` joins one after `member add`; default `new`. */
  readonly initialClusterState?: 'new' | 'existing';
  /** Raft heartbeat in ms; default 100 (etcd's). Tests use 10. */
  readonly heartbeatIntervalMs?: number;
  /** Raft election timeout in ms; default 1000 (etcd's). Tests use 50. */
  readonly electionTimeoutMs?: number;
  /** Passes `--strict-reconfig-check=false`, so `member add` succeeds right after start; default false. */
  readonly relaxReconfigCheck?: boolean;
  /** How long start (and each restart) may wait for `/health`; default 10 s. */
  readonly startTimeoutMs?: number;
  /** How long stop waits after SIGTERM before SIGKILL; default 5 s. */
  readonly stopTimeoutMs?: number;
  /** First delay before restarting a crashed etcd; doubled per crash up to maxRestartDelayMs; default 100 ms. */
  readonly restartDelayMs?: number;
  /** Upper bound of the restart delay; default 5 s. */
  readonly maxRestartDelayMs?: number;
  /** Receives every lifecycle event, so the agent can log crashes and restarts. */
  readonly onEvent?: (event: EtcdServerEvent) => void;
  /** How much history etcd keeps before compacting it away (a Go duration); default `1m`. */
  readonly compactionRetention?: string;
  /** etcd's `--quota-backend-bytes` (NOSPACE above it); default env MGMT_ETCD_QUOTA_BACKEND_BYTES, else etcd's 2 GiB. */
  readonly quotaBackendBytes?: number;
}

/** EtcdTlsFiles are the PEM files etcd serves with; it re-reads them on each handshake, so they may be renewed in place. */
export interface EtcdTlsFiles {
  /** The cluster CA certificate: clients and peers must present a certificate it signed. */
  readonly caFile: string;
  /** This host's certificate, presented on the client and the peer port. */
  readonly certFile: string;
  /** This host's private key. */
  readonly keyFile: string;
}

/** etcdTlsFiles names the files of `prefix`'s credentials (PREFIX/tls) as etcd takes them. */
export function etcdTlsFiles(prefix: string): EtcdTlsFiles {
  const paths = tlsPaths(prefix);
  return { caFile: paths.caCert, certFile: paths.hostCert, keyFile: paths.hostKey };
}

/** EtcdServerEvent is one lifecycle change of the managed etcd process. */
export type EtcdServerEvent =
  | { readonly type: 'started'; readonly pid: number; readonly clientUrls: readonly string[]; readonly ms: number }
  | {
      readonly type: 'crashed';
      readonly pid: number | undefined;
      /** Why: the exit code or signal, or the restart's failure. */
      readonly reason: string;
      readonly stderrTail: string;
      /** When the next restart attempt is due, in ms. */
      readonly restartInMs: number;
    }
  | {
      readonly type: 'restarted';
      readonly pid: number;
      /** How many restarts this server has made since start(), this one included. */
      readonly attempt: number;
      readonly ms: number;
    }
  | { readonly type: 'stopped'; readonly pid: number | undefined };

/** EtcdStartError is a start of etcd that failed: one line with etcd's own reason, and its stderr. */
export class EtcdStartError extends MgmtError {
  /** The reason etcd logged, when it logged one. */
  readonly etcdReason: string | undefined;
  /** The ports found taken before etcd was started (empty when etcd was started). */
  readonly takenPorts: readonly TakenPort[];
  /** The end of etcd's stderr, for whoever needs more than the reason. */
  readonly stderrTail: string;

  constructor(message: string, details: { etcdReason?: string; takenPorts?: readonly TakenPort[]; stderrTail?: string } = {}) {
    super(message);
    this.etcdReason = details.etcdReason;
    this.takenPorts = details.takenPorts ?? [];
    this.stderrTail = details.stderrTail ?? '';
  }

  /** removedMember says whether etcd stopped because the cluster had removed the member its data belongs to. */
  get removedMember(): boolean {
    return this.etcdReason?.includes(REMOVED_MEMBER) ?? false;
  }
}

// etcd's own defaults; the fast test values come in through the options.
const DEFAULT_HEARTBEAT_MS = 100;
const DEFAULT_ELECTION_MS = 1000;
const HEALTH_POLL_MS = 15;
// Enough of etcd's log to hold its last words (the reason it stopped).
const STDERR_TAIL_BYTES = 8192;
// A run that stayed up this long was not part of a crash loop: the backoff starts over.
const STABLE_RUN_MS = 10_000;

/** EtcdServer starts etcd as a supervised child process: restarted with backoff when it crashes, never after stop(). */
export class EtcdServer {
  /** The client URLs this server listens on (the first is polled for health). */
  readonly clientUrls: readonly string[];
  /** The peer URLs this server listens on. */
  readonly peerUrls: readonly string[];
  /** The member name given to etcd. */
  readonly name: string;
  /** The etcd data directory, `<prefix>/etcd`. */
  readonly dataDir: string;

  private readonly options: EtcdServerOptions;
  // The end of the current (or last) etcd's stderr; a launch starts a new one.
  private stderr = new OutputTail(STDERR_TAIL_BYTES);
  private child: RunningProcess | undefined;
  private childExited: Promise<void> | undefined;
  private binary: string | undefined;
  private deathSignalWrapper: string | undefined;
  private state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay: number;
  private restartAttempt = 0;
  private runStartedAt = 0;

  constructor(options: EtcdServerOptions) {
    this.options = options;
    this.name = options.name ?? hostname();
    const scheme = options.tls ? 'https' : 'http';
    this.clientUrls = options.clientUrls ?? [`${scheme}://127.0.0.1:2379`];
    this.peerUrls = options.peerUrls ?? [`${scheme}://127.0.0.1:2380`];
    this.dataDir = join(options.prefix, 'etcd');
    this.restartDelay = options.restartDelayMs ?? 100;
    if (this.clientUrls.length === 0) throw new MgmtError('etcd server: clientUrls must not be empty');
    if (this.peerUrls.length === 0) throw new MgmtError('etcd server: peerUrls must not be empty');
    checkSchemes(this.clientUrls, this.peerUrls, options.tls !== undefined);
  }

  /** pid is the current etcd process id, or undefined while none runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** args returns the argument array etcd is started with. */
  args(): string[] {
    const clients = this.clientUrls.join(',');
    const peers = this.peerUrls.join(',');
    const args = [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', clients,
      '--advertise-client-urls', clients,
      '--listen-peer-urls', peers,
      '--initial-advertise-peer-urls', peers,
      '--initial-cluster', this.options.initialCluster ?? this.peerUrls.map((url) => `${this.name}=${url}`).join(','),
      '--initial-cluster-state', this.options.initialClusterState ?? 'new',
      '--logger=zap',
      // A slow member (a busy host) asks before campaigning, so it cannot depose a healthy leader.
      '--pre-vote=true',
      '--log-outputs=stderr',
      `--heartbeat-interval=${this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS}`,
      `--election-timeout=${this.options.electionTimeoutMs ?? DEFAULT_ELECTION_MS}`,
    ];
    if (this.options.relaxReconfigCheck) args.push('--strict-reconfig-check=false');
    return [...args, ...tlsArgs(this.options.tls), ...storeArgs(this.options)];
  }

  /** start launches etcd and resolves once it answers `/health`; it rejects (with etcd's stderr tail) if etcd exits or the timeout passes first. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new MgmtError(`etcd server: start() called while ${this.state}`);
    this.state = 'starting';
    try {
      this.binary = await resolveEtcdBinary(this.options.binary);
      this.deathSignalWrapper = await findOnPath('setpriv');
      await mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      // mkdir's mode is filtered by the umask and ignored for an existing dir; etcd wants exactly 0700.
      await chmod(this.dataDir, 0o700);
      const began = Date.now();
      const pid = await this.launch();
      if (this.isStopped()) return;
      this.state = 'running';
      this.emit({ type: 'started', pid, clientUrls: this.clientUrls, ms: Date.now() - began });
    } catch (err) {
      if (!this.isStopped()) this.state = 'idle';
      throw err;
    }
  }

  /**
   * stop sends SIGTERM, waits up to stopTimeoutMs, then SIGKILLs; it never restarts afterwards and
   * is safe to call twice. `discard`: the member was removed and its data is deleted next, so there
   * is nothing to shut down gracefully (etcd with TLS waits for its clients' connections to end).
   */
  async stop(options: { readonly discard?: boolean } = {}): Promise<void> {
    const wasStopped = this.state === 'stopped';
    this.state = 'stopped';
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    const exited = this.childExited;
    if (!child || !exited) {
      if (!wasStopped) this.emit({ type: 'stopped', pid: undefined });
      return;
    }
    child.signal('SIGTERM');
    const timeout = options.discard ? 0 : (this.options.stopTimeoutMs ?? 5000);
    const timedOut = await withTimeout(exited, timeout).then(
      () => false,
      () => true,
    );
    if (timedOut) {
      child.signal('SIGKILL');
      await exited;
    }
    this.emit({ type: 'stopped', pid: child.pid });
  }

  // launch spawns one etcd process and waits for it to be healthy. On failure the
  // process is gone (killed if it was still alive) and the error carries its stderr.
  private async launch(): Promise<number> {
    this.stderr = new OutputTail(STDERR_TAIL_BYTES);
    await checkEtcdPorts(this.name, this.clientUrls, this.peerUrls);
    // etcd must not outlive a SIGKILLed agent (an orphan would keep serving as a member nobody
    // manages): setpriv makes the kernel kill it when its parent dies.
    const [command, args] = this.deathSignalWrapper ? [this.deathSignalWrapper, ['--pdeathsig', 'SIGKILL', '--', this.binary!, ...this.args()]] : [this.binary!, this.args()];
    const child = startProcess({ file: command, args, stdout: 'ignore', tailBytes: STDERR_TAIL_BYTES });
    this.child = child;
    this.stderr = child.stderr;
    let exit: string | undefined;
    // Settles once etcd's last words are read from its stderr.
    const exited = child.exited.then(
      (ended) => {
        // etcd that stops by itself says why in its log (a signal is someone else's doing).
        const reason = ended.signal ? undefined : etcdReason(child.stderr.text());
        exit = ended.signal ? `killed by ${ended.signal}` : `exited with code ${ended.code}${reason ? `: ${reason}` : ''}`;
      },
      // A spawn failure (EACCES, ENOENT after the PATH check) has no exit.
      (err: Error) => {
        exit ??= `could not be started: ${err.message}`;
      },
    );
    this.childExited = exited;
    void exited.then(() => {
      if (this.child === child) this.child = undefined;
    });

    const healthy = await this.waitHealthy(exited);
    if (!healthy) {
      // stop() is already terminating the process; it is not a start failure to explain.
      if (this.isStopped()) throw new MgmtError(`etcd server ${this.name}: stopped before etcd became healthy`);
      if (exit === undefined) {
        child.signal('SIGKILL');
        await exited;
        throw this.startError(`did not answer ${this.healthUrl()} within ${this.startTimeoutMs()} ms`);
      }
      throw this.startError(exit);
    }
    this.runStartedAt = Date.now();
    void exited.then(() => this.onExit(child, exit ?? 'exited'));
    return child.pid!;
  }

  // waitHealthy polls /health until it reports true (resolves true), or the process
  // exits, stop() is called or the start timeout passes (resolves false).
  private async waitHealthy(exited: Promise<void>): Promise<boolean> {
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + this.startTimeoutMs();
    const url = this.healthUrl();
    while (!gone && !this.isStopped() && Date.now() < deadline) {
      // Race the exit: a port squatter that accepts but never answers must not delay the error.
      const probe = this.probeCredentials().then(
        (tls) => isHealthy(url, Math.max(1, Math.min(1000, deadline - Date.now())), tls),
        () => false,
      );
      if (await Promise.race([probe, exited.then(() => false)])) return !gone;
      await Promise.race([exited, delay(HEALTH_POLL_MS)]);
    }
    return false;
  }

  private onExit(child: RunningProcess, reason: string): void {
    if (this.isStopped() || this.state === 'idle') return;
    const ranFor = Date.now() - this.runStartedAt;
    if (ranFor >= STABLE_RUN_MS) this.restartDelay = this.options.restartDelayMs ?? 100;
    this.scheduleRestart(child.pid, reason);
  }

  private scheduleRestart(pid: number | undefined, reason: string): void {
    const delay = this.restartDelay;
    this.restartDelay = Math.min(delay * 2, this.options.maxRestartDelayMs ?? 5000);
    this.emit({ type: 'crashed', pid, reason, stderrTail: this.stderr.text(), restartInMs: delay });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delay);
  }

  private async restart(): Promise<void> {
    if (this.isStopped()) return;
    const attempt = ++this.restartAttempt;
    const began = Date.now();
    try {
      const pid = await this.launch();
      if (this.isStopped()) return;
      this.emit({ type: 'restarted', pid, attempt, ms: Date.now() - began });
    } catch (err) {
      if (this.isStopped()) return;
      // The failed attempt counts as another crash: back off further and try again.
      this.scheduleRestart(undefined, `restart ${attempt} failed: ${(err as Error).message}`);
    }
  }

  private startError(what: string): EtcdStartError {
    const stderrTail = this.stderr.text();
    const reason = etcdReason(stderrTail);
    // A port taken between the check and etcd's own listen: etcd's reason names it.
    const portHint = /address already in use/.test(reason ?? '') ? `; choose free ports (client ${this.clientUrls.join(',')}, peer ${this.peerUrls.join(',')})` : '';
    // `what` already carries etcd's reason when etcd exited by itself.
    const because = reason === undefined || what.includes(reason) ? '' : `: ${reason}`;
    return new EtcdStartError(`etcd server ${this.name}: etcd ${what}${because}${portHint}`, { etcdReason: reason, stderrTail });
  }

  // Read at each probe: a renewal replaces host.crt in place while etcd runs.
  private async probeCredentials(): Promise<HostCredentials | undefined> {
    return this.options.tls ? readTlsFiles(this.options.tls) : undefined;
  }

  private healthUrl(): string {
    return new URL('/health', this.clientUrls[0]).toString();
  }

  private startTimeoutMs(): number {
    return this.options.startTimeoutMs ?? 10_000;
  }

  // A method rather than a direct comparison: TypeScript narrows `state` across awaits otherwise.
  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  private emit(event: EtcdServerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A throwing listener must not break supervision.
    }
  }
}

/** DEFAULT_COMPACTION_RETENTION is how much history the agents' etcd keeps: watches resume within it. */
export const DEFAULT_COMPACTION_RETENTION = '1m';
/** QUOTA_ENV sets `--quota-backend-bytes` for every etcd the agent starts (tests use a few MB to reach NOSPACE). */
export const QUOTA_ENV = 'MGMT_ETCD_QUOTA_BACKEND_BYTES';

/**
 * storeArgs are the flags that keep etcd's store bounded: without compaction every write stays in
 * the history until the quota's NOSPACE alarm stops all writes (issue 11 point 8).
 */
export function storeArgs(options: Pick<EtcdServerOptions, 'compactionRetention' | 'quotaBackendBytes'>, env: NodeJS.ProcessEnv = process.env): string[] {
  const retention = options.compactionRetention ?? DEFAULT_COMPACTION_RETENTION;
  if (!/^\d+(\.\d+)?(ms|s|m|h)$/.test(retention)) {
    throw new MgmtError(`etcd server: compaction retention ${JSON.stringify(retention)} is not a duration like 1m or 30s`);
  }
  const args = ['--auto-compaction-mode=periodic', `--auto-compaction-retention=${retention}`];
  const quota = options.quotaBackendBytes ?? (env[QUOTA_ENV] === undefined || env[QUOTA_ENV] === '' ? undefined : Number(env[QUOTA_ENV]));
  if (quota !== undefined) {
    if (!Number.isSafeInteger(quota) || quota <= 0) {
      throw new MgmtError(`etcd server: quota ${JSON.stringify(options.quotaBackendBytes ?? env[QUOTA_ENV])} (${QUOTA_ENV} or quotaBackendBytes) must be a positive number of bytes`);
    }
    args.push(`--quota-backend-bytes=${quota}`);
  }
  return args;
}

/**
 * tlsArgs are the flags that make etcd serve clients and peers with the cluster's certificates and
 * require theirs. Never --auto-tls/--peer-auto-tls: a self-signed certificate proves nothing.
 */
export function tlsArgs(tls: EtcdTlsFiles | undefined): string[] {
  if (!tls) return [];
  return [
    '--cert-file', tls.certFile,
    '--key-file', tls.keyFile,
    '--trusted-ca-file', tls.caFile,
    '--client-cert-auth',
    '--peer-cert-file', tls.certFile,
    '--peer-key-file', tls.keyFile,
    '--peer-trusted-ca-file', tls.caFile,
    '--peer-client-cert-auth',
  ];
}

/** readTlsFiles reads the CA, certificate and key files as PEM credentials (for a probe of /health or /version). */
export async function readTlsFiles(tls: EtcdTlsFiles): Promise<HostCredentials> {
  const [caPem, certPem, keyPem] = await Promise.all([tls.caFile, tls.certFile, tls.keyFile].map((file) => readFile(file, 'utf8')));
  return { caPem: caPem!, certPem: certPem!, keyPem: keyPem! };
}

// etcd would serve an http URL in the clear beside TLS ones, and fail on an https URL without files.
function checkSchemes(clientUrls: readonly string[], peerUrls: readonly string[], tls: boolean): void {
  const want = tls ? 'https:' : 'http:';
  for (const url of [...clientUrls, ...peerUrls]) {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      throw new MgmtError(`etcd server: ${JSON.stringify(url)} is not a URL`);
    }
    if (protocol !== want) {
      throw new MgmtError(
        tls
          ? `etcd server: ${url} is not https: with TLS credentials etcd serves https URLs only`
          : `etcd server: ${url} is not http: without TLS credentials (--insecure) etcd serves http URLs only`,
      );
    }
  }
}

/**
 * checkEtcdPorts fails with an EtcdStartError naming each client or peer URL whose port is taken.
 * A joining host asks before `member add`: a member added that cannot start costs the cluster its
 * quorum (a second member of one), so that nothing could remove it again.
 */
export async function checkEtcdPorts(name: string, clientUrls: readonly string[], peerUrls: readonly string[], joinUrls: readonly string[] = []): Promise<void> {
  const taken = await takenPorts({ client: clientUrls, peer: peerUrls, join: joinUrls });
  if (taken.length > 0) throw new EtcdStartError(`etcd server ${name}: ${takenPortsMessage(taken)}`, { takenPorts: taken });
}

/** isHealthy asks etcd's `/health` endpoint once (over https with `tls`) and reports whether it answered `"health": "true"`. */
export async function isHealthy(url: string, timeoutMs = 1000, tls?: HostCredentials): Promise<boolean> {
  try {
    const body = (await httpGetJson(url, { timeoutMs, tls })) as { health?: unknown } | null;
    return body?.health === 'true' || body?.health === true;
  } catch {
    return false;
  }
}

/** clusterVersion reads etcd's `/version` (`etcdcluster`, over https with `tls`); undefined when it does not answer. */
export async function clusterVersion(clientUrl: string, tls?: HostCredentials): Promise<string | undefined> {
  try {
    const body = (await httpGetJson(new URL('/version', clientUrl).toString(), { timeoutMs: 1000, tls })) as { etcdcluster?: unknown } | null;
    return typeof body?.etcdcluster === 'string' ? body.etcdcluster : undefined;
  } catch {
    return undefined;
  }
}
