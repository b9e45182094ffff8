import { describe, expect, it } from 'vitest';
import { ClusterAuthority } from '../../src/cluster/authority.js';
import { TOKENS_PREFIX } from '../../src/cluster/keys.js';
import { consumeToken, createToken, TokenRefused, type TokenRecord } from '../../src/cluster/tokens.js';
import type { EtcdConnection } from '../../src/etcd/connection.js';
import { caPin } from '../../src/tls/certs.js';
import { hashSecret, type JoinToken } from '../../src/tls/token.js';
import { skipEtcdReason } from '../helpers/etcd.js';
import { useTlsCluster, type TlsCluster } from '../helpers/tls-etcd.js';

// Issue 11 point 2's token records on a real etcd with auth on: made and consumed by a server host.
describe.skipIf(skipEtcdReason)('join tokens', { timeout: 60_000 }, () => {
  const tlsCluster = useTlsCluster();

  async function serverHost(): Promise<{ cluster: TlsCluster; server: EtcdConnection; endpoint: string; pin: string }> {
    const cluster = await tlsCluster();
    const h1 = await cluster.start('h1');
    const server = cluster.connect([h1.clientUrl], (await cluster.host('h1')).credentials);
    await new ClusterAuthority(server).enableAuth('h1');
    return { cluster, server, endpoint: h1.clientUrl, pin: caPin(cluster.pki.ca.certPem) };
  }

  async function record(server: EtcdConnection, token: JoinToken): Promise<TokenRecord | undefined> {
    const text = await server.bounded('read token', (client) => client.get(`${TOKENS_PREFIX}${token.id}`).string());
    return text === null ? undefined : (JSON.parse(text) as TokenRecord);
  }

  // A refusal's reason, checked to be a TokenRefused that does not give the secret away.
  async function refusal(promise: Promise<unknown>, token: JoinToken): Promise<string> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TokenRefused);
    const message = (err as Error).message;
    expect(message).not.toContain(token.secret);
    return message;
  }

  it('issue 11 point 2: GIVEN a token made by a server host THEN etcd keeps only the hash of its secret, its expiry and uses, on a lease; AND one join takes one use', async () => {
    const { server, pin } = await serverHost();
    const token = await createToken(server, pin, { ttlMs: 60_000, uses: 2 });
    expect(token.pin).toBe(pin);
    const stored = await record(server, token);
    expect(stored).toMatchObject({ hash: hashSecret(token.secret), uses: 2 });
    expect(JSON.stringify(stored)).not.toContain(token.secret);
    expect(Date.parse(stored!.expires) - Date.parse(stored!.created)).toBe(60_000);
    const leased = await server.bounded('read lease', (client) => client.get(`${TOKENS_PREFIX}${token.id}`).exec());
    expect(leased.kvs[0]!.lease).not.toBe('0');

    await consumeToken(server, token, 'h2');

    expect(await record(server, token)).toMatchObject({ uses: 1 });
  });

  it('issue 11 point 2: GIVEN a wrong secret or an unknown id WHEN consumed THEN refused with one line that never shows the secret, and no use is taken', async () => {
    const { server, pin } = await serverHost();
    const token = await createToken(server, pin, { ttlMs: 60_000, uses: 1 });
    const wrong = { ...token, secret: 'x'.repeat(43) };
    expect(await refusal(consumeToken(server, wrong, 'h2'), wrong)).toBe('join token refused: wrong secret');
    const unknown = { ...token, id: '000000000000' };
    expect(await refusal(consumeToken(server, unknown, 'h2'), unknown)).toBe('join token refused: unknown or expired token');
    expect(await record(server, token)).toMatchObject({ uses: 1 });
  });

  it('issue 11 point 2: GIVEN a token with a short lifetime WHEN used after it expired THEN refused as expired; AND its record goes with its lease', async () => {
    const { server, pin } = await serverHost();
    const token = await createToken(server, pin, { ttlMs: 1000, uses: 5 });
    const expires = Date.parse((await record(server, token))!.expires);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now()) + 50));
    expect(await refusal(consumeToken(server, token, 'h2'), token)).toBe('join token refused: unknown or expired token');
    // etcd expires leases on its own schedule: wait for it generously.
    const deadline = Date.now() + 30_000;
    while ((await record(server, token)) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await record(server, token)).toBeUndefined();
  });

  it('issue 11 point 2: GIVEN a one-use token WHEN used twice THEN the second is refused as used up', async () => {
    const { server, pin } = await serverHost();
    const token = await createToken(server, pin, { ttlMs: 60_000, uses: 1 });
    await consumeToken(server, token, 'h2');
    expect(await refusal(consumeToken(server, token, 'h3'), token)).toBe('join token refused: token used up');
  });

  it('issue 11 point 2: GIVEN a token with 3 uses WHEN 8 hosts race for it over separate connections THEN exactly 3 win and the others are told it is used up', async () => {
    const { cluster, server, endpoint, pin } = await serverHost();
    const token = await createToken(server, pin, { ttlMs: 60_000, uses: 3 });
    const h1 = (await cluster.host('h1')).credentials;
    const signers = Array.from({ length: 8 }, () => cluster.connect([endpoint], h1));

    const results = await Promise.allSettled(signers.map((signer, i) => consumeToken(signer, token, `joiner${i}`)));

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const reasons = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    expect(reasons).toEqual(Array(5).fill('join token refused: token used up'));
    expect(await record(server, token)).toMatchObject({ uses: 0 });
  });

  it('issue 11 point 2: GIVEN a token made for host h3 WHEN h2 uses it THEN refused naming h3, and h3 may use it', async () => {
    const { server, pin } = await serverHost();
    const token = await createToken(server, pin, { ttlMs: 60_000, uses: 1, host: 'h3' });
    expect(await refusal(consumeToken(server, token, 'h2'), token)).toBe('join token refused: token is for host h3');
    await expect(consumeToken(server, token, 'h3')).resolves.toMatchObject({ host: 'h3', uses: 0 });
  });

  it('issue 11 point 2: GIVEN a client host WHEN it makes a token or reads one THEN etcd refuses it; AND a token for "root" or with no use is refused before etcd', async () => {
    const { cluster, server, endpoint, pin } = await serverHost();
    await new ClusterAuthority(server).admitHost('h2');
    const client = cluster.connect([endpoint], (await cluster.host('h2')).credentials);
    await expect(createToken(client, pin, { ttlMs: 60_000, uses: 1 })).rejects.toThrow(/permission denied/);
    const token = await createToken(server, pin, { ttlMs: 60_000, uses: 1 });
    await expect(consumeToken(client, token, 'h2')).rejects.toThrow(/permission denied/);
    await expect(createToken(server, pin, { ttlMs: 60_000, uses: 1, host: 'root' })).rejects.toThrow(/"root" is refused/);
    await expect(createToken(server, pin, { ttlMs: 60_000, uses: 0 })).rejects.toThrow('a token allows at least 1 use, not 0');
  });
});
