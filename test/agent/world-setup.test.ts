import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkClusterSettings, DEFAULT_CLUSTER_SETTINGS, parseUrls, type ClusterSettings } from '../../src/agent/world-setup.js';
import { UsageError } from '../../src/errors.js';
import { runMgmt } from '../helpers/cli.js';
import { freePort } from '../helpers/etcd.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

describe('parseUrls', () => {
  it.each<[string, string[], string[]]>([
    ['host:port', ['127.0.0.1:2379'], ['https://127.0.0.1:2379']],
    ['a name with a port', ['localhost:2379'], ['https://localhost:2379']],
    ['http and https URLs', ['http://a:1', 'https://b:2'], ['http://a:1', 'https://b:2']],
    ['comma- and semicolon-separated values', ['http://a:1,b:2;https://c:3'], ['http://a:1', 'https://b:2', 'https://c:3']],
    ['a trailing slash', ['http://127.0.0.1:2379/'], ['http://127.0.0.1:2379']],
    ['an IPv6 address', ['http://[::1]:2379'], ['http://[::1]:2379']],
    ['an upper-case scheme and host', ['HTTP://LOCALHOST:1'], ['http://localhost:1']],
    // URL drops a port that is the scheme's default; it was given all the same.
    ['an explicit default port', ['http://127.0.0.1:80', '127.0.0.1:443', 'https://h:443'], ['http://127.0.0.1:80', 'https://127.0.0.1:443', 'https://h:443']],
    ['nothing', [], []],
  ])('GIVEN %s WHEN parsed THEN the URLs are normalised', (_what, values, urls) => {
    expect(parseUrls(values, 'seeds')).toEqual(urls);
  });

  it('issue 11 point 6: GIVEN host:port WHEN parsed with --insecure THEN it is http://, and a URL keeps its own scheme', () => {
    expect(parseUrls(['127.0.0.1:2379,localhost:1;https://h:2'], 'seeds', true)).toEqual(['http://127.0.0.1:2379', 'http://localhost:1', 'https://h:2']);
    expect(parseUrls(['127.0.0.1:80'], 'seeds', true)).toEqual(['http://127.0.0.1:80']);
  });

  it.each<[string, string, RegExp]>([
    ['a bare word (taken as a host without a port)', 'nonsense', /^mgmt run: --client-urls: nonsense needs a port$/],
    ['a URL without a port', 'http://127.0.0.1', /^mgmt run: --client-urls: http:\/\/127\.0\.0\.1 needs a port$/],
    ['a scheme with no host', 'http://', /^mgmt run: --client-urls: "http:\/\/" is not a URL \(expected e\.g\. https:\/\/127\.0\.0\.1:2379\)$/],
    ['a port that is not a number', 'h:abc', /^mgmt run: --client-urls: "h:abc" is not a URL/],
    ['an ftp:// URL', 'ftp://h:21', /^mgmt run: --client-urls: ftp:\/\/h:21 must be http:\/\/ or https:\/\/$/],
  ])('GIVEN %s WHEN parsed THEN a UsageError names the flag and the value', (_what, value, message) => {
    let caught: unknown;
    try {
      parseUrls(['http://fine:1', value], 'client-urls');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(2);
    expect((caught as UsageError).message).toMatch(message);
  });
});

describe('checkClusterSettings', () => {
  const valid: ClusterSettings = DEFAULT_CLUSTER_SETTINGS;

  it('GIVEN the defaults of mgmt run WHEN checked THEN they pass, as does an election timeout of exactly 5 heartbeats', () => {
    expect(() => checkClusterSettings(valid)).not.toThrow();
    expect(() => checkClusterSettings({ ...valid, heartbeatIntervalMs: 10, electionTimeoutMs: 50 })).not.toThrow();
    // The same ports with the join service elsewhere, plaintext (no join service), or no server at all.
    const adjacent = { clientUrls: ['https://127.0.0.1:2381'], serverUrls: ['https://127.0.0.1:2380'] };
    expect(() => checkClusterSettings({ ...valid, ...adjacent, joinUrls: ['https://127.0.0.1:2390'] })).not.toThrow();
    expect(() => checkClusterSettings({ ...valid, ...adjacent, noServer: true })).not.toThrow();
    expect(() => checkClusterSettings({ ...valid, clientUrls: ['http://127.0.0.1:2381'], serverUrls: ['http://127.0.0.1:2380'], insecure: true })).not.toThrow();
    // One port on two addresses is two sockets.
    expect(() => checkClusterSettings({ ...valid, clientUrls: ['http://127.0.0.1:2379'], serverUrls: ['http://127.0.0.2:2379'], insecure: true })).not.toThrow();
  });

  it.each<[string, Partial<ClusterSettings>, string]>([
    ['a URL that is both client and server', { clientUrls: ['http://127.0.0.1:2379'], serverUrls: ['http://127.0.0.1:2380', 'http://127.0.0.1:2379'] }, 'mgmt run: http://127.0.0.1:2379 is both a client and a server URL; etcd needs two ports'],
    ['a client and a server URL on one port under other names', { clientUrls: ['http://localhost:2379'], serverUrls: ['http://127.0.0.1:2379'] }, 'mgmt run: http://localhost:2379 is both a client and a server URL; etcd needs two ports'],
    ['a client and a server URL on one port with other schemes', { clientUrls: ['https://127.0.0.1:2379'], serverUrls: ['http://127.0.0.1:2379'], insecure: true }, 'mgmt run: https://127.0.0.1:2379 is both a client and a server URL; etcd needs two ports'],
    ['a wildcard server URL on the client port', { clientUrls: ['http://127.0.0.1:2379'], serverUrls: ['http://0.0.0.0:2379'] }, 'mgmt run: http://127.0.0.1:2379 is both a client and a server URL; etcd needs two ports'],
    ['an election timeout under 5 heartbeats', { heartbeatIntervalMs: 100, electionTimeoutMs: 499 }, 'mgmt run: --etcd-election-timeout must be at least 5 times --etcd-heartbeat-interval (both in ms, positive)'],
    ['a zero heartbeat', { heartbeatIntervalMs: 0, electionTimeoutMs: 1000 }, 'mgmt run: --etcd-election-timeout must be at least 5 times --etcd-heartbeat-interval (both in ms, positive)'],
    ['no client URLs', { clientUrls: [] }, 'mgmt run: --client-urls must name at least one URL'],
    ['no server URLs', { serverUrls: [] }, 'mgmt run: --server-urls must name at least one URL'],
    ['idealClusterSize 0', { idealClusterSize: 0 }, 'mgmt run: --ideal-cluster-size must be at least 1, not 0'],
    ['a zero lease', { leaseTtlSeconds: 0 }, 'mgmt run: --lease-ttl must be at least 1 second, not 0'],
    [
      'issue 11 point 2: a join service port (client port - 1) that is the peer port',
      { clientUrls: ['https://127.0.0.1:2381'], serverUrls: ['https://127.0.0.1:2380'] },
      'mgmt run: the join service\'s URL https://127.0.0.1:2380 is also an etcd URL of this host (it defaults to each client URL\'s port - 1): choose other ports or give --join-urls',
    ],
    [
      'a join service on a wildcard address and the peer port',
      { clientUrls: ['https://127.0.0.1:2379'], serverUrls: ['https://127.0.0.1:2380'], joinUrls: ['https://0.0.0.0:2380'] },
      'mgmt run: the join service\'s URL https://0.0.0.0:2380 is also an etcd URL of this host (it defaults to each client URL\'s port - 1): choose other ports or give --join-urls',
    ],
  ])('GIVEN %s WHEN checked THEN a UsageError says what is wrong', (_what, change, message) => {
    expect(() => checkClusterSettings({ ...valid, ...change })).toThrow(new UsageError(message));
  });
});

describe('mgmt run choosing its World', () => {
  const RUN_ONCE = ['--converged-timeout=0', '--no-watch'];

  /** fileGraph writes a graph with one file resource and returns the graph's path and the file's. */
  async function fileGraph(): Promise<{ dir: string; yaml: string; target: string }> {
    const dir = await tempDir();
    const target = join(dir, 'applied');
    const yaml = join(dir, 'graph.yaml');
    await writeFile(yaml, `graph: world-setup
resources:
  file:
  - name: ${target}
    content: "applied\\n"
    state: exists
edges: []
`);
    return { dir, yaml, target };
  }

  it('GIVEN --client-urls nonsense WHEN mgmt run starts THEN it exits 2 with one line naming --client-urls, nothing applied', async () => {
    const { yaml, target } = await fileGraph();
    const result = await runMgmt(['run', '--yaml', yaml, '--client-urls', 'nonsense', '--tmp-prefix', ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual(['mgmt run: --client-urls: nonsense needs a port']);
    expect(existsSync(target)).toBe(false);
  });

  it('GIVEN --seeds naming a port nobody listens on WHEN mgmt run starts THEN it exits 1 within 10 s naming the seed, nothing applied', async () => {
    const { yaml, target } = await fileGraph();
    const seed = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const result = await runMgmt(['run', '--yaml', yaml, '--insecure', '--seeds', seed, '--tmp-prefix', ...RUN_ONCE], { timeoutMs: 20_000 });
    const took = Date.now() - started;
    expect(result.code, result.stderr).toBe(1);
    expect(took).toBeLessThan(10_000);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mgmt run: --seeds: /);
    expect(lines[0]).toContain(seed);
    expect(existsSync(target)).toBe(false);
  });

  it('GIVEN no etcd on PATH and no --no-server WHEN a single-host graph runs THEN it converges on the local World with exactly one warning line', async () => {
    const { dir, yaml, target } = await fileGraph();
    const prefix = join(dir, 'prefix');
    // An empty PATH directory: neither etcd nor setpriv is found; node is run by its absolute path.
    const emptyBin = await tempDir();
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const result = await runMgmt(['run', '--yaml', yaml, '--insecure', '--client-urls', clientUrl, '--prefix', prefix, ...RUN_ONCE], { env: { PATH: emptyBin } });
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(target, 'utf8')).toBe('applied\n');
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning: no etcd server binary found'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(join(prefix, 'world'));
    // The local World was opened under the prefix, and no etcd data was made.
    expect(existsSync(join(prefix, 'world', 'exported'))).toBe(true);
    expect(existsSync(join(prefix, 'etcd'))).toBe(false);
  });

  it('GIVEN --etcd-binary naming a missing file WHEN mgmt run starts THEN it exits 2 naming the path, nothing applied', async () => {
    const { yaml, target } = await fileGraph();
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const result = await runMgmt(['run', '--yaml', yaml, '--insecure', '--etcd-binary', '/nonexistent/etcd', '--client-urls', clientUrl, '--tmp-prefix', ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"/nonexistent/etcd"');
    expect(lines[0]).toContain('etcd-server');
    expect(existsSync(target)).toBe(false);
  });
});
