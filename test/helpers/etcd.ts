import { afterEach } from 'vitest';
import { EtcdServer, etcdTlsFiles, type EtcdServerEvent, type EtcdServerOptions } from '../../src/etcd/server.js';
import { findOnPath } from '../../src/os/program-path.js';
import type { HostCredentials } from '../../src/tls/files.js';
import { freePort } from './ports.js';
import type { TestPki } from './tls.js';
import { useTempDirs } from './tmp.js';

/** etcdAvailable is true when an `etcd` binary is on PATH. */
export const etcdAvailable = (await findOnPath('etcd')) !== undefined;

/** skipEtcdReason says why etcd tests are skipped, or is undefined when they must run (etcd present, or in CI where a missing etcd is a failure). */
export const skipEtcdReason: string | undefined =
  etcdAvailable || process.env.CI ? undefined : 'etcd is not on PATH (install the Debian package etcd-server)';

/** freePort returns a loopback TCP port that was free a moment ago (one helper serves the tests and the bench). */
export { freePort };

/** TestEtcd is one real etcd for a test, with the events its server reported so far. */
export interface TestEtcd {
  readonly server: EtcdServer;
  readonly clientUrl: string;
  readonly prefix: string;
  readonly events: EtcdServerEvent[];
  /** The host credentials written under `prefix/tls` when the etcd was made with a pki. */
  readonly credentials?: HostCredentials;
  /** waitFor resolves with the first event (past or future) of a type, after `skip` earlier ones. */
  waitFor(type: EtcdServerEvent['type'], skip?: number, timeoutMs?: number): Promise<EtcdServerEvent>;
}

/** TestEtcdOptions are an EtcdServer's options, and the CA whose host certificate it serves with over TLS. */
export type TestEtcdOptions = Partial<EtcdServerOptions> & {
  /** With it, the etcd serves https with a certificate of this CA for the member name (written under `prefix/tls`) and requires clients' ones. */
  readonly pki?: TestPki;
};

/**
 * useEtcd returns a factory of EtcdServers on fresh loopback ports in temp dirs with fast etcd flags, all stopped after each test;
 * the factory does not start them. Given a `pki`, the etcd is a TLS one (issue 11 point 1).
 */
export function useEtcd(): (options?: TestEtcdOptions) => Promise<TestEtcd> {
  const tempDir = useTempDirs();
  const made: EtcdServer[] = [];
  // Registered after useTempDirs: vitest runs afterEach hooks in reverse, so etcd stops before its dir goes.
  afterEach(async () => {
    await Promise.all(made.splice(0).map((server) => server.stop()));
  });
  return async (options = {}) => {
    const prefix = options.prefix ?? (await tempDir());
    const events: EtcdServerEvent[] = [];
    const waiters = new Set<() => void>();
    const { pki, ...serverOptions } = options;
    const scheme = pki ? 'https' : 'http';
    const clientUrls = serverOptions.clientUrls ?? [`${scheme}://127.0.0.1:${await freePort()}`];
    const peerUrls = serverOptions.peerUrls ?? [`${scheme}://127.0.0.1:${await freePort()}`];
    const name = serverOptions.name ?? 'test';
    const credentials = pki ? await pki.writeHost(prefix, name, { urls: [...clientUrls, ...peerUrls] }) : undefined;
    const server = new EtcdServer({
      name,
      clientUrls,
      peerUrls,
      ...(pki && { tls: etcdTlsFiles(prefix) }),
      heartbeatIntervalMs: 10,
      electionTimeoutMs: 50,
      relaxReconfigCheck: true,
      startTimeoutMs: 20_000,
      restartDelayMs: 50,
      ...serverOptions,
      prefix,
      onEvent: (event) => {
        events.push(event);
        options.onEvent?.(event);
        for (const wake of [...waiters]) wake();
      },
    });
    made.push(server);
    const waitFor: TestEtcd['waitFor'] = (type, skip = 0, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events.filter((e) => e.type === type)[skip];
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
          return found !== undefined;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${type} event #${skip + 1} within ${timeoutMs} ms; events: ${JSON.stringify(events)}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    return {
      server,
      clientUrl: server.clientUrls[0]!,
      prefix,
      events,
      waitFor,
      ...(credentials && { credentials: { caPem: credentials.caPem, certPem: credentials.certPem, keyPem: credentials.keyPem } }),
    };
  };
}

/** etcdPut writes a key through etcd's v3 JSON gateway. */
export async function etcdPut(clientUrl: string, key: string, value: string): Promise<void> {
  const res = await fetch(new URL('/v3/kv/put', clientUrl), {
    method: 'POST',
    body: JSON.stringify({ key: b64(key), value: b64(value) }),
  });
  if (!res.ok) throw new Error(`etcd put ${key}: HTTP ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

/** etcdGet reads a key through etcd's v3 JSON gateway; undefined when absent. */
export async function etcdGet(clientUrl: string, key: string): Promise<string | undefined> {
  const res = await fetch(new URL('/v3/kv/range', clientUrl), { method: 'POST', body: JSON.stringify({ key: b64(key) }) });
  if (!res.ok) throw new Error(`etcd range ${key}: HTTP ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { kvs?: { value?: string }[] };
  const value = body.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/**
 * fillUntilNoSpace rewrites one key with `bytes`-sized values until etcd raises NOSPACE (give it a small quota and a long compaction retention);
 * it returns how many writes went in, and throws if `max` went in. It writes through the JSON gateway at a plaintext client URL, or with `put`.
 */
export async function fillUntilNoSpace(target: string | ((key: string, value: string) => Promise<void>), bytes = 200_000, max = 1000): Promise<number> {
  const value = 'v'.repeat(bytes);
  const put = typeof target === 'string' ? (key: string, v: string) => etcdPut(target, key, v) : target;
  for (let i = 0; i < max; i++) {
    try {
      await put('/filler', `${i}${value}`);
    } catch (err) {
      if (/database space exceeded/.test(String(err))) return i;
      throw err;
    }
  }
  throw new Error(`etcd at ${typeof target === 'string' ? target : 'the given put'} took ${max} writes of ${bytes} bytes without raising NOSPACE`);
}

/** processAlive reports whether a pid still names a live (non-zombie-reaped) process. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
