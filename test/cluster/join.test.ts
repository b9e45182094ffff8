// The join service and its client (issue 11 point 2) over real TLS on loopback. The signer is a
// real one built here from pki.signCsr and token.secretMatches over an in-memory token record (the
// etcd token store and the agent's glue are tested end to end elsewhere).

import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { JoinError, joinCluster, RenewalTimer, renewalDue, renewCertificate } from '../../src/cluster/join-client.js';
import { JoinRefused, JoinService, type JoinServiceOptions } from '../../src/cluster/join-service.js';
import { defaultJoinUrls, joinUrlFor } from '../../src/cluster/keys.js';
import { MgmtError } from '../../src/errors.js';
import type { LogEvent } from '../../src/log/events.js';
import { readCredentials, tlsPaths, writeCredentials, writeHostCert, type HostCredentials } from '../../src/tls/files.js';
import { caPin, certInfo, createCsr, isIssuedBy, keyMatchesCert, sansForUrls } from '../../src/tls/certs.js';
import { signCsr } from '../../src/tls/pki.js';
import { formatToken, hashSecret, newToken, secretMatches, type JoinToken } from '../../src/tls/token.js';
import { freePort } from '../helpers/ports.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const services: JoinService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});

/** A seed host: a CA, its credentials under its prefix, one token, a signer and a running join service. */
interface Seed {
  readonly pki: TestPki;
  readonly service: JoinService;
  /** The seed's prefix: its credentials are under prefix/tls. */
  readonly prefix: string;
  /** The seed's client URL (the join service listens on its port - 1). */
  readonly seedUrl: string;
  readonly token: JoinToken;
  readonly events: LogEvent[];
  /** What reached the signer. */
  readonly signed: { route: 'join' | 'renew'; hostname: string; csrPem: string }[];
  /** Hosts the signer knows (its "etcd users"). */
  readonly hosts: Set<string>;
  /** Set to refuse the next renewals. */
  refuseRenewals: number;
}

interface SeedOptions {
  /** The CA the token's pin names (default: the seed's own). */
  readonly pinnedCa?: string;
  readonly lifetimeMs?: number;
  readonly serviceOptions?: Partial<JoinServiceOptions>;
  /** Writes the seed's prefix/tls instead of the default (a machine in the middle). */
  readonly writeTls?: (prefix: string, pki: TestPki) => Promise<void>;
}

async function startSeed(options: SeedOptions = {}): Promise<Seed> {
  const pki = await makeTestPki();
  const prefix = await tempDir();
  const joinPort = await freePort();
  const joinUrl = `https://127.0.0.1:${joinPort}`;
  if (options.writeTls) await options.writeTls(prefix, pki);
  else await pki.writeHost(prefix, 'seed', { urls: [joinUrl] });
  const token = newToken(caPin(options.pinnedCa ?? pki.ca.certPem));
  const record = { hash: hashSecret(token.secret), uses: 1 };
  const events: LogEvent[] = [];
  const signed: Seed['signed'] = [];
  const hosts = new Set(['seed']);
  // The signer the lead's glue will build over etcd, in memory: token, then CSR.
  const sign = async (hostname: string, csrPem: string): Promise<{ certPem: string }> => {
    try {
      return { certPem: await signCsr(pki.ca, csrPem, { hostname, lifetimeMs: options.lifetimeMs }) };
    } catch (err) {
      throw err instanceof MgmtError ? new JoinRefused(err.message) : err;
    }
  };
  const seed: Seed = {
    pki,
    prefix,
    token,
    events,
    signed,
    hosts,
    refuseRenewals: 0,
    seedUrl: `https://127.0.0.1:${joinPort + 1}`,
    service: undefined as unknown as JoinService,
  };
  const service = await JoinService.start({
    urls: [joinUrl],
    prefix,
    onEvent: (event) => events.push(event),
    signJoin: async ({ token: presented, hostname, csrPem }) => {
      if (presented.id !== token.id) throw new JoinRefused('unknown or expired token');
      if (!secretMatches(presented.secret, record.hash)) throw new JoinRefused('wrong secret');
      if (record.uses < 1) throw new JoinRefused('token used up');
      record.uses--;
      signed.push({ route: 'join', hostname, csrPem });
      hosts.add(hostname);
      // Endpoints as a hostile or broken service could name them: only the https host:port ones count.
      const endpoints = ['https://127.0.0.1:2379', 'https://127.0.0.1:2379/', 'http://127.0.0.1:2381', 'https://user:pw@127.0.0.1:2382', 'https://127.0.0.1:2383/path', 'not a url', 'https://[::1]:2384'];
      return { ...(await sign(hostname, csrPem)), endpoints };
    },
    signRenewal: async ({ hostname, csrPem }) => {
      if (!hosts.has(hostname)) throw new JoinRefused(`no host ${hostname} in this cluster`);
      if (seed.refuseRenewals > 0) {
        seed.refuseRenewals--;
        throw new JoinRefused('not now');
      }
      signed.push({ route: 'renew', hostname, csrPem });
      return sign(hostname, csrPem);
    },
    ...options.serviceOptions,
  });
  services.push(service);
  (seed as { service: JoinService }).service = service;
  return seed;
}

function joinOptions(seed: Seed, prefix: string, overrides: Partial<Parameters<typeof joinCluster>[0]> = {}): Parameters<typeof joinCluster>[0] {
  return { seeds: [seed.seedUrl], token: formatToken(seed.token), hostname: 'h2', sans: sansForUrls(['https://127.0.0.1:1']), prefix, ...overrides };
}

/** rawCall sends one request to the join service as any client could, trusting its CA. */
async function rawCall(seed: Seed, path: string, init: { method?: string; body?: string | Buffer; headers?: Record<string, string>; tls?: RequestOptions } = {}): Promise<{ status: number; body: string }> {
  const request = httpsRequest(new URL(path, seed.service.urls[0]), {
    method: init.method ?? 'POST',
    agent: false,
    ca: seed.pki.ca.certPem,
    headers: { 'Content-Type': 'application/json', ...init.headers },
    ...init.tls,
  });
  request.end(init.body);
  const [response] = (await once(request, 'response')) as [import('node:http').IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
}

function joinRequestsSeen(seed: Seed): LogEvent[] {
  return seed.events.filter((event) => event.event === 'request' && event.path === '/v1/join');
}

async function tlsEntries(prefix: string): Promise<string[]> {
  return readdir(tlsPaths(prefix).dir).catch(() => []);
}

async function servedSerial(seed: Seed): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(seed.service.urls[0]!).port), ca: seed.pki.ca.certPem });
  await once(socket, 'secureConnect');
  const serial = socket.getPeerCertificate().serialNumber.toLowerCase();
  socket.destroy();
  return serial;
}

describe('join service URLs (issue 11 point 2)', () => {
  it('issue 11 point 2: the join service sits on each client URL\'s host at port - 1, and a joiner finds it from its seed by the same rule', () => {
    expect(joinUrlFor('https://10.0.0.1:2379')).toBe('https://10.0.0.1:2378');
    expect(joinUrlFor('https://[fd00::1]:2379')).toBe('https://[fd00::1]:2378');
    expect(joinUrlFor('https://db.example')).toBe('https://db.example:442');
    expect(defaultJoinUrls(['https://10.0.0.1:2379', 'https://10.0.0.1:2379', 'https://h.example:3379'])).toEqual(['https://10.0.0.1:2378', 'https://h.example:3378']);
  });
});

describe('joining a cluster with a token (issue 11 point 2)', () => {
  it('issue 11 point 2: GIVEN a token WHEN a host joins THEN it gets a certificate of the cluster CA for its key, made locally, written under PREFIX/tls; the token is then used up', async () => {
    const seed = await startSeed();
    const prefix = await tempDir();
    const { credentials, endpoints } = await joinCluster(joinOptions(seed, prefix));
    expect(await readCredentials(prefix, 'h2')).toEqual(credentials);
    // The servers the service named, to connect to at once: https host:port URLs only.
    expect(endpoints).toEqual(['https://127.0.0.1:2379', 'https://[::1]:2384']);
    expect(caPin(credentials.caPem)).toBe(caPin(seed.pki.ca.certPem));
    expect(isIssuedBy(credentials.certPem, seed.pki.ca.certPem)).toBe(true);
    expect(keyMatchesCert(credentials.keyPem, credentials.certPem)).toBe(true);
    expect(certInfo(credentials.certPem)).toMatchObject({ commonName: 'h2', sans: ['ip:127.0.0.1'] });
    expect((await stat(tlsPaths(prefix).hostKey)).mode & 0o777).toBe(0o600);
    // The key never left: the signer saw a CSR only.
    expect(seed.signed).toHaveLength(1);
    expect(seed.signed[0]!.csrPem).not.toContain('PRIVATE KEY');
    expect(seed.events.find((event) => event.event === 'signed')?.message).toContain('h2');
    // No event the service logged carries the token's secret.
    expect(JSON.stringify(seed.events)).not.toContain(seed.token.secret);
    // The certificate works: it authenticates this host on the renewal route.
    const renewed = await renewCertificate({ joinUrls: seed.service.urls, credentials, prefix, hostname: 'h2' });
    expect(certInfo(renewed.certPem).commonName).toBe('h2');

    // A used-up token: refused with the signer's reason, nothing written for h3.
    const other = await tempDir();
    await expect(joinCluster(joinOptions(seed, other, { hostname: 'h3' }))).rejects.toThrow(new JoinError(`the join service at ${joinUrlFor(seed.seedUrl)} refused the join: token used up`));
    expect(await tlsEntries(other)).toEqual([]);
  });

  it('issue 11 point 2: GIVEN a seed of another CA WHEN a host joins THEN the pin refuses it before anything is sent: the service sees no /v1/join', async () => {
    const foreign = await makeTestPki();
    const seed = await startSeed({ pinnedCa: foreign.ca.certPem });
    const prefix = await tempDir();
    const error = await joinCluster(joinOptions(seed, prefix)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JoinError);
    expect((error as Error).message).toBe(`cannot join: the join service at ${joinUrlFor(seed.seedUrl)}: the seed's CA does not match the token's pin: wrong seed or a machine in the middle`);
    expect(seed.events.some((event) => event.event === 'request' && event.path === '/v1/ca')).toBe(true);
    expect(joinRequestsSeen(seed)).toEqual([]);
    expect(seed.signed).toEqual([]);
    expect(await tlsEntries(prefix)).toEqual([]);
  });

  it('issue 11 point 2: GIVEN a machine in the middle that serves the pinned CA (alone, or with its own behind it) but holds no certificate of it WHEN a host joins THEN the secret never reaches it', async () => {
    for (const caFile of ['pinned', 'pinned+own'] as const) {
      let pinned = '';
      const seed = await startSeed({
        writeTls: async (prefix, own) => {
          const real = await makeTestPki();
          pinned = real.ca.certPem;
          const credentials = await own.hostCredentials('seed');
          await writeCredentials(prefix, { ...credentials, caPem: caFile === 'pinned' ? real.ca.certPem : `${real.ca.certPem}\n${own.ca.certPem}` });
        },
        pinnedCa: undefined,
      });
      // The token is for the real CA, which the middle serves at /v1/ca.
      const token = formatToken({ ...seed.token, pin: caPin(pinned) });
      const prefix = await tempDir();
      const error = await joinCluster(joinOptions(seed, prefix, { token })).catch((err: unknown) => err);
      expect(error, caFile).toBeInstanceOf(JoinError);
      expect((error as Error).message, caFile).toMatch(caFile === 'pinned' ? /presents a certificate the pinned CA did not issue for that address \(.*\): a machine in the middle, or the seed's certificate lacks this address; the token was not sent$/ : /did not answer \/v1\/ca with one CA certificate \(HTTP 200\): is it a join service\?$/);
      expect(joinRequestsSeen(seed), caFile).toEqual([]);
      expect(await tlsEntries(prefix), caFile).toEqual([]);
    }
  });

  it('issue 11 point 2: GIVEN a wrong secret, or a hostname the signer or the service refuses WHEN a host joins THEN a JoinError says why and nothing is written under PREFIX/tls', async () => {
    const seed = await startSeed();
    const joinUrl = joinUrlFor(seed.seedUrl);
    const cases: [string, Partial<Parameters<typeof joinCluster>[0]>, string][] = [
      ['a wrong secret', { token: formatToken({ ...seed.token, secret: newToken('x').secret }) }, 'wrong secret'],
      ['another token', { token: formatToken(newToken(seed.token.pin)) }, 'unknown or expired token'],
      ['hostname root', { hostname: 'root' }, 'the hostname root is refused: it is etcd\'s administrator, not a host'],
    ];
    for (const [what, overrides, reason] of cases) {
      const prefix = await tempDir();
      await expect(joinCluster(joinOptions(seed, prefix, overrides)), what).rejects.toThrow(new JoinError(`the join service at ${joinUrl} refused the join: ${reason}`));
      expect(await tlsEntries(prefix), what).toEqual([]);
    }
    expect(seed.signed).toEqual([]);
    // The service logged each refusal, without the secret.
    expect(seed.events.filter((event) => event.event === 'refused')).toHaveLength(3);
    expect(JSON.stringify(seed.events)).not.toContain(seed.token.secret);
  });

  it('issue 11 point 2: GIVEN a join service that answers with a certificate for another key, or of another CA WHEN a host joins THEN a JoinError says so and nothing is written', async () => {
    const foreign = await makeTestPki();
    for (const [what, answer] of [
      ['another key', async (pki: TestPki) => (await pki.hostCredentials('h2')).certPem],
      ['another CA', async () => (await foreign.hostCredentials('h2')).certPem],
      ['not a certificate', async () => 'garbage'],
    ] as const) {
      let pki: TestPki | undefined;
      const seed = await startSeed({ serviceOptions: { signJoin: async () => ({ certPem: await answer(pki!) }) } });
      pki = seed.pki;
      const prefix = await tempDir();
      await expect(joinCluster(joinOptions(seed, prefix)), what).rejects.toThrow(new RegExp(`^the join service at .* answered with a certificate this host cannot use: (host\\.key is not the key of host\\.crt|host\\.crt is not signed by ca\\.crt|not a PEM certificate.*)$`));
      expect(await tlsEntries(prefix), what).toEqual([]);
    }
  });

  it('GIVEN a signer that admitted the host with a warning WHEN a host joins THEN it gets its certificate, and the service logs the warning', async () => {
    let pki: TestPki | undefined;
    const seed = await startSeed({
      serviceOptions: { signJoin: async ({ hostname, csrPem }) => ({ certPem: await signCsr(pki!.ca, csrPem, { hostname, lifetimeMs: 3_600_000 }), warning: `host ${hostname} is admitted, but its certificate was not recorded` }) },
    });
    pki = seed.pki;
    const prefix = await tempDir();
    await joinCluster(joinOptions(seed, prefix));
    expect(await readCredentials(prefix, 'h2')).toBeDefined();
    expect(seed.events.filter((event) => event.level === 'warn')).toEqual([expect.objectContaining({ event: 'warning', host: 'h2', message: 'join service: host h2 is admitted, but its certificate was not recorded' })]);
  });

  it('issue 11 point 2: GIVEN seeds whose join service is unreachable WHEN a host joins THEN each is tried in turn, and when none answers the error names the URL and the port rule', async () => {
    const seed = await startSeed();
    const deadSeed = `https://127.0.0.1:${(await freePort()) + 1}`;
    const prefix = await tempDir();
    const error = await joinCluster(joinOptions(seed, prefix, { seeds: [deadSeed] })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JoinError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot join: cannot reach the join service at ${joinUrlFor(deadSeed)}: .*ECONNREFUSED.*port - 1, e\\.g\\. 2378 beside 2379; name another with --join-url\\)$`));
    expect(await tlsEntries(prefix)).toEqual([]);
    // The dead seed first, then the live one.
    await joinCluster(joinOptions(seed, prefix, { seeds: [deadSeed, seed.seedUrl] }));
    expect(await readCredentials(prefix, 'h2')).toBeDefined();
    // --join-url names the service directly.
    const third = await startSeed();
    const prefix3 = await tempDir();
    await joinCluster(joinOptions(third, prefix3, { seeds: [deadSeed], joinUrl: third.service.urls[0] }));
    expect(await readCredentials(prefix3, 'h2')).toBeDefined();
  });
});

describe('the join service takes hostile requests (issue 11 point 2)', () => {
  it('issue 11 point 2: oversize, non-JSON, mistyped and unknown-field bodies are answered 400 and reach no signer', async () => {
    // Each 400 counts as a refused join: the limit is raised so that all cases get their answer.
    const seed = await startSeed({ serviceOptions: { failureLimit: 100 } });
    const token = `${seed.token.id}.${seed.token.secret}`;
    const join = (body: unknown) => JSON.stringify(body);
    const cases: [string, string | Buffer, Record<string, string>, RegExp][] = [
      ['an oversize body', Buffer.alloc(100 * 1024, 'a'), {}, /larger than 64 KiB/],
      ['an oversize JSON string', join({ token, hostname: 'h2', csr: 'x'.repeat(70 * 1024) }), {}, /larger than 64 KiB/],
      ['not JSON', '{"token":', {}, /not valid JSON/],
      ['a JSON array', '[]', {}, /must be a JSON object/],
      ['another content type', join({ token, hostname: 'h2', csr: 'x' }), { 'Content-Type': 'text/plain' }, /must be JSON/],
      ['a number for a string', join({ token: 1, hostname: 'h2', csr: 'x' }), {}, /field token as a non-empty string/],
      ['a missing field', join({ token, hostname: 'h2' }), {}, /field csr as a non-empty string/],
      ['an unknown field', join({ token, hostname: 'h2', csr: 'x', admin: true }), {}, /field "admin" the service does not take/],
      ['a malformed token', join({ token: 'mgmt1.x', hostname: 'h2', csr: 'x' }), {}, /not <id>\.<secret>/],
      ['a hostname with a slash', join({ token, hostname: 'a/../b', csr: 'x' }), {}, /hostname must be letters/],
      ['a hostname with a newline', join({ token, hostname: 'a\nb', csr: 'x' }), {}, /hostname must be letters/],
    ];
    for (const [what, body, headers, reason] of cases) {
      const answer = await rawCall(seed, '/v1/join', { body, headers });
      expect(answer.status, what).toBe(400);
      expect((JSON.parse(answer.body) as { error: string }).error, what).toMatch(reason);
    }
    expect(seed.signed).toEqual([]);
    expect((await rawCall(seed, '/v1/nothing', { method: 'GET' })).status).toBe(404);
    expect((await rawCall(seed, '/v1/join', { method: 'GET' })).status).toBe(405);
    expect(await rawCall(seed, '/v1/ca', { method: 'GET' })).toEqual({ status: 200, body: seed.pki.ca.certPem });
  });

  it('issue 11 point 2: GIVEN an address that keeps failing to join WHEN it reaches the limit THEN it is answered 429 even with the right token, so a secret cannot be guessed online', async () => {
    const seed = await startSeed({ serviceOptions: { failureLimit: 3, failureWindowMs: 60_000 } });
    const prefix = await tempDir();
    const wrong = formatToken({ ...seed.token, secret: newToken('x').secret });
    for (let attempt = 0; attempt < 3; attempt++) await expect(joinCluster(joinOptions(seed, prefix, { token: wrong }))).rejects.toThrow(/refused the join: wrong secret/);
    await expect(joinCluster(joinOptions(seed, prefix))).rejects.toThrow(/refused the join: too many refused requests from 127\.0\.0\.1: try again in \d+ s/);
    expect(seed.signed).toEqual([]);
    expect(await tlsEntries(prefix)).toEqual([]);
  });

  it('issue 11 point 2: a client that stalls in the handshake or in its request is cut off after the request timeout', async () => {
    const seed = await startSeed({ serviceOptions: { requestTimeoutMs: 1_000 } });
    const port = Number(new URL(seed.service.urls[0]!).port);
    // No TLS hello at all.
    const silent = netConnect({ host: '127.0.0.1', port });
    silent.on('error', () => undefined);
    // TLS, then half a request line, then nothing.
    const slow = tlsConnect({ host: '127.0.0.1', port, ca: seed.pki.ca.certPem });
    slow.on('error', () => undefined);
    await once(slow, 'secureConnect');
    slow.write('POST /v1/join HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await Promise.all([once(silent, 'close'), once(slow, 'close')]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
  it('issue 11 point 2: close() cuts a connection still in its handshake at once (an agent stopping does not wait for a silent client)', async () => {
    const seed = await startSeed();
    const silent = netConnect({ host: '127.0.0.1', port: Number(new URL(seed.service.urls[0]!).port) });
    silent.on('error', () => undefined);
    await once(silent, 'connect');
    // The service has the connection (a request event would need TLS; the CA route proves it serves).
    expect((await rawCall(seed, '/v1/ca', { method: 'GET' })).status).toBe(200);
    const started = Date.now();
    await Promise.all([seed.service.close(), once(silent, 'close')]);
    // The handshake timeout is 10 s: well before it.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('renewing a host certificate (issue 11 point 2)', () => {
  async function joined(seed: Seed, hostname = 'h2'): Promise<{ prefix: string; credentials: HostCredentials }> {
    const prefix = await tempDir();
    return { prefix, credentials: (await joinCluster(joinOptions(seed, prefix, { hostname }))).credentials };
  }

  it('issue 11 point 2: GIVEN a joined host WHEN it renews with its certificate THEN it gets a new certificate for the same key; without one, or with a foreign CA\'s, it is refused', async () => {
    const seed = await startSeed();
    const { prefix, credentials } = await joined(seed);
    const renewed = await renewCertificate({ joinUrls: seed.service.urls, credentials, prefix, hostname: 'h2' });
    expect(certInfo(renewed.certPem).serial).not.toBe(certInfo(credentials.certPem).serial);
    expect(keyMatchesCert(credentials.keyPem, renewed.certPem)).toBe(true);
    expect(await readCredentials(prefix, 'h2')).toEqual({ ...credentials, certPem: renewed.certPem });

    const csr = JSON.stringify({ csr: createCsr(credentials.keyPem, 'h2', []) });
    const without = await rawCall(seed, '/v1/renew', { body: csr });
    expect(without.status).toBe(403);
    expect(without.body).toContain('a renewal needs the host\'s current certificate of this cluster (mutual TLS)');
    const foreign = await (await makeTestPki()).hostCredentials('h2');
    const withForeign = await rawCall(seed, '/v1/renew', { body: csr, tls: { cert: foreign.certPem, key: foreign.keyPem } });
    expect(withForeign.status).toBe(403);
    expect(withForeign.body).toContain('not a valid certificate of this cluster\'s CA');
    // The same through the client: host.crt stays as it was.
    await expect(renewCertificate({ joinUrls: seed.service.urls, credentials: { ...foreign, caPem: seed.pki.ca.certPem }, prefix, hostname: 'h2' })).rejects.toThrow(/did not renew \(HTTP 403\): the client certificate is not a valid certificate/);
    expect((await readCredentials(prefix, 'h2'))?.certPem).toBe(renewed.certPem);
    // A host the signer no longer knows (revoked) cannot renew.
    seed.hosts.delete('h2');
    await expect(renewCertificate({ joinUrls: seed.service.urls, credentials: renewed, prefix, hostname: 'h2' })).rejects.toThrow(/did not renew \(HTTP 403\): no host h2 in this cluster/);
    expect(seed.signed.filter((entry) => entry.route === 'renew')).toHaveLength(1);
  });

  it('issue 11 point 2: GIVEN the seed\'s host.crt replaced on disk WHEN a client connects again THEN the service presents the new certificate without a restart', async () => {
    const seed = await startSeed();
    const before = await servedSerial(seed);
    expect(before).toBe(certInfo((await readCredentials(seed.prefix, 'seed'))!.certPem).serial);
    // Renewed the way the agent does it: same key, a new host.crt renamed into place.
    const current = (await readCredentials(seed.prefix, 'seed'))!;
    const renewed = await signCsr(seed.pki.ca, createCsr(current.keyPem, 'seed', certInfo(current.certPem).sans), { hostname: 'seed' });
    await writeHostCert(seed.prefix, renewed);
    expect(await servedSerial(seed)).toBe(certInfo(renewed).serial);
    expect(certInfo(renewed).serial).not.toBe(before);
    // And joins keep working over it.
    await joined(seed);
  });

  it('issue 11 point 2: GIVEN a 6 s certificate WHEN the RenewalTimer runs THEN it renews before expiry, retrying after a refused attempt, and again for the new one', async () => {
    const seed = await startSeed({ lifetimeMs: 6_000 });
    const { prefix, credentials } = await joined(seed);
    const firstNotAfter = certInfo(credentials.certPem).notAfter.getTime();
    expect(renewalDue(credentials.certPem).getTime()).toBeGreaterThan(Date.now() + 2_000);
    seed.refuseRenewals = 1;
    const events: (LogEvent & { at: number })[] = [];
    let renewals = 0;
    let secondRenewal: () => void = () => undefined;
    const renewedTwice = new Promise<void>((resolve) => {
      secondRenewal = resolve;
    });
    const timer = new RenewalTimer({
      prefix,
      hostname: 'h2',
      joinUrls: () => seed.service.urls,
      retryMinMs: 300,
      onEvent: (event) => {
        events.push({ ...event, at: Date.now() });
        if (event.event === 'renewed' && ++renewals === 2) secondRenewal();
      },
    }).start();
    try {
      await renewedTwice;
    } finally {
      await timer.stop();
    }
    const [failed, first] = [events.find((event) => event.event === 'renew-failed'), events.find((event) => event.event === 'renewed')];
    expect(failed?.message).toMatch(/did not renew \(HTTP 403\): not now; retrying in/);
    expect(first!.at).toBeGreaterThan(failed!.at);
    expect(first!.at).toBeLessThan(firstNotAfter);
    const now = (await readCredentials(prefix, 'h2'))!;
    expect(keyMatchesCert(credentials.keyPem, now.certPem)).toBe(true);
    expect(certInfo(now.certPem).notAfter.getTime()).toBeGreaterThan(firstNotAfter);
    // Stopped: no more renewals come.
    const signedAtStop = seed.signed.length;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(seed.signed.length).toBe(signedAtStop);
  });
});
