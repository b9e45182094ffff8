// A host's TLS credentials under its prefix (issue 11 point 1), in the files etcdctl takes:
//   PREFIX/tls/ca.crt    the cluster CA certificate        (every host)
//   PREFIX/tls/ca.key    the CA's private key, 0600         (the bootstrapping host only)
//   PREFIX/tls/host.crt  this host's certificate
//   PREFIX/tls/host.key  this host's private key, 0600      (made here; it never leaves the host)
// Each file is replaced atomically (a temp file renamed into place): etcd re-reads host.crt on
// every handshake, so a renewal is seen without a restart, and a killed agent leaves no torn file.

import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MgmtError } from '../errors.js';
import { writeAtomic } from '../resources/file-io.js';
import { ensurePrivateDir } from '../world/private-dir.js';
import { certInfo, isIssuedBy, keyMatchesCert } from './certs.js';

/** TlsPaths are the credential files of one prefix. */
export interface TlsPaths {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly hostCert: string;
  readonly hostKey: string;
}

/** HostCredentials are what a host connects and serves with: the CA it trusts, its certificate and key (PEM). */
export interface HostCredentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

/** tlsPaths names the credential files under `prefix`. */
export function tlsPaths(prefix: string): TlsPaths {
  const dir = join(prefix, 'tls');
  return { dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), hostCert: join(dir, 'host.crt'), hostKey: join(dir, 'host.key') };
}

/**
 * readCredentials reads this host's credentials; undefined when it has none yet (no host.crt).
 * Credentials that are there but do not fit together (a key of another certificate, a certificate
 * of another CA or of another host) are an error naming the file, never silently replaced.
 */
export async function readCredentials(prefix: string, hostname: string): Promise<HostCredentials | undefined> {
  const paths = tlsPaths(prefix);
  const certPem = await readIfAny(paths.hostCert);
  if (certPem === undefined) return undefined;
  const caPem = await readOrThrow(paths.caCert, paths.hostCert);
  const keyPem = await readOrThrow(paths.hostKey, paths.hostCert);
  const problem = credentialsProblem({ caPem, certPem, keyPem }, hostname);
  if (problem) throw new MgmtError(`${paths.dir}: ${problem}; move ${paths.dir} away to join again with a new token`);
  return { caPem, certPem, keyPem };
}

/** credentialsProblem says what is wrong with a set of credentials for `hostname`, or undefined. */
export function credentialsProblem(credentials: HostCredentials, hostname: string): string | undefined {
  const info = certInfo(credentials.certPem);
  if (info.commonName !== hostname) return `host.crt is for ${JSON.stringify(info.commonName)}, not this host ${JSON.stringify(hostname)}`;
  if (!isIssuedBy(credentials.certPem, credentials.caPem)) return 'host.crt is not signed by ca.crt';
  if (!keyMatchesCert(credentials.keyPem, credentials.certPem)) return 'host.key is not the key of host.crt';
  return undefined;
}

/** writeCredentials writes ca.crt, host.key and host.crt (in that order: host.crt last marks them complete). */
export async function writeCredentials(prefix: string, credentials: HostCredentials): Promise<void> {
  const paths = await ensureTlsDir(prefix);
  await writeAtomic(paths.caCert, Buffer.from(credentials.caPem), { mode: 0o644 });
  await writeAtomic(paths.hostKey, Buffer.from(credentials.keyPem), { mode: 0o600 });
  await writeAtomic(paths.hostCert, Buffer.from(credentials.certPem), { mode: 0o644 });
}

/** writeHostCert replaces host.crt alone (a renewal: same key, new certificate). */
export async function writeHostCert(prefix: string, certPem: string): Promise<void> {
  await writeAtomic(tlsPaths(prefix).hostCert, Buffer.from(certPem), { mode: 0o644 });
}

/** writeCaKey keeps the CA's private key (0600) on the host that made the CA. */
export async function writeCaKey(prefix: string, keyPem: string): Promise<void> {
  const paths = await ensureTlsDir(prefix);
  await writeAtomic(paths.caKey, Buffer.from(keyPem), { mode: 0o600 });
}

/** readCaKey reads the CA's private key when this host keeps it; undefined otherwise. */
export async function readCaKey(prefix: string): Promise<string | undefined> {
  return readIfAny(tlsPaths(prefix).caKey);
}

// The tls directory holds private keys: 0700, root's (or the agent user's), no planted link.
async function ensureTlsDir(prefix: string): Promise<TlsPaths> {
  const paths = tlsPaths(prefix);
  await mkdir(prefix, { recursive: true, mode: 0o700 });
  ensurePrivateDir(paths.dir);
  await chmod(paths.dir, 0o700);
  return paths;
}

async function readIfAny(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MgmtError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

async function readOrThrow(path: string, beside: string): Promise<string> {
  const text = await readIfAny(path);
  if (text === undefined) throw new MgmtError(`${path} is missing beside ${beside}; move ${join(path, '..')} away to join again with a new token`);
  return text;
}
