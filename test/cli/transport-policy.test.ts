import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTransport, INSECURE_HINT, isLoopbackHost, type TransportSettings } from '../../src/cli/transport-policy.js';
import { parseUrls } from '../../src/agent/world-setup.js';
import { UsageError } from '../../src/errors.js';
import type { LogEvent } from '../../src/log/events.js';
import { runMgmt } from '../helpers/cli.js';
import { freePort, skipEtcdReason } from '../helpers/etcd.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

const SECURE: TransportSettings = { seeds: [], clientUrls: ['https://127.0.0.1:2379'], serverUrls: ['https://127.0.0.1:2380'], insecure: false };
const INSECURE: TransportSettings = { seeds: [], clientUrls: ['http://127.0.0.1:2379'], serverUrls: ['http://127.0.0.1:2380'], insecure: true };

/** refusal is the UsageError checkTransport throws for these settings (it fails the test when there is none). */
function refusal(settings: TransportSettings): UsageError {
  try {
    checkTransport(settings);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`checkTransport accepted ${JSON.stringify(settings)}`);
}

describe('checkTransport', () => {
  it('issue 11 point 6: GIVEN https:// URLs without --insecure, or http:// loopback URLs with it, WHEN checked THEN they pass with no warning', () => {
    expect(checkTransport(SECURE)).toEqual([]);
    expect(checkTransport({ ...SECURE, seeds: ['https://10.0.0.1:2379'], clientUrls: ['https://0.0.0.0:2379'] })).toEqual([]);
    expect(checkTransport(INSECURE)).toEqual([]);
    expect(checkTransport({ ...INSECURE, seeds: ['http://localhost:2379', 'http://127.8.9.10:1'], serverUrls: ['http://[::1]:2380'] })).toEqual([]);
  });

  it.each<[string, Partial<TransportSettings>, string]>([
    ['a seed', { seeds: ['https://h1:2379', 'http://10.0.0.1:2379'] }, '--seeds http://10.0.0.1:2379'],
    ['a client URL', { clientUrls: ['http://127.0.0.1:2379'] }, '--client-urls http://127.0.0.1:2379'],
    ['a server URL', { serverUrls: ['https://127.0.0.1:2380', 'http://[::1]:2380'] }, '--server-urls http://[::1]:2380'],
  ])('issue 11 point 6: GIVEN %s with http:// and no --insecure WHEN checked THEN one line names the flag and URL, with the hint, exit 2', (_what, change, named) => {
    const err = refusal({ ...SECURE, ...change });
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`mgmt run: ${named} is plaintext and needs --insecure: ${INSECURE_HINT}`);
    expect(err.message).toContain('use https:// (the default), or --insecure for a plaintext lab cluster');
  });

  it.each<[string, Partial<TransportSettings>, string]>([
    ['a seed', { seeds: ['https://10.0.0.1:2379'] }, '--seeds https://10.0.0.1:2379'],
    ['a client URL', { clientUrls: ['https://127.0.0.1:2379'] }, '--client-urls https://127.0.0.1:2379'],
    ['a server URL', { serverUrls: ['https://127.0.0.1:2380'] }, '--server-urls https://127.0.0.1:2380'],
  ])('issue 11 point 6: GIVEN %s with https:// and --insecure WHEN checked THEN it is refused as a mix, exit 2', (_what, change, named) => {
    const err = refusal({ ...INSECURE, ...change });
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`mgmt run: ${named} with --insecure: a cluster is either TLS or plaintext, not both; leave out --insecure (TLS is the default) or use http://`);
  });

  it('issue 11 point 6: GIVEN --insecure with non-loopback URLs WHEN checked THEN one warning line names each of them and only them', () => {
    const warnings = checkTransport({ ...INSECURE, seeds: ['http://10.0.0.1:2379', 'http://127.0.0.1:2381'], clientUrls: ['http://0.0.0.0:2379'] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^--insecure on a network \(--seeds http:\/\/10\.0\.0\.1:2379, --client-urls http:\/\/0\.0\.0\.0:2379\): etcd traffic is plaintext and unauthenticated/);
    expect(warnings[0]).not.toContain('127.0.0.1');
    expect(warnings[0]).not.toContain('\n');
  });
});

describe('isLoopbackHost', () => {
  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.255.0.3', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['[::1]', true],
    ['::1', true],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
    ['[::]', false],
    ['[::ffff:7f00:1]', false], // an IPv4-mapped address: warned about, the safe side
    ['localhost.example.com', false],
    ['127.0.0.1.example.com', false],
    ['h1', false],
  ])('issue 11 point 6: GIVEN host %s THEN loopback is %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });

  it('issue 11 point 6: GIVEN hosts as parseUrls normalises them THEN an address that is loopback in another spelling still is', () => {
    const hosts = parseUrls(['http://[0:0:0:0:0:0:0:1]:1', 'http://127.1:2', 'http://LocalHost:3'], 'seeds', true).map((url) => new URL(url).hostname);
    expect(hosts.map(isLoopbackHost)).toEqual([true, true, true]);
  });
});

describe('mgmt run and its transport', () => {
  const RUN_ONCE = ['--converged-timeout=0', '--no-watch'];

  /** exportingGraph writes a graph that exports one file (so the agent needs its cluster) and keeps one local file. */
  async function exportingGraph(): Promise<{ dir: string; yaml: string; target: string }> {
    const dir = await tempDir();
    const target = join(dir, 'applied');
    const yaml = join(dir, 'graph.yaml');
    await writeFile(yaml, `graph: transport
resources:
  file:
  - {name: "${target}", content: "applied\\n", state: exists}
  - {name: "@@${join(dir, 'exported')}", content: "exported\\n", state: exists}
edges: []
`);
    return { dir, yaml, target };
  }

  it('issue 11 point 6: GIVEN an http:// seed or client URL and no --insecure WHEN mgmt run starts THEN it exits 2 with one line naming the flag and URL and the hint, nothing applied', async () => {
    const { yaml, target } = await exportingGraph();
    const seed = `http://127.0.0.1:${await freePort()}`;
    const seeded = await runMgmt(['run', '--yaml', yaml, '--seeds', seed, '--tmp-prefix', ...RUN_ONCE]);
    expect(seeded.code, seeded.stderr).toBe(2);
    expect(seeded.stderr.trimEnd().split('\n')).toEqual([`mgmt run: --seeds ${seed} is plaintext and needs --insecure: ${INSECURE_HINT}`]);
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const served = await runMgmt(['run', '--yaml', yaml, '--client-urls', clientUrl, '--tmp-prefix', ...RUN_ONCE]);
    expect(served.code, served.stderr).toBe(2);
    expect(served.stderr.trimEnd().split('\n')).toEqual([`mgmt run: --client-urls ${clientUrl} is plaintext and needs --insecure: ${INSECURE_HINT}`]);
    expect(existsSync(target)).toBe(false);
  });

  it('issue 11 point 6: GIVEN --insecure and an https:// client URL WHEN mgmt run starts THEN it exits 2 with one line saying they do not mix, nothing applied', async () => {
    const { yaml, target } = await exportingGraph();
    const clientUrl = `https://127.0.0.1:${await freePort()}`;
    const result = await runMgmt(['run', '--yaml', yaml, '--insecure', '--client-urls', clientUrl, '--tmp-prefix', ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([`mgmt run: --client-urls ${clientUrl} with --insecure: a cluster is either TLS or plaintext, not both; leave out --insecure (TLS is the default) or use http://`]);
    expect(existsSync(target)).toBe(false);
  });

  it.skipIf(skipEtcdReason)('issue 11 point 6: GIVEN --insecure on a non-loopback address WHEN the agent starts twice THEN each start warns (a stderr line, a warn event in JSON) before its etcd tries to bind', async () => {
    const { dir, yaml } = await exportingGraph();
    const prefix = join(dir, 'prefix');
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: etcd cannot bind it, so the run ends
    // with that bind error, after the warning.
    const urls = ['--client-urls', `192.0.2.1:${await freePort()}`, '--server-urls', `192.0.2.1:${await freePort()}`];
    const args = ['run', '--yaml', yaml, '--insecure', ...urls, '--prefix', prefix, ...RUN_ONCE];

    const text = await runMgmt(args);
    expect(text.code, text.stderr).toBe(1);
    const lines = text.stderr.split('\n');
    expect(lines.filter((line) => line.includes('--insecure on a network')), text.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/ WARN warning --insecure on a network \(--client-urls http:\/\/192\.0\.2\.1:\d+, --server-urls http:\/\/192\.0\.2\.1:\d+\)/);
    expect(lines.some((line) => /ERROR .*192\.0\.2\.1:\d+: bind/.test(line)), text.stderr).toBe(true);

    const json = await runMgmt([...args, '--log-format', 'json']);
    expect(json.code, json.stdout + json.stderr).toBe(1);
    const isWarning = (event: LogEvent): boolean => event.level === 'warn' && event.event === 'warning' && /^--insecure on a network \(--client-urls http:\/\/192\.0\.2\.1:\d+, --server-urls http:\/\/192\.0\.2\.1:\d+\)/.test(String(event.message));
    expect(json.events.filter(isWarning), json.stdout).toHaveLength(1);
    const bindError = json.events.findIndex((event) => event.event === 'error' && /192\.0\.2\.1:\d+: bind/.test(String(event.message)));
    expect(bindError, json.stdout).toBeGreaterThan(json.events.findIndex(isWarning));
    expect(json.events.findIndex(isWarning)).toBe(0);
  });

  it.skipIf(skipEtcdReason)('issue 11 point 6: GIVEN --insecure on loopback addresses WHEN the agent runs a cluster of its own THEN it converges on plaintext etcd with no warning', async () => {
    const { dir, yaml, target } = await exportingGraph();
    const urls = ['--client-urls', `127.0.0.1:${await freePort()}`, '--server-urls', `127.0.0.1:${await freePort()}`];
    const result = await runMgmt(['run', '--yaml', yaml, '--insecure', ...urls, '--prefix', join(dir, 'prefix'), '--log-format', 'json', ...RUN_ONCE], { timeoutMs: 60_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.events.filter((event) => event.level === 'warn'), result.stdout).toEqual([]);
    expect(result.events).toContainEqual(expect.objectContaining({ event: 'export', count: 1 }));
    expect(existsSync(target)).toBe(true);
  });
});
