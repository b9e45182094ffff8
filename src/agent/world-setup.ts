// Which World `mgmt run` uses:
//   --seeds URL...            join that etcd cluster as a client (and volunteer, unless --no-server)
//   --no-server, no seeds     the local World under --prefix
//   no seeds, etcd found      start and supervise our own etcd (a new cluster); resources do not wait
//   no seeds, no etcd         the local World, with one warning line

import { join } from 'node:path';
import type { Cluster, ClusterEvent } from '../cluster/cluster.js';
import { defaultJoinUrls, HOSTNAME_PATTERN, splitUrls } from '../cluster/keys.js';
import { readKnownEndpoints, saveKnownEndpoints } from '../cluster/known-endpoints.js';
import { resolveEtcdBinary } from '../etcd/binary.js';
import type { EtcdConnection } from '../etcd/connection.js';
import { oneLine } from '../etcd/log-reason.js';
import { errorMessage, MgmtError, UsageError } from '../errors.js';
import type { EventLog } from '../log/events.js';
import { DEFAULT_CERT_LIFETIME_MS } from '../tls/lifetimes.js';
import { DeferredWorld } from '../world/deferred.js';
import type { EtcdWorld } from '../world/etcd.js';
import type { SecuredHost } from '../cluster/secure.js';
import { LocalWorld } from '../world/local.js';
import type { World } from '../world/types.js';

/** How long a joining host keeps asking a cluster that answers late before it gives up. */
const FIRST_REACH_PATIENCE_MS = 20_000;

/** ClusterSettings are the etcd and clustering flags of `mgmt run`. */
export interface ClusterSettings {
  readonly seeds: readonly string[];
  readonly noServer: boolean;
  readonly etcdBinary?: string;
  readonly clientUrls: readonly string[];
  readonly serverUrls: readonly string[];
  readonly idealClusterSize: number;
  readonly leaseTtlSeconds: number;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  /** `--insecure`: plaintext etcd (http://) without certificates or authentication, for labs and tests. */
  readonly insecure: boolean;
  /** The join token of a host without a certificate (never logged). */
  readonly token?: string;
  /** The seeds' join service, when not at the seed's port - 1. */
  readonly joinUrl?: string;
  /** Where this host's join service listens while it serves; empty = each client URL's port - 1. */
  readonly joinUrls: readonly string[];
  /** Lifetime of the certificates this host signs. */
  readonly certLifetimeMs: number;
}

/** DEFAULT_CLUSTER_SETTINGS are the flags' defaults (a bootstrapping host on 127.0.0.1:2379/2380). */
export const DEFAULT_CLUSTER_SETTINGS: ClusterSettings = {
  seeds: [],
  noServer: false,
  clientUrls: ['https://127.0.0.1:2379'],
  serverUrls: ['https://127.0.0.1:2380'],
  idealClusterSize: 5,
  leaseTtlSeconds: 10,
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  insecure: false,
  joinUrls: [],
  certLifetimeMs: DEFAULT_CERT_LIFETIME_MS,
};

/** WorldSetup is the chosen World and, with etcd, this agent's part in the cluster. */
export interface WorldSetup {
  readonly world: World;
  /** settled resolves when the World is usable (or failed); at once for the local and seeded ones. */
  readonly settled: Promise<void>;
  /** start starts our own etcd (a bootstrapping host); call it once the first graph runs. */
  start(): void;
  /** publishConverged writes `/_mgmt/converged/$host` (etcd only). */
  publishConverged(converged: boolean): Promise<void>;
  /** close leaves the cluster and closes the World. */
  close(): Promise<void>;
  /**
   * failed resolves (it never rejects) when this host cannot go on in the cluster: its own etcd did
   * not start, or its etcd ports are taken. The agent then stops and exits 1 instead of running
   * on without a World. It never resolves otherwise.
   */
  readonly failed: Promise<Error>;
}

// How long a host started without --seeds tries the endpoints it last saw before it starts its
// own etcd from its data.
const REJOIN_REACH_MS = 2000;

/**
 * parseUrls reads a URL flag: comma/semicolon-separated, `host:port` taken as `https://host:port`, or
 * as `http://host:port` when `insecure` (`--insecure`).
 */
export function parseUrls(values: readonly string[], flag: string, insecure = false): string[] {
  const bareScheme = insecure ? 'http' : 'https';
  const urls: string[] = [];
  for (const value of values) {
    for (const raw of splitUrls(value)) {
      const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `${bareScheme}://${raw}`;
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new UsageError(`mgmt run: --${flag}: ${JSON.stringify(raw)} is not a URL (expected e.g. https://127.0.0.1:2379)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`mgmt run: --${flag}: ${raw} must be http:// or https://`);
      // URL leaves out a port equal to the scheme's default (80, 443), so ask the text whether one was given.
      const authority = text.slice(text.indexOf('//') + 2).split(/[/?#]/, 1)[0]!;
      const port = url.port || (/:\d+$/.test(authority) ? portOf(url) : '');
      if (port === '') throw new UsageError(`mgmt run: --${flag}: ${raw} needs a port`);
      urls.push(`${url.protocol}//${url.hostname}:${port}`);
    }
  }
  return urls;
}

/**
 * checkHostname refuses a name that cannot be one segment of this host's keys
 * (`/_mgmt/exported/$host/...`) and file names (the temporary prefix).
 */
export function checkHostname(hostname: string): void {
  if (!HOSTNAME_PATTERN.test(hostname)) {
    throw new UsageError(`mgmt run: hostname ${JSON.stringify(hostname)} is not usable: use letters, digits, '.', '_' and '-', starting with a letter or digit (--hostname)`);
  }
}

// Addresses that take a port on every interface: a listener there clashes with any other on its port.
const WILDCARD_HOSTS: ReadonlySet<string> = new Set(['0.0.0.0', '[::]']);

/**
 * sameSocket says whether listeners on two URLs would want the same port of the same address,
 * whatever their schemes: the same port and the same host (`localhost` counts as 127.0.0.1), or a
 * wildcard host on either side. A clash the strings hide (`http://localhost:2379` and
 * `https://127.0.0.1:2379`) then fails the run at once, not later when etcd cannot bind.
 */
function sameSocket(a: string, b: string): boolean {
  const [ua, ub] = [new URL(a), new URL(b)];
  if (portOf(ua) !== portOf(ub)) return false;
  const [ha, hb] = [bindHost(ua.hostname), bindHost(ub.hostname)];
  return ha === hb || WILDCARD_HOSTS.has(ha) || WILDCARD_HOSTS.has(hb);
}

/** portOf is the URL's port, its scheme's default (443, 80) when URL left that out. */
function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function bindHost(hostname: string): string {
  return hostname === 'localhost' ? '127.0.0.1' : hostname;
}

/** checkClusterSettings refuses settings that cannot work, before anything runs. */
export function checkClusterSettings(settings: ClusterSettings): void {
  if (settings.clientUrls.length === 0) throw new UsageError('mgmt run: --client-urls must name at least one URL');
  if (settings.serverUrls.length === 0) throw new UsageError('mgmt run: --server-urls must name at least one URL');
  if (settings.idealClusterSize < 1) throw new UsageError(`mgmt run: --ideal-cluster-size must be at least 1, not ${settings.idealClusterSize}`);
  if (settings.leaseTtlSeconds < 1) throw new UsageError(`mgmt run: --lease-ttl must be at least 1 second, not ${settings.leaseTtlSeconds}`);
  if (settings.heartbeatIntervalMs < 1 || settings.electionTimeoutMs < 5 * settings.heartbeatIntervalMs) {
    throw new UsageError('mgmt run: --etcd-election-timeout must be at least 5 times --etcd-heartbeat-interval (both in ms, positive)');
  }
  const overlap = settings.clientUrls.find((url) => settings.serverUrls.some((server) => sameSocket(url, server)));
  if (overlap) throw new UsageError(`mgmt run: ${overlap} is both a client and a server URL; etcd needs two ports`);
  if (!settings.insecure && !settings.noServer) {
    // The join service's default port (client port - 1) is easy to collide with on one machine.
    const etcdUrls = [...settings.clientUrls, ...settings.serverUrls];
    const joinUrls = settings.joinUrls.length > 0 ? settings.joinUrls : defaultJoinUrls(settings.clientUrls);
    const clash = joinUrls.find((url) => etcdUrls.some((etcdUrl) => sameSocket(url, etcdUrl)));
    if (clash) {
      throw new UsageError(`mgmt run: the join service's URL ${clash} is also an etcd URL of this host (it defaults to each client URL's port - 1): choose other ports or give --join-urls`);
    }
  }
}

/** setupWorld picks and opens this run's World; with --seeds it fails (exit 1) when no seed answers. */
export async function setupWorld(settings: ClusterSettings, hostname: string, prefix: string, log: EventLog, warn: (line: string) => void): Promise<WorldSetup> {
  const onEvent = ({ level, action, ...fields }: ClusterEvent): void => {
    if (action === 'error') log.emit({ level: 'error', event: 'error', phase: 'cluster', message: fields.message });
    else log.emit({ ...fields, level, event: 'cluster', action });
  };
  const local = (): WorldSetup => {
    const world = new LocalWorld({ hostname, dir: join(prefix, 'world') });
    return { world, settled: Promise.resolve(), start: () => {}, publishConverged: async () => {}, close: () => world.close(), failed: new Promise<Error>(() => {}) };
  };
  const seeded = settings.seeds.length > 0;
  if (!seeded && settings.noServer) return local();
  if (!seeded) {
    try {
      await resolveEtcdBinary(settings.etcdBinary);
    } catch (err) {
      if (settings.etcdBinary !== undefined) throw new UsageError(`mgmt run: ${errorMessage(err)}`);
      warn(`warning: no etcd server binary found (install etcd-server, or pass --etcd-binary); running alone with the local World under ${join(prefix, 'world')}`);
      return local();
    }
  }

  // A host joins through its seeds; without them, through the cluster it last saw (if any of it
  // answers: a restarted bootstrap host the others removed must not start etcd from stale data),
  // else it bootstraps (or carries on) its own cluster from its data.
  const joinThrough = seeded ? settings.seeds : await lastSeenCluster(settings, hostname, prefix, onEvent);
  if (!seeded && joinThrough) {
    onEvent({ level: 'info', action: 'rejoin', host: hostname, endpoints: joinThrough, message: 'started without --seeds: joining the cluster this host last saw' });
  }
  let fail!: (err: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  // etcd3 (gRPC, protobufs) costs ~150 ms to load: only hosts that use etcd load it, and a
  // bootstrapping host only once its first graph runs (start()).
  const openCluster = async (): Promise<{ cluster: Cluster; etcdWorld: EtcdWorld; connection: EtcdConnection; started: Promise<void>; secured?: SecuredHost }> => {
    const [{ Cluster }, { EtcdConnection, answeredLate }, { EtcdServer, etcdTlsFiles }, { EtcdWorld }, secure] = await Promise.all([
      import('../cluster/cluster.js'),
      import('../etcd/connection.js'),
      import('../etcd/server.js'),
      import('../world/etcd.js'),
      settings.insecure ? undefined : import('../cluster/secure.js'),
    ]);
    // Secure (the default): this host's certificate, kept, made with a new CA, or got with a token.
    const credentialSettings = { ...settings, prefix, hostname, seeds: seeded ? settings.seeds : [] };
    let obtained = await secure?.obtainCredentials(credentialSettings);
    const reportCredentials = (): void => {
      if (obtained?.how === 'joined') onEvent({ level: 'info', action: 'joined', host: hostname, message: `certificate signed by the cluster CA, kept in ${join(prefix, 'tls')}` });
      else if (obtained?.how === 'kept' && settings.token !== undefined) onEvent({ level: 'info', action: 'token-unused', host: hostname, message: `this host has its certificate in ${join(prefix, 'tls')}; the join token was not needed and is left unused` });
    };
    // The seeds must answer; a secure host's first write is its seen key, which also stops a host
    // whose certificate the cluster no longer honours (revoked) here, before it exports.
    // A refusal is final at once; a cluster that answers late (electing a leader after losing a
    // member, or on a loaded host) is asked again for FIRST_REACH_PATIENCE_MS.
    const connect = async (): Promise<EtcdConnection> => {
      // A host that just joined connects to every server its join service named, as it would once it follows the endpoints.
      const endpoints = obtained?.endpoints?.length ? obtained.endpoints : (joinThrough ?? settings.clientUrls);
      const connection = new EtcdConnection({ endpoints, tls: obtained?.credentials });
      if (!seeded && !(secure && joinThrough)) return connection;
      const giveUpAt = Date.now() + FIRST_REACH_PATIENCE_MS;
      try {
        for (;;) {
          try {
            if (secure) await secure.sayHere(connection, hostname, prefix);
            else await connection.bounded('reach the seeds', (client) => client.maintenance.status({}));
            return connection;
          } catch (err) {
            if (!answeredLate(err) || Date.now() + connection.timeoutMs > giveUpAt) throw err;
            onEvent({ level: 'warn', action: 'retry', host: hostname, message: `${errorMessage(err)} (asking again)` });
          }
        }
      } catch (err) {
        connection.close();
        throw err instanceof MgmtError || !seeded ? err : new MgmtError(`mgmt run: --seeds: ${errorMessage(err)}`);
      }
    };
    let connection: EtcdConnection;
    try {
      connection = await connect();
    } catch (err) {
      // A revoked host given a new token joins again, its old credentials set aside.
      if (!(secure && err instanceof secure.HostRevoked && seeded && settings.token !== undefined && obtained?.how === 'kept')) throw err;
      const aside = await secure.setAsideCredentials(prefix);
      onEvent({ level: 'warn', action: 'revoked', host: hostname, message: `this host's certificate was revoked; its old credentials are in ${aside}; joining again with the token` });
      obtained = await secure.obtainCredentials(credentialSettings);
      connection = await connect();
    }
    reportCredentials();
    const secured = secure && obtained ? secure.secureHost({ connection, prefix, hostname, settings, onEvent }) : undefined;
    const cluster = new Cluster({
      hostname,
      connection,
      clientUrls: settings.clientUrls,
      peerUrls: settings.serverUrls,
      dataDir: join(prefix, 'etcd'),
      makeServer: (options) =>
        new EtcdServer({
          ...options,
          prefix,
          name: hostname,
          binary: settings.etcdBinary,
          clientUrls: settings.clientUrls,
          peerUrls: settings.serverUrls,
          heartbeatIntervalMs: settings.heartbeatIntervalMs,
          electionTimeoutMs: settings.electionTimeoutMs,
          // A joining member is added right after the leader saw the cluster change.
          relaxReconfigCheck: true,
          tls: settings.insecure ? undefined : etcdTlsFiles(prefix),
          // The agent stops within a second of SIGTERM; etcd whose peers are gone ignores SIGTERM,
          // and its write-ahead log makes SIGKILL safe.
          stopTimeoutMs: 300,
        }),
      bootstrap: joinThrough ? undefined : { idealClusterSize: settings.idealClusterSize },
      volunteer: !settings.noServer,
      leaseTtlSeconds: settings.leaseTtlSeconds,
      onEvent,
      rememberEndpoints: (endpoints) => saveKnownEndpoints(prefix, endpoints),
      onFatal: fail,
      serverRights: secured?.authority,
      joinService: secured?.joinService,
      prepareStore: secure && obtained && !joinThrough ? () => secure.secureStore(connection, prefix, hostname, obtained.credentials) : undefined,
    });
    return { cluster, connection, etcdWorld: new EtcdWorld({ hostname, connection, onEvent }), started: cluster.start(), secured };
  };
  let opened: Awaited<ReturnType<typeof openCluster>> | undefined;
  let opening: Promise<unknown> | undefined;
  let closing = false;
  const close = async (): Promise<void> => {
    closing = true;
    // A cluster still being opened is closed once it is (its etcd must not outlive the run).
    await opening?.catch(() => undefined);
    if (!opened) return;
    await opened.secured?.close();
    await opened.cluster.close();
    await opened.etcdWorld.close();
    opened.connection.close();
  };
  const publishConverged = async (converged: boolean): Promise<void> => {
    await opened?.cluster.setConverged(converged);
  };

  if (joinThrough) {
    // The seeds (or the cluster this host last saw) answered: the World is usable now;
    // volunteering goes on in the background.
    opening = openCluster();
    opened = (await opening) as Awaited<ReturnType<typeof openCluster>>;
    opened.started.catch((err: unknown) => onEvent({ level: 'error', action: 'error', message: errorMessage(err) }));
    return { world: opened.etcdWorld, settled: Promise.resolve(), start: () => {}, publishConverged, close, failed };
  }
  // Our own etcd starts with the first graph: resources run meanwhile against a World that fills
  // in when etcd is up.
  let begin!: () => void;
  const began = new Promise<void>((resolve) => (begin = resolve));
  const ready = began.then(async () => {
    if (closing) throw new MgmtError('stopped before etcd started');
    try {
      const open = openCluster();
      opening = open;
      opened = await open;
      await opened.started;
      return opened.etcdWorld as World;
    } catch (err) {
      const message = `etcd server for ${hostname} did not start: ${oneLine(errorMessage(err))}`;
      onEvent({ level: 'error', action: 'error', message });
      // No World will come: the agent exits 1 rather than run on without one.
      const failure = new MgmtError(message, { cause: err });
      // (An etcd start cut short by the agent's own shutdown is no failure of the cluster.)
      if (!closing) fail(failure);
      throw failure;
    }
  });
  const world = new DeferredWorld(hostname, ready);
  return { world, settled: world.settled, start: begin, publishConverged, close: async () => {
    await close();
    await world.close();
  }, failed };
}

/**
 * lastSeenCluster returns the client URLs of the other servers this host last saw (kept under its
 * prefix) when one of them answers now; undefined when there are none or none answers.
 */
async function lastSeenCluster(settings: ClusterSettings, hostname: string, prefix: string, onEvent: (event: ClusterEvent) => void): Promise<string[] | undefined> {
  const known = await readKnownEndpoints(prefix).catch(() => []);
  // Only URLs of this run's scheme: a secure host never falls back to plaintext ones it once knew.
  const scheme = settings.insecure ? 'http:' : 'https:';
  const others = known.filter((url) => !settings.clientUrls.includes(url) && new URL(url).protocol === scheme);
  if (others.length === 0) return undefined;
  // A secure host rejoins with the credentials it has; without any it cannot have been a member.
  const tls = settings.insecure ? undefined : await (await import('../tls/files.js')).readCredentials(prefix, hostname);
  if (!settings.insecure && !tls) return undefined;
  const { EtcdConnection } = await import('../etcd/connection.js');
  const probe = new EtcdConnection({ endpoints: others, timeoutMs: REJOIN_REACH_MS, tls });
  try {
    await probe.bounded('reach the cluster this host last saw', (client) => client.maintenance.status({}));
    return others;
  } catch (err) {
    onEvent({ level: 'warn', action: 'rejoin-unreachable', endpoints: others, message: `${errorMessage(err)}; starting this host's own etcd from ${join(prefix, 'etcd')}` });
    return undefined;
  } finally {
    probe.close();
  }
}
