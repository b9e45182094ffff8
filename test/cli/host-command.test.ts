import { describe, expect, it } from 'vitest';
import { ClusterAuthority } from '../../src/cluster/authority.js';
import { saveKnownEndpoints } from '../../src/cluster/known-endpoints.js';
import { consumeToken } from '../../src/cluster/tokens.js';
import { caPin } from '../../src/tls/certs.js';
import { parseToken } from '../../src/tls/token.js';
import { runMgmt } from '../helpers/cli.js';
import { skipEtcdReason } from '../helpers/etcd.js';
import { useTlsCluster, type TlsCluster } from '../helpers/tls-etcd.js';
import { useTempDirs } from '../helpers/tmp.js';

// The admin commands of issue 11 points 2 and 4, run as the built agent against a real TLS etcd
// with auth on, as the host whose credentials are under --prefix.
describe.skipIf(skipEtcdReason)('mgmt token / mgmt host', { timeout: 90_000 }, () => {
  const tlsCluster = useTlsCluster();
  const tempDir = useTempDirs();

  // GIVEN h1's etcd (h1 a server host, its prefix saved the endpoints as an agent does) and h2 a client host.
  async function cluster(): Promise<{ cluster: TlsCluster; endpoint: string; h1Prefix: string; h2Prefix: string; authority: ClusterAuthority }> {
    const made = await tlsCluster();
    const h1 = await made.start('h1');
    const authority = new ClusterAuthority(made.connect([h1.clientUrl], (await made.host('h1')).credentials));
    await authority.enableAuth('h1');
    await authority.admitHost('h2');
    await saveKnownEndpoints(h1.prefix, [h1.clientUrl]);
    return { cluster: made, endpoint: h1.clientUrl, h1Prefix: h1.prefix, h2Prefix: (await made.host('h2')).prefix, authority };
  }

  it('issue 11 point 2: GIVEN a server host WHEN mgmt token create runs THEN stdout is the one token line, pinned to the cluster CA, that a joiner can consume', async () => {
    const { cluster: made, endpoint, h1Prefix } = await cluster();

    const result = await runMgmt(['token', 'create', '--prefix', h1Prefix, '--ttl', '10m', '--uses', '2', '--host', 'h7']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^mgmt1\.[0-9a-f]{12}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}\n$/);
    const token = parseToken(result.stdout);
    expect(token.pin).toBe(caPin(made.pki.ca.certPem));
    expect(result.stderr).toContain(`join token ${token.id}: 2 uses until`);
    expect(result.stderr).not.toContain(token.secret);
    const signer = made.connect([endpoint], (await made.host('h1')).credentials);
    await expect(consumeToken(signer, token, 'h7')).resolves.toMatchObject({ uses: 1, host: 'h7' });
  });

  it('issue 11 point 2: GIVEN a client host WHEN it runs mgmt token create THEN exit 1 with one line saying only a server host may', async () => {
    const { endpoint, h2Prefix } = await cluster();
    const result = await runMgmt(['token', 'create', '--prefix', h2Prefix, '--endpoints', endpoint]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('only a server host may create tokens (this host h2 is a client)\n');
  });

  it('issue 11 point 4: GIVEN hosts h1 and h2 WHEN mgmt host list runs THEN a table shows each with its role, certificate expiry, last sight and membership; AND --format json gives the same as JSON', async () => {
    const { h1Prefix, authority } = await cluster();
    await authority.recordCertificate('h2', { serial: '0a', notAfter: new Date('2031-01-01T00:00:00Z') });

    const table = await runMgmt(['host', 'list', '--prefix', h1Prefix]);

    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^HOST\s+ROLE\s+CERT EXPIRES\s+LAST SEEN\s+MEMBER$/);
    expect(lines[1]).toMatch(/^h1\s+server\s+-\s+-\s+yes$/);
    expect(lines[2]).toMatch(/^h2\s+client\s+2031-01-01T00:00:00\.000Z\s+-\s+no$/);
    const json = await runMgmt(['host', 'list', '--prefix', h1Prefix, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([
      { host: 'h1', role: 'server', member: true },
      { host: 'h2', role: 'client', certExpires: '2031-01-01T00:00:00.000Z', certSerial: '0a', member: false },
    ]);
  });

  it('issue 11 point 4: GIVEN h2 WHEN mgmt host revoke h2 runs without --yes THEN exit 2 and nothing is revoked; WITH --yes THEN h2 is gone and its certificate refused at once', async () => {
    const { cluster: made, endpoint, h1Prefix, h2Prefix } = await cluster();
    const h2 = made.connect([endpoint], (await made.host('h2')).credentials);
    await h2.bounded('export', (client) => client.put('/_mgmt/exported/h2/set').value('x').exec());

    const unconfirmed = await runMgmt(['host', 'revoke', 'h2', '--prefix', h1Prefix]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('add --yes to revoke it');
    await h2.bounded('still works', (client) => client.get('/_mgmt/exported/h2/set').string());

    const revoked = await runMgmt(['host', 'revoke', 'h2', '--prefix', h1Prefix, '--yes']);

    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe('revoked host h2: its etcd user and rights are deleted, 1 of its keys deleted\n');
    await expect(h2.bounded('read after revoke', (client) => client.get('/_mgmt/exported/h2/set').string())).rejects.toThrow(/permission denied|not found/i);
    const list = await runMgmt(['host', 'list', '--prefix', h1Prefix, '--format', 'json']);
    expect((JSON.parse(list.stdout) as { host: string }[]).map((h) => h.host)).toEqual(['h1']);
    // The revoked host's own prefix is of no use any more.
    const afterwards = await runMgmt(['host', 'list', '--prefix', h2Prefix, '--endpoints', endpoint]);
    expect(afterwards.code).toBe(1);
  });

  it('issue 11 point 4: GIVEN a client host, or a server host naming itself WHEN mgmt host revoke runs THEN refused in one line and nothing is revoked', async () => {
    const { endpoint, h1Prefix, h2Prefix, authority } = await cluster();
    const fromClient = await runMgmt(['host', 'revoke', 'h1', '--prefix', h2Prefix, '--endpoints', endpoint, '--yes']);
    expect(fromClient.code).toBe(1);
    expect(fromClient.stderr).toContain('only a server host may revoke hosts (this host h2 is a client)\n');
    const itself = await runMgmt(['host', 'revoke', 'h1', '--prefix', h1Prefix, '--yes']);
    expect(itself.code).toBe(2);
    expect(itself.stderr).toContain('h1 is this host: revoke it from another server host');
    const root = await runMgmt(['host', 'revoke', 'root', '--prefix', h1Prefix, '--yes']);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('host name "root" is refused');
    expect((await authority.listHosts()).map((h) => h.host)).toEqual(['h1', 'h2']);
  });

  it('issue 11 point 4: GIVEN a prefix without credentials, or no --prefix THEN one clear line and no connection', async () => {
    const empty = await tempDir();
    const none = await runMgmt(['host', 'list', '--prefix', empty]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`tls/host.crt is missing: ${empty} holds no cluster credentials`);
    const noPrefix = await runMgmt(['token', 'create']);
    expect(noPrefix.code).toBe(2);
    expect(noPrefix.stderr).toContain('mgmt token create: --prefix DIR is required');
    const plaintext = await runMgmt(['host', 'list', '--prefix', empty, '--endpoints', 'http://127.0.0.1:2379']);
    expect(plaintext.code).toBe(2);
    expect(plaintext.stderr).toContain('is not an https:// URL');
  });
});
