import { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { credentialsProblem, readCredentials, tlsPaths, writeCaKey, writeCredentials } from '../../src/tls/files.js';
import { caPin, certInfo, createCsr, createKey, isIssuedBy, keyMatchesCert, sansForUrls } from '../../src/tls/certs.js';
import { createCa, signCsr } from '../../src/tls/pki.js';
import { formatToken, hashSecret, newToken, parseToken, secretMatches } from '../../src/tls/token.js';
import { useTempDirs } from '../helpers/tmp.js';

describe('cluster PKI (issue 11 point 1)', () => {
  const tempDir = useTempDirs();

  it('issue 11 point 1: a CA signs a host CSR into a short-lived client+server certificate for that host only', async () => {
    const ca = await createCa();
    const key = createKey();
    const csr = createCsr(key, 'h1', sansForUrls(['https://127.0.0.1:2379', 'https://db.example:2380']));
    const certPem = await signCsr(ca, csr, { hostname: 'h1', lifetimeMs: 90_000 });
    const info = certInfo(certPem);
    expect(info.commonName).toBe('h1');
    expect(info.sans).toEqual(['dns:db.example', 'ip:127.0.0.1']);
    expect(info.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(90_000);
    expect(isIssuedBy(certPem, ca.certPem)).toBe(true);
    expect(keyMatchesCert(key, certPem)).toBe(true);
    const cert = new X509Certificate(certPem);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    // Another CA's certificate is not one of ours.
    expect(isIssuedBy(certPem, (await createCa()).certPem)).toBe(false);
  });

  it('issue 11 point 2: a CSR for another host, or one asking for other kinds of names, is not signed', async () => {
    const ca = await createCa();
    const key = createKey();
    await expect(signCsr(ca, createCsr(key, 'h1', []), { hostname: 'h2' })).rejects.toThrow(/not CN=h2/);
    await expect(signCsr(ca, 'garbage', { hostname: 'h1' })).rejects.toThrow(/not a PEM PKCS#10/);
    expect(() => createCsr(key, 'h1', ['email:a@b'])).toThrow(/not a SAN/);
  });

  it('issue 11 point 2: a CSR written with node:crypto alone (a joining host loads no certificate library) is read, verified and signed by the library, SANs intact', async () => {
    const ca = await createCa();
    const key = createKey();
    const sans = ['dns:db-1.example.org', 'ip:10.0.0.7', 'ip:::1', 'ip:fe80::1:2', 'ip:2001:db8::ff00:42:8329'];
    const csr = createCsr(key, 'db-1', sans);
    expect(csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const info = certInfo(await signCsr(ca, csr, { hostname: 'db-1' }));
    expect(info.sans).toEqual(['DNS:db-1.example.org', 'IP Address:10.0.0.7', 'IP Address:0:0:0:0:0:0:0:1', 'IP Address:FE80:0:0:0:0:0:1:2', 'IP Address:2001:DB8:0:0:0:FF00:42:8329'].map((n) => n.replace(/^IP Address:/, 'ip:').replace(/^DNS:/, 'dns:')));
    // A CSR whose signature does not match its key is refused.
    const forged = createCsr(key, 'db-1', []).replace(/.{8}\n-----END/, 'AAAAAAAA\n-----END');
    await expect(signCsr(ca, forged, { hostname: 'db-1' })).rejects.toThrow();
  });

  it('issue 11 point 2: a token carries the CA pin and a secret of which only a hash is compared', async () => {
    const ca = await createCa();
    const token = newToken(caPin(ca.certPem));
    const line = formatToken(token);
    expect(line).toMatch(/^mgmt1\.[0-9a-f]{12}\.[\w-]{43}\.[\w-]{43}$/);
    expect(parseToken(line)).toEqual(token);
    expect(secretMatches(token.secret, hashSecret(token.secret))).toBe(true);
    expect(secretMatches(newToken(token.pin).secret, hashSecret(token.secret))).toBe(false);
    expect(() => parseToken(`${line}x`)).toThrow(/pin/);
    expect(() => parseToken('nope')).toThrow(/not a token/);
    // The error never repeats the secret.
    try {
      parseToken(line.replace(token.id, 'zz'));
    } catch (err) {
      expect((err as Error).message).not.toContain(token.secret);
    }
  });

  it('issue 11 point 1: credentials are written 0600 under PREFIX/tls and checked when read', async () => {
    const prefix = await tempDir();
    expect(await readCredentials(prefix, 'h1')).toBeUndefined();
    const ca = await createCa();
    const keyPem = createKey();
    const certPem = await signCsr(ca, createCsr(keyPem, 'h1', []), { hostname: 'h1' });
    await writeCredentials(prefix, { caPem: ca.certPem, certPem, keyPem });
    await writeCaKey(prefix, ca.keyPem);
    const paths = tlsPaths(prefix);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(paths.hostKey)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.caKey)).mode & 0o777).toBe(0o600);
    expect(await readCredentials(prefix, 'h1')).toEqual({ caPem: ca.certPem, certPem, keyPem });
    await expect(readCredentials(prefix, 'h2')).rejects.toThrow(/for "h1", not this host "h2"/);
    expect(credentialsProblem({ caPem: ca.certPem, certPem, keyPem: createKey() }, 'h1')).toMatch(/not the key/);
  });
});
