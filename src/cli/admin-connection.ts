// How the admin commands (`mgmt token`, `mgmt host`) reach the cluster: as this host, with the
// credentials under PREFIX/tls (the certificate's CN is its etcd user), through the endpoints the
// agent last saw (PREFIX/cluster-endpoints), `--endpoints`, or the local etcd.

import { readFile } from 'node:fs/promises';
import { AuthorityError, checkHostName, isPermissionDenied } from '../cluster/authority.js';
import { splitUrls } from '../cluster/keys.js';
import { readKnownEndpoints } from '../cluster/known-endpoints.js';
import { EtcdConnection } from '../etcd/connection.js';
import { MgmtError, UsageError } from '../errors.js';
import { readCredentials, tlsPaths } from '../tls/files.js';
import { certInfo } from '../tls/certs.js';
import type { ParsedFlags } from './flags.js';

/** DEFAULT_ADMIN_ENDPOINT is where an admin command looks when the prefix knows no endpoints: the local etcd. */
export const DEFAULT_ADMIN_ENDPOINT = 'https://127.0.0.1:2379';

/** AdminConnection is this host's connection to the cluster, as the etcd user of its certificate. */
export interface AdminConnection {
  readonly connection: EtcdConnection;
  /** This host's name: its certificate's CN. */
  readonly hostname: string;
  /** The cluster CA certificate (PEM). */
  readonly caPem: string;
}

/**
 * withAdminConnection connects as the host whose credentials are under `--prefix` and runs `use`,
 * closing the connection after it. `command` (e.g. `host list`) names the command in errors.
 */
export async function withAdminConnection<T>(flags: ParsedFlags, command: string, use: (admin: AdminConnection) => Promise<T>): Promise<T> {
  const prefix = flags.prefix as string | undefined;
  if (!prefix) throw new UsageError(`mgmt ${command}: --prefix DIR is required (the agent's --prefix, whose tls/ holds this host's certificate)`);
  const endpoints = await adminEndpoints(prefix, flags.endpoints as string | undefined, command);
  const certPath = tlsPaths(prefix).hostCert;
  let certPem: string;
  try {
    certPem = await readFile(certPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new MgmtError(`cannot read ${certPath}: ${(err as Error).message}`);
    throw new MgmtError(`mgmt ${command}: ${certPath} is missing: ${prefix} holds no cluster credentials (give the --prefix of an agent of a secure cluster)`);
  }
  const hostname = certInfo(certPem).commonName;
  const credentials = await readCredentials(prefix, hostname);
  if (!credentials) throw new MgmtError(`mgmt ${command}: ${certPath} went away while it was read`);
  const connection = new EtcdConnection({ endpoints, tls: credentials });
  try {
    return await use({ connection, hostname, caPem: credentials.caPem });
  } finally {
    connection.close();
  }
}

/**
 * asServerHost runs a change only server hosts may make; etcd's refusal becomes one line saying
 * so (`what`: e.g. "create tokens").
 */
export async function asServerHost<T>(admin: AdminConnection, what: string, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (isPermissionDenied(err)) throw new MgmtError(`only a server host may ${what} (this host ${admin.hostname} is a client)`, { cause: err });
    throw err;
  }
}

/** hostNameArgument checks a host name given on the command line: a refused one is a usage error. */
export function hostNameArgument(name: string, command: string): string {
  try {
    checkHostName(name);
  } catch (err) {
    if (err instanceof AuthorityError) throw new UsageError(`mgmt ${command}: ${err.message}`);
    throw err;
  }
  return name;
}

// --endpoints, else the endpoints the agent last saw, else the local etcd; only https://: the admin
// commands prove who they are with the host's certificate, which a plaintext cluster has not.
async function adminEndpoints(prefix: string, flag: string | undefined, command: string): Promise<string[]> {
  const endpoints = flag !== undefined ? splitUrls(flag) : await readKnownEndpoints(prefix);
  if (flag !== undefined && endpoints.length === 0) throw new UsageError(`mgmt ${command}: --endpoints needs at least one URL`);
  for (const url of endpoints) {
    if (!url.startsWith('https://')) throw new UsageError(`mgmt ${command}: ${JSON.stringify(url)} is not an https:// URL: the admin commands work on a secure cluster only`);
  }
  return endpoints.length > 0 ? endpoints : [DEFAULT_ADMIN_ENDPOINT];
}
