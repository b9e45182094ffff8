// Clusters of real mgmt agents with real etcd servers on loopback, for the clustering tests: each
// host gets free client/peer ports, its own prefix, the fast etcd flags and a
// short lease, and everything is killed after the test. Hosts run `--insecure` (plaintext) unless
// started with `secure: true`.

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterEach } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';
import type { HostCredentials } from '../../src/tls/files.js';
import { runMgmt, startMgmt, type MgmtProcess } from './cli.js';
import { freePort } from './etcd.js';
import { useTempDirs } from './tmp.js';

/** FAST_ETCD_FLAGS are fast etcd timings and a 2 s lease for dead hosts. */
export const FAST_ETCD_FLAGS = ['--etcd-heartbeat-interval', '10', '--etcd-election-timeout', '50', '--lease-ttl', '2'];

/** ClusterHost is one agent of a test cluster. */
export interface ClusterHost {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly prefix: string;
  /** Where its join service listens when it serves (secure hosts; a free port, given with --join-urls). */
  readonly joinUrl: string;
  readonly proc: MgmtProcess;
  /** clusterEvents are its `cluster` events so far. */
  clusterEvents(): LogEvent[];
  /** waitForCluster resolves with its first `cluster` event (past or future) with this action (and host, when given). */
  waitForCluster(action: string, host?: string, timeoutMs?: number): Promise<LogEvent>;
}

/** StartHostOptions: the graph, and either bootstrap (no seeds) or the seeds to join. */
export interface StartHostOptions {
  readonly yaml: string;
  /**
   * secure: run the cluster over mutual TLS (https:// URLs, the agent's default); without it the
   * host runs `--insecure` with http:// URLs, for the tests that do not study security.
   */
  readonly secure?: boolean;
  /** Client URLs to join through; none = bootstrap a new cluster. */
  readonly seeds?: readonly string[];
  readonly extraArgs?: readonly string[];
  /** Variables set over the agent's environment (e.g. MGMT_ETCD_QUOTA_BACKEND_BYTES). */
  readonly env?: Readonly<Record<string, string>>;
  /** The prefix; default a fresh `<temp>/<name>` (a restarted host passes its old one). */
  readonly prefix?: string;
  /** The client URL; default one on a free port (https:// with `secure`, else http://). */
  readonly clientUrl?: string;
  /** The peer URL; default one on a free port (https:// with `secure`, else http://). */
  readonly peerUrl?: string;
  /** A join token for a secure host without credentials (passed with --token-file). */
  readonly token?: string;
  /** The seed's join service (`--join-url`); default: the seed host's `joinUrl` when `joinVia` is given. */
  readonly joinVia?: ClusterHost;
}

/** useCluster returns a starter of hosts; every host it started is SIGKILLed after each test (with its etcd, by pdeathsig). */
export function useCluster(): { startHost: (name: string, options: StartHostOptions) => Promise<ClusterHost>; tempDir: () => Promise<string> } {
  const tempDir = useTempDirs();
  const started: ClusterHost[] = [];
  afterEach(async (context) => {
    const hosts = started.splice(0);
    if (context.task.result?.state === 'fail') {
      // What each host saw is the only way to tell a slow cluster from a stuck one.
      for (const host of hosts) {
        const lines = host.proc.events
          .filter((e) => e.event === 'cluster' || e.level === 'error' || e.level === 'warn' || e.event === 'exit')
          .map((e) => JSON.stringify(e));
        console.error(`--- ${host.name} (${host.clientUrl})\n${lines.join('\n')}\n${host.proc.stderr()}`);
      }
    }
    for (const host of hosts) if (host.proc.child.exitCode === null && host.proc.child.signalCode === null) host.proc.child.kill('SIGKILL');
    await Promise.all(hosts.map((host) => host.proc.exited));
  });
  const startHost = async (name: string, options: StartHostOptions): Promise<ClusterHost> => {
    const prefix = options.prefix ?? join(await tempDir(), name);
    const scheme = options.secure ? 'https' : 'http';
    const clientUrl = options.clientUrl ?? `${scheme}://127.0.0.1:${await freePort()}`;
    const peerUrl = options.peerUrl ?? `${scheme}://127.0.0.1:${await freePort()}`;
    const joinUrl = `https://127.0.0.1:${await freePort()}`;
    const secureArgs: string[] = [];
    if (options.secure) {
      secureArgs.push('--join-urls', joinUrl);
      if (options.joinVia) secureArgs.push('--join-url', options.joinVia.joinUrl);
      if (options.token !== undefined) {
        const file = join(await tempDir(), `${name}.token`);
        await writeFile(file, `${options.token}\n`, { mode: 0o600 });
        secureArgs.push('--token-file', file);
      }
    }
    const args = [
      'run', '--yaml', options.yaml, '--hostname', name, '--prefix', prefix, '--log-format', 'json',
      ...(options.secure ? secureArgs : ['--insecure']),
      '--client-urls', clientUrl, '--server-urls', peerUrl, ...FAST_ETCD_FLAGS,
      ...(options.seeds?.length ? ['--seeds', options.seeds.join(',')] : []),
      ...(options.extraArgs ?? []),
    ];
    const proc = startMgmt(args, { env: options.env });
    const clusterEvents = (): LogEvent[] => proc.events.filter((event) => event.event === 'cluster');
    const host: ClusterHost = {
      name,
      clientUrl,
      peerUrl,
      prefix,
      joinUrl,
      proc,
      clusterEvents,
      waitForCluster: (action, about, timeoutMs = 30_000) =>
        proc.waitForEvent((e) => e.event === 'cluster' && e.action === action && (about === undefined || e.host === about), `${name}: cluster ${action}${about ? ` ${about}` : ''}`, timeoutMs),
    };
    started.push(host);
    return host;
  };
  return { startHost, tempDir };
}

/** memberNames lists the started etcd members' names, sorted, asking any of the given endpoints. */
export async function memberNames(endpoints: readonly string[], tls?: HostCredentials): Promise<string[]> {
  const client = new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
    ...(tls ? { credentials: { rootCertificate: Buffer.from(tls.caPem), certChain: Buffer.from(tls.certPem), privateKey: Buffer.from(tls.keyPem) } } : {}),
  });
  try {
    const { members } = await client.cluster.memberList({});
    return members.map((m) => m.name || `(unstarted ${m.peerURLs.join(',')})`).sort();
  } finally {
    client.close();
  }
}

/**
 * waitForMembers polls until the started members are what `want` accepts (an exact list of names,
 * or a predicate), asking any of the endpoints; it resolves with the names, sorted.
 */
export async function waitForMembers(
  endpoints: () => readonly string[],
  want: readonly string[] | ((names: string[]) => boolean),
  timeoutMs = 30_000,
  tls?: HostCredentials,
): Promise<string[]> {
  const accepts = typeof want === 'function' ? want : (names: string[]) => names.join(',') === [...want].sort().join(',');
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const names = await memberNames(endpoints(), tls);
      if (accepts(names)) return names;
      last = names.join(',');
    } catch (err) {
      last = `error: ${(err as Error).message.split('\n')[0]}`;
    }
    if (Date.now() > deadline) throw new Error(`members are [${last}], not as wanted (${typeof want === 'function' ? 'predicate' : want.join(',')}) after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** startedCount accepts member lists of exactly `n` started members. */
export function startedCount(n: number): (names: string[]) => boolean {
  return (names) => names.length === n && names.every((name) => !name.startsWith('(unstarted'));
}

/** etcdctl runs the real etcdctl (Debian etcd-client) with ETCDCTL_API=3 and returns its stdout. */
export async function etcdctl(endpoint: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 10_000 });
  return stdout;
}

/** createToken runs `mgmt token create` on a (server) host and returns the token line. */
export async function createToken(host: ClusterHost, ...args: string[]): Promise<string> {
  const result = await runMgmt(['token', 'create', '--prefix', host.prefix, '--endpoints', host.clientUrl, ...args]);
  if (result.code !== 0) throw new Error(`mgmt token create on ${host.name} exited ${result.code}: ${result.stderr}`);
  return result.stdout.trim();
}
