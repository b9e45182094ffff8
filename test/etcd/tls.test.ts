import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { get as httpsGet } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { filter, firstValueFrom, scan, shareReplay } from 'rxjs';
import { EtcdConnection } from '../../src/etcd/connection.js';
import { httpGet } from '../../src/etcd/http-get.js';
import { clusterVersion, EtcdServer, etcdTlsFiles, isHealthy } from '../../src/etcd/server.js';
import { writeHostCert, type HostCredentials } from '../../src/tls/files.js';
import { createCsr, sansForUrls } from '../../src/tls/certs.js';
import { signCsr } from '../../src/tls/pki.js';
import { recoverSpace } from '../../src/etcd/space.js';
import { fillUntilNoSpace, freePort, skipEtcdReason, useEtcd, type TestEtcd } from '../helpers/etcd.js';
import { etcdctlTlsArgs, makeTestPki } from '../helpers/tls.js';

const run = promisify(execFile);

describe('EtcdServer with TLS credentials, without starting etcd', () => {
  const tls = etcdTlsFiles('/var/lib/mgmt');

  it('issue 11 point 1: serves clients and peers with the cluster certificates and requires theirs, never auto-tls', () => {
    // GIVEN a server with the prefix's credential files and no URLs
    const server = new EtcdServer({ prefix: '/var/lib/mgmt', name: 'h1', tls });
    // WHEN its arguments are built
    const args = server.args();
    // THEN its URLs are https, and both ports use the host certificate and require one of the CA
    expect(server.clientUrls).toEqual(['https://127.0.0.1:2379']);
    expect(server.peerUrls).toEqual(['https://127.0.0.1:2380']);
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(flag('--cert-file')).toBe('/var/lib/mgmt/tls/host.crt');
    expect(flag('--key-file')).toBe('/var/lib/mgmt/tls/host.key');
    expect(flag('--trusted-ca-file')).toBe('/var/lib/mgmt/tls/ca.crt');
    expect(flag('--peer-cert-file')).toBe('/var/lib/mgmt/tls/host.crt');
    expect(flag('--peer-key-file')).toBe('/var/lib/mgmt/tls/host.key');
    expect(flag('--peer-trusted-ca-file')).toBe('/var/lib/mgmt/tls/ca.crt');
    expect(args).toContain('--client-cert-auth');
    expect(args).toContain('--peer-client-cert-auth');
    expect(args.filter((arg) => /auto-tls/.test(arg))).toEqual([]);
  });

  it('issue 11 point 1: refuses an http URL with TLS credentials, and an https URL without them', () => {
    expect(() => new EtcdServer({ prefix: '/p', tls, clientUrls: ['http://127.0.0.1:2379'] })).toThrow(
      'etcd server: http://127.0.0.1:2379 is not https: with TLS credentials etcd serves https URLs only',
    );
    expect(() => new EtcdServer({ prefix: '/p', tls, peerUrls: ['http://10.0.0.1:2380'] })).toThrow(/http:\/\/10\.0\.0\.1:2380 is not https/);
    expect(() => new EtcdServer({ prefix: '/p', clientUrls: ['https://127.0.0.1:2379'] })).toThrow(/https:\/\/127\.0\.0\.1:2379 is not http: without TLS credentials/);
  });

  it('issue 11 point 1: a connection refuses an endpoint of the wrong scheme and unusable credentials, and setEndpoints leaves out published plaintext ones', async () => {
    expect(() => new EtcdConnection({ endpoints: ['https://127.0.0.1:2379'] })).toThrow(/https: reaching it needs the cluster CA/);
    const credentials = await (await makeTestPki()).hostCredentials('h1');
    expect(() => new EtcdConnection({ endpoints: ['http://127.0.0.1:2379'], tls: credentials })).toThrow(/http:\/\/127\.0\.0\.1:2379 is not https/);
    expect(() => new EtcdConnection({ endpoints: ['https://127.0.0.1:2379'], tls: { ...credentials, certPem: 'not a certificate' } })).toThrow(
      /^etcd https:\/\/127\.0\.0\.1:2379: the cluster CA, host certificate or key is not usable: /,
    );
    const connection = new EtcdConnection({ endpoints: ['https://127.0.0.1:2379'], tls: credentials });
    try {
      // A plaintext URL published in etcd must not strip the connection's TLS.
      expect(connection.setEndpoints(['http://127.0.0.1:2379', 'https://127.0.0.2:2379'])).toBe(true);
      expect(connection.endpoints).toEqual(['https://127.0.0.2:2379']);
      expect(connection.setEndpoints(['http://127.0.0.3:2379'])).toBe(false);
      // Unusable credentials leave the connection as it was.
      expect(() => connection.setCredentials({ ...credentials, keyPem: 'garbage' })).toThrow(/not usable/);
      expect(connection.credentials).toBe(credentials);
    } finally {
      connection.close();
    }
  });
});

describe.skipIf(skipEtcdReason !== undefined)(`etcd over mutual TLS with real etcd${skipEtcdReason ? ` (skipped: ${skipEtcdReason})` : ''}`, () => {
  const makeEtcd = useEtcd();
  const opened: EtcdConnection[] = [];
  afterEach(() => {
    for (const connection of opened.splice(0)) connection.close();
  });
  const connect = (endpoints: readonly string[], tls?: HostCredentials): EtcdConnection => {
    const connection = new EtcdConnection({ endpoints, tls, timeoutMs: 3000 });
    opened.push(connection);
    return connection;
  };
  const startTlsEtcd = async (options: Parameters<typeof makeEtcd>[0] = {}): Promise<TestEtcd & { credentials: HostCredentials }> => {
    const etcd = await makeEtcd({ pki: options.pki ?? (await makeTestPki()), ...options });
    await etcd.server.start();
    return etcd as TestEtcd & { credentials: HostCredentials };
  };

  it('issue 11 point 1: an etcd with the host certificate starts and answers /health and /version over TLS, and not without a certificate', async () => {
    // GIVEN an EtcdServer with credentials of a fresh CA
    // WHEN it starts (start() itself waits for /health over TLS)
    const etcd = await startTlsEtcd();
    // THEN /health answers with the host's credentials
    expect(await isHealthy(`${etcd.clientUrl}/health`, 2000, etcd.credentials)).toBe(true);
    expect(await clusterVersion(etcd.clientUrl, etcd.credentials)).toMatch(/^3\.4/);
    // AND neither with no credentials, nor in plaintext on the same port
    expect(await isHealthy(`${etcd.clientUrl}/health`, 2000)).toBe(false);
    expect(await isHealthy(`${etcd.clientUrl.replace('https:', 'http:')}/health`, 2000)).toBe(false);
    expect(await clusterVersion(etcd.clientUrl)).toBeUndefined();
  });

  it("issue 11 point 1: a connection with the host's credentials reads and writes, and so does etcdctl with the host's files", async () => {
    const etcd = await startTlsEtcd();
    // GIVEN a connection with the credentials under PREFIX/tls
    const connection = connect([etcd.clientUrl], etcd.credentials);
    // WHEN it writes THEN it reads the value back
    await connection.bounded('put', (client) => client.put('/_mgmt/k').value('over tls').exec());
    expect(await connection.bounded('get', (client) => client.get('/_mgmt/k').string())).toBe('over tls');
    // AND etcdctl with --cacert --cert --key of PREFIX/tls reads it and writes
    const etcdctl = (...args: string[]) => run('etcdctl', ['--endpoints', etcd.clientUrl, ...etcdctlTlsArgs(etcd.prefix), ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    expect((await etcdctl('get', '/_mgmt/k', '--print-value-only')).stdout.trim()).toBe('over tls');
    await etcdctl('put', '/_mgmt/k', 'by etcdctl');
    expect(await connection.bounded('get', (client) => client.get('/_mgmt/k').string())).toBe('by etcdctl');
    // AND etcdctl without a certificate is refused
    await expect(run('etcdctl', ['--endpoints', etcd.clientUrl, '--cacert', etcdTlsFiles(etcd.prefix).caFile, '--dial-timeout', '2s', '--command-timeout', '3s', 'get', '/_mgmt/k'], { env: { ...process.env, ETCDCTL_API: '3' } })).rejects.toThrow();
  });

  it("issue 11 point 1: the client port refuses a plaintext client, a TLS client without a certificate and one with a foreign CA's certificate, saying which", async () => {
    const pki = await makeTestPki();
    const etcd = await startTlsEtcd({ pki });
    const foreign = await makeTestPki();
    // WHEN a plaintext client calls THEN it fails
    await expect(connect([etcd.clientUrl.replace('https:', 'http:')]).bounded('put', (client) => client.put('/k').value('v').exec())).rejects.toThrow(/cannot put on etcd http:/);
    // WHEN a TLS client trusting the CA but with no certificate of its own asks THEN the handshake fails
    const noCertificate = new Promise<void>((resolve, reject) => {
      httpsGet(`${etcd.clientUrl}/health`, { ca: pki.ca.certPem, agent: false }, (res) => {
        res.resume();
        reject(new Error(`answered HTTP ${res.statusCode} without a client certificate`));
      }).on('error', () => resolve());
    });
    await noCertificate;
    // WHEN a host of another CA (trusting this cluster's CA) calls THEN the server refuses its certificate, and the error says so
    const stranger = await foreign.hostCredentials('stranger');
    await expect(connect([etcd.clientUrl], { ...stranger, caPem: pki.ca.certPem }).bounded('put', (client) => client.put('/k').value('v').exec())).rejects.toThrow(
      `cannot put on etcd ${etcd.clientUrl}: the server refused this host's certificate (host.crt): it is missing or not signed by the server's cluster CA`,
    );
    // WHEN a host trusts another CA than the server's THEN the error says the server is not of its cluster
    await expect(connect([etcd.clientUrl], stranger).bounded('get', (client) => client.get('/k').string())).rejects.toThrow(
      `cannot get on etcd ${etcd.clientUrl}: the server's certificate is not signed by this host's cluster CA (ca.crt): it is not a member of this cluster`,
    );
    // AND nothing was written by any of them, as the host itself sees
    expect(await connect([etcd.clientUrl], etcd.credentials).bounded('get', (client) => client.get('/k').string())).toBeNull();
  });

  it("issue 11 point 1: the peer port refuses a foreign CA's certificate and plaintext, and serves the cluster's", async () => {
    const pki = await makeTestPki();
    const etcd = await startTlsEtcd({ pki });
    const members = `${etcd.server.peerUrls[0]}/members`;
    // GIVEN the peer port answers the member list to a certificate of the cluster's CA
    const own = await httpGet(members, { tls: etcd.credentials, timeoutMs: 3000 });
    expect(own.status).toBe(200);
    expect(own.body).toContain(etcd.server.peerUrls[0]);
    // WHEN a peer with another CA's certificate connects THEN the handshake is refused
    const stranger = await (await makeTestPki()).hostCredentials('stranger');
    await expect(httpGet(members, { tls: { ...stranger, caPem: pki.ca.certPem }, timeoutMs: 3000 })).rejects.toThrow(/alert bad certificate|alert certificate required|alert unknown ca/);
    // WHEN a plaintext client connects THEN it gets no answer
    await expect(httpGet(members.replace('https:', 'http:'), { timeoutMs: 3000 })).rejects.toThrow();
  });

  it('issue 11 point 1: a two-member cluster works over TLS (member add, then a second server with initialClusterState existing)', async () => {
    const pki = await makeTestPki();
    // A member whose peer stopped first ignores SIGTERM: the test does not wait 5 s for it.
    const first = await startTlsEtcd({ pki, name: 'm1', stopTimeoutMs: 300 });
    const toFirst = connect([first.clientUrl], first.credentials);
    // GIVEN the second member added to the first's cluster over TLS
    const clientUrl = `https://127.0.0.1:${await freePort()}`;
    const peerUrl = `https://127.0.0.1:${await freePort()}`;
    await toFirst.bounded('add a member', (client) => client.cluster.memberAdd({ peerURLs: [peerUrl] }));
    // WHEN it starts with its own certificate of the CA
    const second = await startTlsEtcd({ pki, name: 'm2', clientUrls: [clientUrl], peerUrls: [peerUrl], initialCluster: `m1=${first.server.peerUrls[0]},m2=${peerUrl}`, initialClusterState: 'existing', stopTimeoutMs: 300 });
    // THEN a write through the first is read through the second, and both are started members
    await toFirst.bounded('put', (client) => client.put('/_mgmt/shared').value('both').exec());
    const toSecond = connect([second.clientUrl], second.credentials);
    expect(await toSecond.bounded('get', (client) => client.get('/_mgmt/shared').string())).toBe('both');
    const list = await toSecond.bounded('list members', (client) => client.cluster.memberList({}));
    expect(list.members.map((m) => m.name).sort()).toEqual(['m1', 'm2']);
    expect(await clusterVersion(second.clientUrl, second.credentials)).toMatch(/^3\.4/);
  });

  it('issue 11 point 1: a host.crt replaced in place (a new certificate for the same key) is what new handshakes present, without a restart', async () => {
    const pki = await makeTestPki();
    const etcd = await startTlsEtcd({ pki });
    const pid = etcd.server.pid;
    const presented = async (url: string): Promise<string> => {
      const { port } = new URL(url);
      const socket = tlsConnect({ host: '127.0.0.1', port: Number(port), ca: etcd.credentials.caPem, cert: etcd.credentials.certPem, key: etcd.credentials.keyPem, ALPNProtocols: ['h2'] });
      try {
        await once(socket, 'secureConnect');
        return socket.getPeerCertificate().serialNumber;
      } finally {
        socket.destroy();
      }
    };
    const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber;
    expect(await presented(etcd.clientUrl)).toBe(serialOf(etcd.credentials.certPem));
    // GIVEN a renewal: the same key, a new certificate, written atomically over host.crt
    const urls = [etcd.clientUrl, ...etcd.server.peerUrls];
    const renewed = await signCsr(pki.ca, createCsr(etcd.credentials.keyPem, 'test', sansForUrls(urls)), { hostname: 'test' });
    expect(serialOf(renewed)).not.toBe(serialOf(etcd.credentials.certPem));
    await writeHostCert(etcd.prefix, renewed);
    // WHEN clients and peers connect anew THEN the running etcd presents the new certificate on both ports
    expect(await presented(etcd.clientUrl)).toBe(serialOf(renewed));
    expect(await presented(etcd.server.peerUrls[0]!)).toBe(serialOf(renewed));
    // AND the server's own probe (files read at each probe) and a connection with the new certificate work
    expect(etcd.server.pid).toBe(pid);
    const credentials = { ...etcd.credentials, certPem: renewed };
    expect(await isHealthy(`${etcd.clientUrl}/health`, 2000, credentials)).toBe(true);
    await connect([etcd.clientUrl], credentials).bounded('put', (client) => client.put('/k').value('renewed').exec());
  });

  it("issue 11 point 1: the server's own /health probe reads the files anew: once the first certificate expired and was renewed in place, a restarted etcd is healthy", async () => {
    const pki = await makeTestPki();
    const etcd = await makeEtcd({ pki });
    const urls = [etcd.clientUrl, ...etcd.server.peerUrls];
    const sign = async (lifetimeMs?: number): Promise<string> => signCsr(pki.ca, createCsr(etcd.credentials!.keyPem, 'test', sansForUrls(urls)), { hostname: 'test', lifetimeMs });
    // GIVEN an etcd started with a certificate that lasts 3 s
    const shortLived = await sign(3000);
    await writeHostCert(etcd.prefix, shortLived);
    await etcd.server.start();
    // AND renewed in place (same key) before it expired
    await writeHostCert(etcd.prefix, await sign());
    // WHEN the first certificate has expired and etcd crashes
    const expired = new X509Certificate(shortLived).validTo;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(expired) - Date.now()) + 1000));
    process.kill(etcd.server.pid!, 'SIGKILL');
    // THEN the restart's /health probe presents the renewed certificate, and etcd is healthy again
    await etcd.waitFor('crashed');
    await etcd.waitFor('restarted', 0, 10_000);
  });

  it('issue 11 point 1: setCredentials switches a live connection to new credentials, and its watches carry on', async () => {
    const pki = await makeTestPki();
    const etcd = await startTlsEtcd({ pki });
    const stranger = await (await makeTestPki()).hostCredentials('test');
    // GIVEN a connection whose certificate the server refuses
    const connection = connect([etcd.clientUrl], { ...stranger, caPem: pki.ca.certPem });
    await expect(connection.bounded('put', (client) => client.put('/k').value('1').exec())).rejects.toThrow(/refused this host's certificate/);
    // WHEN it is given the host's credentials THEN the same connection writes
    connection.setCredentials(etcd.credentials);
    expect(connection.credentials).toBe(etcd.credentials);
    await connection.bounded('put', (client) => client.put('/k').value('1').exec());
    // GIVEN a watch on it (its first emission: established; then one per change)
    const emissions = connection.watch('watch /k', (client) => client.watch().key('/k')).pipe(scan((n) => n + 1, 0), shareReplay(1));
    const subscription = emissions.subscribe();
    const reached = (n: number) => firstValueFrom(emissions.pipe(filter((count) => count >= n)));
    try {
      await reached(1);
      await connection.bounded('put', (client) => client.put('/k').value('2').exec());
      await reached(2);
      // WHEN the certificate is renewed (same key) and handed over
      const renewed = await signCsr(pki.ca, createCsr(etcd.credentials.keyPem, 'test', sansForUrls([etcd.clientUrl])), { hostname: 'test' });
      connection.setCredentials({ ...etcd.credentials, certPem: renewed });
      expect(connection.credentials?.certPem).toBe(renewed);
      // THEN the watch is made again on the new client, and sees the next change
      await reached(3);
      await connection.bounded('put', (client) => client.put('/k').value('3').exec());
      await reached(4);
    } finally {
      subscription.unsubscribe();
    }
    expect(await connection.bounded('get', (client) => client.get('/k').string())).toBe('3');
    // AND another connection made from it carries the renewed credentials
    const another = connection.connectTo([etcd.clientUrl]);
    opened.push(another);
    expect(another.credentials).toBe(connection.credentials);
    expect(await another.bounded('get', (client) => client.get('/k').string())).toBe('3');
  });

  it('issue 11 point 1: the NOSPACE recovery defragments each member over TLS, with the connection\'s credentials', async () => {
    // GIVEN a TLS etcd with a 4 MB quota filled until it raised NOSPACE
    const etcd = await startTlsEtcd({ quotaBackendBytes: 4_000_000, compactionRetention: '1h' });
    const connection = connect([etcd.clientUrl], etcd.credentials);
    await fillUntilNoSpace((key, value) => connection.bounded('put', (client) => client.put(key).value(value).exec()).then(() => undefined));
    // WHEN the space is recovered THEN the member was defragmented (its own connection, same credentials) and writes go in again
    const recovery = await recoverSpace(connection);
    expect(recovery.defragmented).toEqual([etcd.clientUrl]);
    expect(recovery.disarmed).toBe(1);
    await connection.bounded('put', (client) => client.put('/after').value('x').exec());
  });
});
