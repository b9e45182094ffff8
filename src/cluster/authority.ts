// Per-host authority in etcd (issue 11 points 3 and 4). etcd's auth is on and a client
// certificate's CN is its etcd user: each host is a user `<host>` with the role `mgmt-host:<host>`,
// which may read the cluster's `/_mgmt/` keys and write only the host's own; server hosts also hold
// etcd's `root` role (membership, idealClusterSize, nominations, tokens, signing). Revoking a host
// deletes its user, so the next request of its certificate is refused, then its keys and member.

import { randomBytes } from 'node:crypto';
import { Range, type Etcd3, type IPermissionRequest } from 'etcd3';
import type { EtcdConnection } from '../etcd/connection.js';
import { causesOf, MgmtError } from '../errors.js';
import { MAPPED_PREFIX } from '../resources/kv.js';
import type { CertInfo } from '../tls/certs.js';
import { EXPORTED_PREFIX, STRINGS_PREFIX } from '../world/etcd.js';
import type { ServerRights } from './cluster.js';
import { CONVERGED_PREFIX, ENDPOINTS_PREFIX, HOSTS_PREFIX, JOIN_PREFIX, NOMINATED_PREFIX, SEEN_PREFIX, valuesByHost, VOLUNTEERS_PREFIX } from './keys.js';

/** ROOT is etcd's administrator: the user etcd needs before auth is on, and the role server hosts hold. */
export const ROOT = 'root';
// Every host may read the cluster's keys: [`/_mgmt/`, `/_mgmt0`).
const CLUSTER_KEYS = Range.prefix('/_mgmt/');
// The single keys a host writes under its own name.
const OWN_KEY_PREFIXES = [VOLUNTEERS_PREFIX, ENDPOINTS_PREFIX, CONVERGED_PREFIX, SEEN_PREFIX, JOIN_PREFIX] as const;
// Mapped kv keys, host first (`strings/_mapped/$host/$key`): each host writes only its own prefix.
const MAPPED_KEYS_PREFIX = `${STRINGS_PREFIX}${MAPPED_PREFIX}`;
// Every other string key is every host's to write: the strings around the mapped range,
// [`strings/`, `strings/_mapped/`) and [`strings/_mapped0`, `strings0`).
const SHARED_STRINGS = [
  new Range(STRINGS_PREFIX, MAPPED_KEYS_PREFIX),
  new Range(Range.prefix(MAPPED_KEYS_PREFIX).end, Range.prefix(STRINGS_PREFIX).end),
] as const;

/** standingOf says where host `host` stands from its user's roles (undefined: no such user). */
function standingOf(host: string, roles: readonly string[] | undefined): HostStanding {
  if (roles === undefined) return 'none';
  return roles.includes(hostRole(host)) || roles.includes(ROOT) ? 'admitted' : 'unfinished';
}

/** roleOf is a host's role in the list, from its user's roles (undefined: the user is gone meanwhile, shown as the client it was). */
function roleOf(host: string, roles: readonly string[] | undefined): HostRole {
  if (roles?.includes(ROOT)) return 'server';
  return standingOf(host, roles) === 'unfinished' ? 'unfinished' : 'client';
}

/** hostRole is the etcd role that holds a host's rights. */
export function hostRole(host: string): string {
  return `mgmt-host:${host}`;
}

/** hostPermissions are exactly the rights of a host's role (issue 11; docs/cluster.md). */
export function hostPermissions(host: string): IPermissionRequest[] {
  return [
    { permission: 'Read', range: CLUSTER_KEYS },
    { permission: 'Readwrite', range: Range.prefix(`${EXPORTED_PREFIX}${host}/`) },
    ...OWN_KEY_PREFIXES.map((prefix): IPermissionRequest => ({ permission: 'Readwrite', key: `${prefix}${host}` })),
    ...SHARED_STRINGS.map((range): IPermissionRequest => ({ permission: 'Readwrite', range })),
    { permission: 'Readwrite', range: Range.prefix(mappedKeysOf(host)) },
  ];
}

/** mappedKeysOf is the etcd prefix of host `host`'s mapped kv keys. */
function mappedKeysOf(host: string): string {
  return `${MAPPED_KEYS_PREFIX}${host}/`;
}

/** AuthorityError is a refused or failed change of a host's rights, in one line. */
export class AuthorityError extends MgmtError {}

/**
 * checkHostName refuses a name that cannot be an etcd host user: `root` is etcd's administrator, a
 * `/` would reach into another host's keys, and control characters or spaces have no place in a
 * certificate's CN.
 */
export function checkHostName(name: string): void {
  if (name === ROOT) throw new AuthorityError('host name "root" is refused: it is etcd\'s administrator user');
  if (name === '' || name.includes('/') || /[\s\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw new AuthorityError(`host name ${JSON.stringify(name)} is refused: a host name has no '/', spaces or control characters`);
  }
}

/**
 * HostRole is what a host may do: `server` hosts hold etcd's root role; `unfinished` is a user an
 * admission left before granting its role (it holds no right).
 */
export type HostRole = 'server' | 'client' | 'unfinished';

/** HostEntry is one host of `mgmt host list`. */
export interface HostEntry {
  readonly host: string;
  readonly role: HostRole;
  /** The certificate's end of validity (ISO), when its signer recorded it. */
  readonly certExpires?: string;
  /** The certificate's serial (hex), when its signer recorded it. */
  readonly certSerial?: string;
  /** `online` while its leased keys exist, else the ISO time it last wrote `/_mgmt/seen/<host>`, else undefined. */
  readonly lastSeen?: string;
  /** Whether an etcd member carries its name. */
  readonly member: boolean;
}

/** RevokeResult says what a revocation removed. */
export interface RevokeResult {
  readonly user: boolean;
  readonly keys: number;
  readonly member: boolean;
}

/** CertificateRecord is the JSON at `/_mgmt/hosts/<host>`. */
export interface CertificateRecord {
  readonly serial: string;
  readonly notAfter: string;
  readonly issued: string;
}

/** Authority is what a join service's signer needs: is a host known, admit it, record its certificate. */
export type Authority = Pick<ClusterAuthority, 'hostExists' | 'hostStanding' | 'admitHost' | 'recordCertificate'>;

/**
 * HostStanding is where a host name stands: no etcd user, a user an admission left before its
 * last step (holding no role of a host: it can do nothing, and a join may finish it), or admitted.
 */
export type HostStanding = 'none' | 'unfinished' | 'admitted';

/** ClusterAuthority manages the hosts' etcd users and roles; it needs a server host's (root) connection, except before auth is on. */
export class ClusterAuthority implements ServerRights {
  constructor(private readonly connection: EtcdConnection) {}

  /**
   * enableAuth turns etcd's auth on with `bootstrapHost` as the first server host: user `root` (a
   * random password nobody keeps) with the root role, the host admitted with the root role too,
   * then auth on. Each step is a no-op when done already, so a second call changes nothing.
   */
  async enableAuth(bootstrapHost: string): Promise<void> {
    checkHostName(bootstrapHost);
    if (!(await this.userExists(ROOT))) {
      await this.call(`create etcd user ${ROOT}`, (client) => client.auth.userAdd({ name: ROOT, password: randomBytes(32).toString('base64url') }));
    }
    await this.call(`grant etcd user ${ROOT} the role ${ROOT}`, (client) => client.auth.userGrantRole({ user: ROOT, role: ROOT }));
    await this.admitHost(bootstrapHost, { replace: true });
    await this.setServer(bootstrapHost, true);
    await this.call('enable etcd auth', (client) => client.auth.authEnable());
  }

  /**
   * admitHost makes host `name` a client host: user `name` without a password (it proves itself
   * with its certificate) holding the role `mgmt-host:<name>`. An existing user is refused unless
   * `replace` (a token bound to that host): then its role's rights are set again and its roles kept.
   */
  async admitHost(name: string, options: { readonly replace?: boolean; readonly exists?: boolean } = {}): Promise<void> {
    checkHostName(name);
    const role = hostRole(name);
    // Every auth call of etcd 3.4 is a raft entry: independent ones go at once, in two rounds, as a
    // join waits for all of them. (`exists` spares the caller's lookup being made twice.)
    const exists = options.exists ?? (await this.userExists(name));
    if (exists && options.replace !== true) throw new AuthorityError(`host ${name} is refused: an etcd user of that name exists already (revoke it first, or use a token made for it with --host ${name})`);
    await Promise.all([
      // A role left by an interrupted admission or an earlier life is reused.
      this.call(`create etcd role ${role}`, (client) => client.auth.roleAdd({ name: role })).catch((err: unknown) => {
        if (!/role name already exists/i.test(causeMessages(err))) throw err;
      }),
      exists ? undefined : this.call(`create etcd user ${name}`, (client) => client.auth.userAdd({ name, password: '', options: { no_password: true } })),
    ]);
    await Promise.all(hostPermissions(name).map((permission) => this.call(`grant etcd role ${role} its rights`, (client) => client.role(role).grant(permission))));
    // Last, once its role holds every right: a user that holds its role is an admitted host
    // (hostStanding), one that does not is an admission that did not finish.
    await this.call(`grant etcd user ${name} the role ${role}`, (client) => client.auth.userGrantRole({ user: name, role }));
  }

  /** setServer grants host `name` etcd's root role (a server host) or revokes it (a client host). */
  async setServer(name: string, server: boolean): Promise<void> {
    checkHostName(name);
    if (server) {
      await this.call(`grant host ${name} the server role`, (client) => client.auth.userGrantRole({ user: name, role: ROOT }));
      return;
    }
    const roles = await this.rolesOf(name);
    if (roles?.includes(ROOT)) await this.call(`revoke the server role of host ${name}`, (client) => client.auth.userRevokeRole({ name, role: ROOT }));
  }

  /** hostStanding says whether host `name` has no etcd user, one an admission did not finish, or is admitted (its user holds its host role, or the server role). */
  async hostStanding(name: string): Promise<HostStanding> {
    checkHostName(name);
    return standingOf(name, await this.rolesOf(name));
  }

  /** hostExists says whether host `name` has its etcd user (it was admitted and not revoked). */
  async hostExists(name: string): Promise<boolean> {
    checkHostName(name);
    return this.userExists(name);
  }

  /** serverHosts are the hosts holding the root role, sorted. */
  async serverHosts(): Promise<string[]> {
    const roles = await this.hostRoles();
    return [...roles.keys()].filter((host) => roles.get(host)?.includes(ROOT));
  }

  /**
   * revokeHost takes every right of host `name` away: its user and role first (its certificate's
   * next request is refused), then its exports, its mapped kv keys and its keys, then its etcd
   * member if it is one. A host nothing is known of is an error.
   */
  async revokeHost(name: string): Promise<RevokeResult> {
    checkHostName(name);
    const user = await this.userExists(name);
    if (user) await this.call(`delete etcd user ${name}`, (client) => client.auth.userDelete({ name }));
    if (await this.roleExists(hostRole(name))) await this.call(`delete etcd role ${hostRole(name)}`, (client) => client.auth.roleDelete({ role: hostRole(name) }));
    const keys = await this.call(`delete the keys of host ${name}`, async (client) => {
      const singles = [...OWN_KEY_PREFIXES, NOMINATED_PREFIX, HOSTS_PREFIX].map((prefix) => client.delete().key(`${prefix}${name}`));
      // One transaction without a condition: all of them go, or none.
      const prefixes = [`${EXPORTED_PREFIX}${name}/`, mappedKeysOf(name)].map((prefix) => client.delete().prefix(prefix));
      const success = await Promise.all([...prefixes, ...singles].map((deletion) => deletion.op()));
      const result = await client.kv.txn({ compare: [], success });
      return result.responses.reduce((sum, response) => sum + Number(response.response_delete_range?.deleted ?? 0), 0);
    });
    const member = (await this.members()).find((m) => m.name === name);
    if (member) await this.call(`remove etcd member ${name}`, (client) => client.cluster.memberRemove({ ID: member.ID }));
    if (!user && keys === 0 && !member) throw new AuthorityError(`no host ${name} to revoke: no etcd user, keys or member of that name`);
    return { user, keys, member: member !== undefined };
  }

  /** recordCertificate keeps what `mgmt host list` shows of a host's certificate (the signer calls it). */
  async recordCertificate(name: string, cert: Pick<CertInfo, 'serial' | 'notAfter'>): Promise<void> {
    checkHostName(name);
    const record: CertificateRecord = { serial: cert.serial, notAfter: cert.notAfter.toISOString(), issued: new Date().toISOString() };
    await this.call(`record the certificate of host ${name}`, (client) => client.put(`${HOSTS_PREFIX}${name}`).value(JSON.stringify(record)).exec());
  }

  /** listHosts is the inventory: every host user with its role, certificate, last sight and membership, sorted by name. */
  async listHosts(): Promise<HostEntry[]> {
    const [roles, certs, seen, volunteers, converged, members] = await Promise.all([
      this.hostRoles(),
      this.under(HOSTS_PREFIX),
      this.under(SEEN_PREFIX),
      this.under(VOLUNTEERS_PREFIX),
      this.under(CONVERGED_PREFIX),
      this.members(),
    ]);
    const memberNames = new Set(members.map((m) => m.name));
    const entries: HostEntry[] = [];
    for (const [host, hostRoles] of roles) {
      const cert = parseCertificateRecord(certs.get(host));
      const online = volunteers.has(host) || converged.has(host);
      entries.push({
        host,
        role: roleOf(host, hostRoles),
        ...(cert ? { certExpires: cert.notAfter, certSerial: cert.serial } : {}),
        ...(online ? { lastSeen: 'online' } : seen.has(host) ? { lastSeen: seen.get(host) } : {}),
        member: memberNames.has(host),
      });
    }
    return entries;
  }

  // Each host user (every user but root), sorted, with its roles (undefined: gone meanwhile); the
  // reads go at once, as each is a raft entry in etcd 3.4.
  private async hostRoles(): Promise<Map<string, string[] | undefined>> {
    const { users } = await this.call('list etcd users', (client) => client.auth.userList());
    const hosts = (users ?? []).filter((user) => user !== ROOT).sort();
    const roles = await Promise.all(hosts.map((host) => this.rolesOf(host)));
    return new Map(hosts.map((host, i) => [host, roles[i]]));
  }

  private async userExists(name: string): Promise<boolean> {
    return (await this.rolesOf(name)) !== undefined;
  }

  // The user's roles; undefined when there is no such user.
  private async rolesOf(name: string): Promise<string[] | undefined> {
    try {
      return (await this.call(`read etcd user ${name}`, (client) => client.auth.userGet({ name }))).roles ?? [];
    } catch (err) {
      if (/user name not found|user name is not found/i.test(causeMessages(err))) return undefined;
      throw err;
    }
  }

  private async roleExists(role: string): Promise<boolean> {
    const { roles } = await this.call('list etcd roles', (client) => client.auth.roleList());
    return (roles ?? []).includes(role);
  }

  private async members(): Promise<{ ID: string; name: string }[]> {
    return (await this.call('list etcd members', (client) => client.cluster.memberList({}))).members;
  }

  // host → value of each `prefix + host` key.
  private async under(prefix: string): Promise<Map<string, string>> {
    return valuesByHost(prefix, await this.call(`read ${prefix}`, (client) => client.getAll().prefix(prefix).strings()));
  }

  private call<T>(what: string, operation: (client: Etcd3) => Promise<T>): Promise<T> {
    return this.connection.bounded(what, operation);
  }
}

/** isPermissionDenied says whether an etcd call failed because the caller's user lacks the right (or no longer exists). */
export function isPermissionDenied(err: unknown): boolean {
  return /permission denied|user name (is )?not found|invalid auth token/i.test(causeMessages(err));
}

// The messages of an error and its causes (EtcdConnection.bounded wraps etcd's own error).
function causeMessages(err: unknown): string {
  return causesOf(err).map((e) => e.message).join('\n');
}

// A record is written by a server host, but etcd data is read as untrusted: anything odd is ignored.
function parseCertificateRecord(text: string | undefined): CertificateRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const record = JSON.parse(text) as Partial<CertificateRecord>;
    if (typeof record.serial === 'string' && typeof record.notAfter === 'string' && typeof record.issued === 'string') return { serial: record.serial, notAfter: record.notAfter, issued: record.issued };
  } catch {
    // not JSON: ignored
  }
  return undefined;
}
