// Real certificates for the TLS tests (issue 11): one cluster CA per test and host credentials
// signed by it, written where the agent keeps them (PREFIX/tls), plus a foreign CA's for the
// "refused" cases.

import { join } from 'node:path';
import { tlsPaths, writeCaKey, writeCredentials, type HostCredentials, type TlsPaths } from '../../src/tls/files.js';
import { createCsr, createKey, sansForUrls } from '../../src/tls/certs.js';
import { createCa, signCsr, type CertAndKey } from '../../src/tls/pki.js';

/** TestPki is a CA and a way to make credentials of hosts it signs. */
export interface TestPki {
  readonly ca: CertAndKey;
  /** hostCredentials makes a key and a certificate for `hostname` with SANs for its URLs (default 127.0.0.1). */
  hostCredentials(hostname: string, urls?: readonly string[], lifetimeMs?: number): Promise<HostCredentials>;
  /** writeHost writes a host's credentials under `prefix/tls` (with the CA key when `withCaKey`) and returns the paths. */
  writeHost(prefix: string, hostname: string, options?: { urls?: readonly string[]; withCaKey?: boolean; lifetimeMs?: number }): Promise<TlsPaths & HostCredentials>;
}

/** makeTestPki makes a fresh CA (a second call makes a foreign one). */
export async function makeTestPki(): Promise<TestPki> {
  const ca = await createCa('mgmt test CA');
  const hostCredentials = async (hostname: string, urls: readonly string[] = ['https://127.0.0.1:1'], lifetimeMs?: number): Promise<HostCredentials> => {
    const keyPem = createKey();
    const certPem = await signCsr(ca, createCsr(keyPem, hostname, sansForUrls(urls)), { hostname, lifetimeMs });
    return { caPem: ca.certPem, certPem, keyPem };
  };
  return {
    ca,
    hostCredentials,
    writeHost: async (prefix, hostname, options = {}) => {
      const credentials = await hostCredentials(hostname, options.urls, options.lifetimeMs);
      await writeCredentials(prefix, credentials);
      if (options.withCaKey) await writeCaKey(prefix, ca.keyPem);
      return { ...tlsPaths(prefix), ...credentials };
    },
  };
}

/** etcdctlTlsArgs are etcdctl's flags for a host's credentials under `prefix`. */
export function etcdctlTlsArgs(prefix: string): string[] {
  const dir = join(prefix, 'tls');
  return ['--cacert', join(dir, 'ca.crt'), '--cert', join(dir, 'host.crt'), '--key', join(dir, 'host.key')];
}
