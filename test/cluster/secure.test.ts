import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';
import { readCredentials, tlsPaths } from '../../src/tls/files.js';
import { certInfo } from '../../src/tls/certs.js';
import { parseToken } from '../../src/tls/token.js';
import { runMgmt } from '../helpers/cli.js';
import { createToken, etcdctl, useCluster, waitForMembers, type ClusterHost } from '../helpers/cluster.js';
import { skipEtcdReason } from '../helpers/etcd.js';
import { exchangeDir, expectedFiles, seedFiles, waitForFiles, waitForLast, writeExchangeGraph, type ExchangeFiles } from '../helpers/exchange.js';
import { waitFor } from '../helpers/log.js';
import { etcdctlTlsArgs } from '../helpers/tls.js';

// A cluster on a network (issue 11 points 1-4, end to end with real agents and etcd): the
// bootstrapping host makes the CA, joiners need a token, each host writes only its own keys, a
// revoked host is cut off at once, and certificates are renewed without a restart.
const TEST_TIMEOUT_MS = 240_000;
const errorsOf = (host: ClusterHost): LogEvent[] => host.proc.events.filter((e) => e.level === 'error');

describe.skipIf(skipEtcdReason !== undefined)('a secure cluster (issue 11)', () => {
  const { startHost, tempDir } = useCluster();

  async function bootstrap(root: string, name = 'a', extraArgs: string[] = []): Promise<{ host: ClusterHost; files: ExchangeFiles }> {
    const files = seedFiles(name);
    const host = await startHost(name, { secure: true, yaml: await writeExchangeGraph(root, name, files), extraArgs });
    await host.waitForCluster('join-service', name, 60_000);
    return { host, files };
  }

  async function join(root: string, name: string, seed: ClusterHost, token: string | undefined, extraArgs: string[] = []): Promise<{ host: ClusterHost; files: ExchangeFiles }> {
    const files = seedFiles(name);
    const host = await startHost(name, { secure: true, token, joinVia: seed, seeds: [seed.clientUrl], yaml: await writeExchangeGraph(root, name, files), extraArgs: ['--no-server', ...extraArgs] });
    return { host, files };
  }

  it('issue 11 points 1-3: GIVEN a bootstrapping host WHEN another joins with a token THEN both exchange exports over mutual TLS, the credentials are where etcdctl takes them, and nothing without a certificate gets in', async () => {
    const root = await tempDir();
    const { host: a, files: filesA } = await bootstrap(root);
    const paths = tlsPaths(a.prefix);
    expect(statSync(paths.caKey).mode & 0o777).toBe(0o600);
    expect(statSync(paths.hostKey).mode & 0o777).toBe(0o600);
    expect(certInfo(readFileSync(paths.hostCert, 'utf8')).sans).toContain('ip:127.0.0.1');
    expect(a.clientUrl.startsWith('https://')).toBe(true);

    const token = await createToken(a);
    expect(parseToken(token).id).toMatch(/^[0-9a-f]{12}$/);
    const { host: b, files: filesB } = await join(root, 'b', a, token);
    await waitForFiles(exchangeDir(root, 'b'), expectedFiles('b', filesB, { a: filesA, b: filesB }), 'b to hold the exports of a and b');
    await waitForFiles(exchangeDir(root, 'a'), expectedFiles('a', filesA, { a: filesA, b: filesB }), 'a to hold the exports of a and b');
    // b's key was made on b; its certificate is the CA's, for b.
    const credentialsB = await readCredentials(b.prefix, 'b');
    expect(credentialsB?.caPem.trim()).toBe(readFileSync(paths.caCert, 'utf8').trim());
    expect(existsSync(tlsPaths(b.prefix).caKey)).toBe(false);
    // The token's secret never reached a log.
    const secret = parseToken(token).secret;
    for (const host of [a, b]) {
      expect(JSON.stringify(host.proc.events)).not.toContain(secret);
      expect(host.proc.stderr()).not.toContain(secret);
    }

    // etcdctl with b's certificate: its own keys yes, another host's and the cluster's no.
    const asB = etcdctlTlsArgs(b.prefix);
    await etcdctl(a.clientUrl, ...asB, 'put', '/_mgmt/exported/b/resources/noop/x', '{}');
    await expect(etcdctl(a.clientUrl, ...asB, 'put', '/_mgmt/exported/a/resources/noop/forged', '{}')).rejects.toThrow(/permission denied/);
    await expect(etcdctl(a.clientUrl, ...asB, 'put', '/_mgmt/idealClusterSize', '1')).rejects.toThrow(/permission denied/);
    await expect(etcdctl(a.clientUrl, ...asB, 'get', '--prefix', '/_mgmt-server/')).rejects.toThrow(/permission denied/);
    await expect(etcdctl(a.clientUrl, ...asB, 'member', 'add', 'evil', '--peer-urls', 'https://127.0.0.1:1')).rejects.toThrow(/permission denied/);
    // ... and without a certificate, nothing at all.
    await expect(etcdctl(a.clientUrl, '--cacert', paths.caCert, '--dial-timeout', '2s', '--command-timeout', '3s', 'get', '/_mgmt/idealClusterSize')).rejects.toThrow();
    await expect(etcdctl(a.clientUrl.replace('https:', 'http:'), '--dial-timeout', '2s', '--command-timeout', '3s', 'get', '/_mgmt/idealClusterSize')).rejects.toThrow();

    // A later restart of b needs no token.
    b.proc.child.kill('SIGTERM');
    expect((await b.proc.exited).code).toBe(0);
    const again = await startHost('b', { secure: true, prefix: b.prefix, joinVia: a, seeds: [a.clientUrl], yaml: await writeExchangeGraph(root, 'b', filesB), extraArgs: ['--no-server'] });
    await again.proc.waitForEvent((e) => e.event === 'cluster' && e.action === 'endpoints', 'b to follow the endpoints again', 60_000);
    expect(errorsOf(a)).toEqual([]);
    expect(errorsOf(again)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('GIVEN a joined host WHEN it restarts while its seed\'s etcd is frozen past one call\'s timeout THEN it asks again instead of exiting, and carries on once etcd answers', async () => {
    const root = await tempDir();
    const { host: a } = await bootstrap(root);
    const { host: b, files: filesB } = await join(root, 'b', a, await createToken(a));
    await b.proc.waitForEvent((e) => e.event === 'cluster' && e.action === 'endpoints', 'b to join', 60_000);
    b.proc.child.kill('SIGTERM');
    await b.proc.exited;

    // SIGSTOP: a real etcd that accepts connections and answers nothing, as one electing a leader does.
    const etcdPid = a.proc.events.find((e) => e.event === 'cluster' && e.action === 'server-start')?.pid as number;
    process.kill(etcdPid, 'SIGSTOP');
    let again: ClusterHost;
    try {
      again = await startHost('b', { secure: true, prefix: b.prefix, joinVia: a, seeds: [a.clientUrl], yaml: await writeExchangeGraph(root, 'b', filesB), extraArgs: ['--no-server'] });
      await again.proc.waitForEvent((e) => e.action === 'retry' && /timed out/.test(String(e.message)), 'b to ask again', 60_000);
    } finally {
      process.kill(etcdPid, 'SIGCONT');
    }
    await again.proc.waitForEvent((e) => e.event === 'cluster' && e.action === 'endpoints', 'b to carry on', 60_000);
    expect(again.proc.child.exitCode).toBeNull();
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 2: GIVEN no token, a wrong, an expired, a used-up or another host\'s token WHEN a host joins THEN it exits 1 with one line, writes no credentials and exports nothing', async () => {
    const root = await tempDir();
    const { host: a } = await bootstrap(root);
    const refused = async (name: string, token: string | undefined, why: RegExp): Promise<void> => {
      const files = seedFiles(name);
      const prefix = `${root}/${name}-prefix`;
      const args = ['run', '--yaml', await writeExchangeGraph(root, name, files), '--hostname', name, '--prefix', prefix, '--log-format', 'json', '--no-server',
        '--seeds', a.clientUrl, '--join-url', a.joinUrl, '--client-urls', 'https://127.0.0.1:1', '--server-urls', 'https://127.0.0.1:2'];
      const result = await runMgmt(args, { env: token === undefined ? {} : { MGMT_TOKEN: token }, timeoutMs: 60_000 });
      expect(result.code, `${name}: ${result.stderr}`).toBe(1);
      expect(JSON.stringify(result.events) + result.stderr).toMatch(why);
      // No credentials written, nothing exported (the host never got a user to export with).
      expect(existsSync(tlsPaths(prefix).hostCert)).toBe(false);
      expect(existsSync(tlsPaths(prefix).hostKey)).toBe(false);
      expect(await etcdctl(a.clientUrl, ...etcdctlTlsArgs(a.prefix), 'get', '--prefix', '--keys-only', `/_mgmt/exported/${name}/`)).toBe('');
      if (token) expect(JSON.stringify(result.events) + result.stderr).not.toContain(parseToken(token).secret);
    };
    await refused('n1', undefined, /no certificate of the cluster.*--token/);
    const good = parseToken(await createToken(a));
    await refused('n2', `mgmt1.${good.id}.${'A'.repeat(43)}.${good.pin}`, /wrong secret|refused/i);
    await refused('n3', `mgmt1.${good.id}.${good.secret}.${'B'.repeat(43)}`, /pin/);
    const short = await createToken(a, '--ttl', '1s');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await refused('n4', short, /expired|unknown/i);
    const once = await createToken(a, '--uses', '1');
    const { host: used } = await join(root, 'n5', a, once);
    await used.proc.waitForEvent((e) => e.event === 'cluster' && e.action === 'joined', 'n5 to join', 60_000);
    await refused('n6', once, /used up|unknown/i);
    await refused('n7', await createToken(a, '--host', 'someone-else'), /for host someone-else/);
    // a's data says nothing of the refused hosts.
    const hosts = await etcdctl(a.clientUrl, ...etcdctlTlsArgs(a.prefix), 'user', 'list');
    expect(hosts.split('\n').filter((line) => /^n[0-9]$/.test(line)).sort()).toEqual(['n5']);
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 4: GIVEN a joined host WHEN it is revoked THEN its certificate stops working at once, its exports are gone, host list says so, a restart without a new token exits 1, and one with a new token joins again', async () => {
    const root = await tempDir();
    const { host: a, files: filesA } = await bootstrap(root);
    const { host: b, files: filesB } = await join(root, 'b', a, await createToken(a));
    await waitForFiles(exchangeDir(root, 'a'), expectedFiles('a', filesA, { a: filesA, b: filesB }), 'a to hold the exports of a and b');
    const list = await runMgmt(['host', 'list', '--prefix', a.prefix, '--endpoints', a.clientUrl]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/\ba\b.*server/);
    expect(list.stdout).toMatch(/\bb\b.*client/);

    const since = a.proc.events.length;
    const revoke = await runMgmt(['host', 'revoke', 'b', '--prefix', a.prefix, '--endpoints', a.clientUrl, '--yes']);
    expect(revoke.code, revoke.stderr).toBe(0);
    await expect(etcdctl(a.clientUrl, ...etcdctlTlsArgs(b.prefix), 'get', '/_mgmt/idealClusterSize')).rejects.toThrow(/permission denied|user name/);
    expect(await etcdctl(a.clientUrl, ...etcdctlTlsArgs(a.prefix), 'get', '--prefix', '--keys-only', '/_mgmt/exported/b/')).toBe('');
    // a's graph no longer holds b's exports (its own four files are left).
    await waitForLast(a.proc, 'graph', (e) => e.vertices === 4, 'a\'s graph to drop the exports of b', since);

    b.proc.child.kill('SIGKILL');
    await b.proc.exited;
    const restarted = await runMgmt(['run', '--yaml', await writeExchangeGraph(root, 'b', filesB), '--hostname', 'b', '--prefix', b.prefix, '--log-format', 'json', '--no-server',
      '--seeds', a.clientUrl, '--join-url', a.joinUrl, '--client-urls', b.clientUrl, '--server-urls', b.peerUrl], { timeoutMs: 60_000 });
    expect(restarted.code).toBe(1);
    expect(JSON.stringify(restarted.events) + restarted.stderr).toMatch(/revoked/);
    // Its old token cannot bring it back (used), a new one does: the old credentials are set aside.
    const oldSerial = certInfo(readFileSync(tlsPaths(b.prefix).hostCert, 'utf8')).serial;
    const back = await startHost('b', { secure: true, token: await createToken(a), prefix: b.prefix, joinVia: a, seeds: [a.clientUrl], clientUrl: b.clientUrl, peerUrl: b.peerUrl, yaml: await writeExchangeGraph(root, 'b', filesB), extraArgs: ['--no-server'] });
    await back.waitForCluster('joined', 'b', 60_000);
    expect(back.clusterEvents().some((e) => e.action === 'revoked')).toBe(true);
    expect(certInfo(readFileSync(tlsPaths(b.prefix).hostCert, 'utf8')).serial).not.toBe(oldSerial);
    expect(readdirSync(b.prefix).some((name) => name.startsWith('tls.revoked-'))).toBe(true);
    await waitForFiles(exchangeDir(root, 'a'), expectedFiles('a', filesA, { a: filesA, b: filesB }), 'a to hold the exports of b again');
  }, TEST_TIMEOUT_MS);

  it('issue 11 points 5 and 7 over mutual TLS: GIVEN three server hosts WHEN the bootstrap host is SIGKILLed, removed by the others and restarted with its original command THEN it rejoins with its certificate, and the survivors took over its rights', async () => {
    const root = await tempDir();
    const graphOf = (host: string): Promise<string> => writeExchangeGraph(root, host, { locals: [], exports: [`f${host}`] });
    const h1 = await startHost('h1', { secure: true, yaml: await graphOf('h1'), extraArgs: ['--ideal-cluster-size', '3'] });
    await h1.waitForCluster('join-service', 'h1', 60_000);
    const h2 = await startHost('h2', { secure: true, token: await createToken(h1), joinVia: h1, seeds: [h1.clientUrl], yaml: await graphOf('h2') });
    const h3 = await startHost('h3', { secure: true, token: await createToken(h1), joinVia: h1, seeds: [h1.clientUrl], yaml: await graphOf('h3') });
    const tls = await readCredentials(h1.prefix, 'h1');
    await waitForMembers(() => [h1.clientUrl, h2.clientUrl, h3.clientUrl], ['h1', 'h2', 'h3'], 60_000, tls);
    // Every server host can sign: h3 makes a token through its own rights.
    await h3.waitForCluster('join-service', 'h3', 60_000);

    h1.proc.child.kill('SIGKILL');
    await h1.proc.exited;
    await waitForMembers(() => [h2.clientUrl, h3.clientUrl], ['h2', 'h3'], 60_000, tls);
    const again = await startHost('h1', { secure: true, yaml: await graphOf('h1'), prefix: h1.prefix, clientUrl: h1.clientUrl, peerUrl: h1.peerUrl, extraArgs: ['--ideal-cluster-size', '3'] });
    await again.waitForCluster('rejoin', undefined, 60_000);
    await waitFor(() => existsSync(`${exchangeDir(root, 'h1')}/fh2`), 'the restarted h1 to collect fh2', 60_000);
    await waitForMembers(() => [h2.clientUrl, h3.clientUrl], ['h1', 'h2', 'h3'], 60_000, tls);
    // A new host joins through a token made on h3 (not the bootstrap host): the CA key came from etcd.
    const h4 = await startHost('h4', { secure: true, token: await createToken(h3), joinVia: h3, seeds: [h3.clientUrl], yaml: await graphOf('h4'), extraArgs: ['--no-server'] });
    await h4.waitForCluster('joined', 'h4', 60_000);
    await waitFor(() => existsSync(`${exchangeDir(root, 'h4')}/fh3`), 'h4 to collect fh3', 60_000);
    for (const host of [again, h2, h3, h4]) expect(errorsOf(host)).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('issue 11 point 2: GIVEN certificates that last 12 s WHEN a joined host runs past two thirds of that THEN it renews its certificate without a restart and keeps exchanging', async () => {
    const root = await tempDir();
    const { host: a, files: filesA } = await bootstrap(root, 'a', ['--cert-lifetime', '12s']);
    const { host: b, files: filesB } = await join(root, 'b', a, await createToken(a));
    await waitForFiles(exchangeDir(root, 'b'), expectedFiles('b', filesB, { a: filesA, b: filesB }), 'b to hold the exports of a and b');
    const first = certInfo(readFileSync(tlsPaths(b.prefix).hostCert, 'utf8'));
    await b.proc.waitForEvent((e) => e.event === 'cluster' && e.action === 'renewed', 'b to renew its certificate', 60_000);
    await waitFor(() => certInfo(readFileSync(tlsPaths(b.prefix).hostCert, 'utf8')).serial !== first.serial, 'b\'s host.crt to be replaced', 10_000);
    // Past the first certificate's end b still works, with the same process.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, first.notAfter.getTime() - Date.now() + 1000)));
    await etcdctl(a.clientUrl, ...etcdctlTlsArgs(b.prefix), 'put', '/_mgmt/exported/b/resources/noop/after', '{}');
    expect(b.proc.child.exitCode).toBeNull();
  }, TEST_TIMEOUT_MS);
});
