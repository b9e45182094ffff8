// How a host gets the credentials it serves and connects with (issue 11 points 1 and 2): those
// under PREFIX/tls when it has them; else a new cluster CA when it bootstraps a cluster; else a
// certificate signed through a server host's join service, for a join token. And, once the
// bootstrapping host's etcd answers, the store is secured: the CA key where server hosts can read
// it, authentication on, this host's certificate recorded.

import { rename } from 'node:fs/promises';
import type { EtcdConnection } from '../etcd/connection.js';
import { MgmtError } from '../errors.js';
import { readCaKey, readCredentials, tlsPaths, writeCaKey, writeCredentials, type HostCredentials } from '../tls/files.js';
import { certInfo, createCsr, createKey, sansForUrls } from '../tls/certs.js';
import type { LogEvent } from '../log/events.js';
import { ClusterAuthority, isPermissionDenied } from './authority.js';
import type { ClusterEvent, JoinServiceControl } from './cluster.js';
import { joinCluster, RenewalTimer } from './join-client.js';
import { JoinService } from './join-service.js';
import { CA_KEY_KEY, defaultJoinUrls, hostsUnder, JOIN_PREFIX, SEEN_PREFIX } from './keys.js';

/** CredentialSettings are what a host needs to know to get its credentials. */
export interface CredentialSettings {
  readonly prefix: string;
  readonly hostname: string;
  /** The cluster to join (empty: this host bootstraps, or rejoins the cluster it knows). */
  readonly seeds: readonly string[];
  readonly clientUrls: readonly string[];
  readonly serverUrls: readonly string[];
  /** The join token, when one was given (--token, --token-file, MGMT_TOKEN). */
  readonly token?: string;
  /** Where the seeds' join service is, when not at the seed's port - 1. */
  readonly joinUrl?: string;
  readonly certLifetimeMs: number;
}

/** ObtainedCredentials: the credentials, and how they came. */
export interface ObtainedCredentials {
  readonly credentials: HostCredentials;
  readonly how: 'kept' | 'new-ca' | 'joined';
  /** After a join: the server hosts' etcd client URLs, to connect to at once (empty: the seeds). */
  readonly endpoints?: readonly string[];
}

/** obtainCredentials returns this host's credentials, making or fetching them when it has none; it fails with one line (exit 1) when it cannot. */
export async function obtainCredentials(settings: CredentialSettings): Promise<ObtainedCredentials> {
  if (settings.hostname === 'root') throw new MgmtError('mgmt run: the host name root is etcd\'s own user in a secure cluster: choose another --hostname');
  const kept = await readCredentials(settings.prefix, settings.hostname);
  if (kept) return { credentials: kept, how: 'kept' };
  const sans = sansForUrls([...settings.clientUrls, ...settings.serverUrls]);
  if (settings.seeds.length > 0) {
    if (settings.token === undefined) {
      throw new MgmtError(
        `mgmt run: this host has no certificate of the cluster (${tlsPaths(settings.prefix).hostCert}): pass --token-file FILE or --token TOKEN, made with mgmt token create on a server host, to join it`,
      );
    }
    const { credentials, endpoints } = await joinCluster({ seeds: settings.seeds, joinUrl: settings.joinUrl, token: settings.token, hostname: settings.hostname, sans, prefix: settings.prefix });
    return { credentials, how: 'joined', endpoints };
  }
  // A new cluster: its CA, and this host's certificate signed by it. (The certificate library is
  // loaded by hosts that sign only: a joining host makes its key and CSR with node:crypto.)
  const { createCa, signCsr } = await import('../tls/pki.js');
  const ca = await createCa();
  const keyPem = createKey();
  const certPem = await signCsr(ca, createCsr(keyPem, settings.hostname, sans), { hostname: settings.hostname, lifetimeMs: settings.certLifetimeMs });
  await writeCaKey(settings.prefix, ca.keyPem);
  const credentials = { caPem: ca.certPem, certPem, keyPem };
  await writeCredentials(settings.prefix, credentials);
  return { credentials, how: 'new-ca' };
}

/**
 * secureStore runs on the bootstrapping host once its etcd answers (and again after each restart:
 * every step is idempotent): the CA key goes where only server hosts can read it, authentication
 * goes on with this host as a server host, and its certificate is recorded.
 */
export async function secureStore(connection: EtcdConnection, prefix: string, hostname: string, credentials: HostCredentials): Promise<void> {
  const caKey = await readCaKey(prefix);
  if (caKey !== undefined) {
    await connection.bounded('keep the CA key for server hosts', (client) =>
      client.if(CA_KEY_KEY, 'Version', '==', 0).then(client.put(CA_KEY_KEY).value(caKey)).commit(),
    );
  }
  const authority = new ClusterAuthority(connection);
  await authority.enableAuth(hostname);
  await authority.recordCertificate(hostname, certInfo(credentials.certPem));
  await sayHere(connection, hostname, prefix);
}

/** HostRevoked says the cluster no longer honours this host's certificate (mgmt host revoke). */
export class HostRevoked extends MgmtError {}

/** sayHere writes this host's `/_mgmt/seen/` key; a cluster that no longer honours its certificate (revoked) makes it fail with a HostRevoked line. */
export async function sayHere(connection: EtcdConnection, hostname: string, prefix: string): Promise<void> {
  try {
    await connection.bounded('say this host is here', (client) => client.put(SEEN_PREFIX + hostname).value(new Date().toISOString()).exec());
  } catch (err) {
    if (!isPermissionDenied(err)) throw err;
    throw new HostRevoked(
      `mgmt run: the cluster refuses this host's certificate: host ${hostname} was revoked (mgmt host revoke); it can join again only with a new token (--token-file; its old credentials in ${tlsPaths(prefix).dir} are then set aside)`,
    );
  }
}

/** setAsideCredentials moves a revoked host's PREFIX/tls away (kept for its operator) and returns where to. */
export async function setAsideCredentials(prefix: string): Promise<string> {
  const { dir } = tlsPaths(prefix);
  const aside = `${dir}.revoked-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(dir, aside);
  return aside;
}

/** SecuredHost is what a secure host runs besides etcd: server rights for the leader, the join service when it serves, the renewal of its certificate. */
export interface SecuredHost {
  readonly authority: ClusterAuthority;
  readonly joinService: JoinServiceControl;
  close(): Promise<void>;
}

/** SecureHostOptions: the connection (whose credentials a renewal replaces) and the settings. */
export interface SecureHostOptions {
  readonly connection: EtcdConnection;
  readonly prefix: string;
  readonly hostname: string;
  readonly settings: Pick<CredentialSettings, 'clientUrls' | 'certLifetimeMs'> & { readonly joinUrls: readonly string[] };
  readonly onEvent: (event: ClusterEvent) => void;
}

/** secureHost starts the renewal of this host's certificate and prepares its join service (started by the Cluster when it serves). */
export function secureHost(options: SecureHostOptions): SecuredHost {
  const { connection, prefix, hostname, settings, onEvent } = options;
  const authority = new ClusterAuthority(connection);
  // The join service's and the renewal's events are cluster events named `<actionPrefix><event>`.
  const reportAs = (actionPrefix: string) => (event: LogEvent): void => {
    const { level, event: what, message, ...fields } = event as LogEvent & { message?: string };
    onEvent({ ...fields, level: level === 'error' || level === 'warn' || level === 'debug' ? level : 'info', action: `${actionPrefix}${String(what)}`, message });
  };
  const renewal = new RenewalTimer({
    prefix,
    hostname,
    joinUrls: () => publishedJoinUrls(connection),
    onRenewed: (credentials) => connection.setCredentials(credentials),
    onEvent: reportAs(''),
  }).start();
  let service: JoinService | undefined;
  const joinUrls = settings.joinUrls.length > 0 ? settings.joinUrls : defaultJoinUrls(settings.clientUrls);
  const joinService: JoinServiceControl = {
    urls: joinUrls,
    start: async () => {
      const caPem = connection.credentials!.caPem;
      const { Signer } = await import('./signer.js');
      const signer = new Signer({ connection, authority, prefix, caPem, lifetimeMs: settings.certLifetimeMs });
      service = await JoinService.start({
        urls: joinUrls,
        prefix,
        signJoin: (request) => signer.signJoin(request),
        signRenewal: (request) => signer.signRenewal(request),
        onEvent: reportAs('join-service-'),
      });
      return service.urls;
    },
    stop: async () => {
      const running = service;
      service = undefined;
      await running?.close();
    },
  };
  return {
    authority,
    joinService,
    close: async () => {
      await renewal.stop();
      await joinService.stop();
    },
  };
}

/** publishedJoinUrls are the join services the server hosts publish (`/_mgmt/join/`), where a renewal goes. */
async function publishedJoinUrls(connection: EtcdConnection): Promise<string[]> {
  const entries = await connection.bounded('read the join services', (client) => client.getAll().prefix(JOIN_PREFIX).strings());
  return [...hostsUnder(JOIN_PREFIX, entries).values()].flat();
}
