import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { etcdctl, useCluster, type ClusterHost } from '../helpers/cluster.js';
import { skipEtcdReason } from '../helpers/etcd.js';
import {
  exchangeDir,
  expectedFiles,
  fileContent,
  listFiles,
  seedFiles,
  waitForFiles,
  waitForLast,
  writeExchangeGraph,
  type ExchangeFiles,
} from '../helpers/exchange.js';

// Generous: three agents, each with its own etcd, on a shared 2-core machine.
const TEST_TIMEOUT_MS = 240_000;

const alive = (host: ClusterHost): boolean => host.proc.child.exitCode === null && host.proc.child.signalCode === null;
const errorsOf = (host: ClusterHost): LogEvent[] => host.proc.events.filter((e) => e.level === 'error');

// The seed's exchange of exported files (seeds/000, "graph3c.yaml") across real etcd: hosts a, b and
// c each keep f1 and f2, export f3 and f4, and collect every exported file into their own directory.
describe.skipIf(skipEtcdReason !== undefined)('the seed\'s exchange of exported files over etcd', () => {
  const { startHost, tempDir } = useCluster();

  it('GIVEN a bootstrapping and b, c joining through it WHEN each exports two files THEN every host holds all six exports and only its own locals, and a dropped export leaves every graph', async () => {
    const root = await tempDir();
    const files: Record<string, ExchangeFiles> = { a: seedFiles('a'), b: seedFiles('b'), c: seedFiles('c') };
    const started: Record<string, ClusterHost> = {};
    const settledOn = async (names: readonly string[]): Promise<void> => {
      const exporters = Object.fromEntries(names.map((name) => [name, files[name]!]));
      for (const name of names) {
        await waitForFiles(exchangeDir(root, name), expectedFiles(name, files[name]!, exporters), `${name} to hold the exports of ${names.join(', ')}`);
      }
    };

    // As in the seed: a alone holds its own four files (its exports collected from its own etcd) ...
    started.a = await startHost('a', { yaml: await writeExchangeGraph(root, 'a', files.a!) });
    await started.a.waitForCluster('server-start', undefined, 60_000);
    await settledOn(['a']);
    // ... b joins and both hold six ...
    started.b = await startHost('b', { yaml: await writeExchangeGraph(root, 'b', files.b!), seeds: [started.a.clientUrl] });
    await settledOn(['a', 'b']);
    // ... and with c every host holds eight: its two locals and all six exports.
    started.c = await startHost('c', { yaml: await writeExchangeGraph(root, 'c', files.c!), seeds: [started.a.clientUrl] });
    await settledOn(['a', 'b', 'c']);
    const hosts = Object.values(started);

    for (const host of hosts) {
      // Another host's locals never travel; the exports are re-homed with their exporter's content.
      for (const other of hosts.filter((h) => h !== host)) {
        for (const local of files[other.name]!.locals) expect(existsSync(join(exchangeDir(root, host.name), local))).toBe(false);
      }
      expect(readFileSync(join(exchangeDir(root, host.name), 'f3c'), 'utf8')).toBe(fileContent('c', 'f3c'));
      // The seed's "Graph: Vertices(8)": two locals and six collected; its own exports only as collected.
      await waitForLast(host.proc, 'graph', (e) => e.vertices === 8, `${host.name}'s graph to hold 8 vertices`);
      await waitForLast(host.proc, 'collect', (e) => e.count === 6 && JSON.stringify(e.kinds) === '["file"]', `${host.name} to collect six files`);
      // Events reach us through a pipe, maybe after the files they tell of: wait for them.
      await host.proc.waitForEvent((e) => e.event === 'export' && e.count === 2, `${host.name} to export two files`, 60_000);
      // Collecting its own exports is how a host applies them.
      await host.proc.waitForEvent((e) => e.event === 'apply' && e.resource === `file[f3${host.name}]`, `${host.name} to apply its own f3`, 60_000);
      expect(host.proc.events.filter((e) => e.event === 'collect' && e.level !== 'info')).toEqual([]);
      expect(errorsOf(host)).toEqual([]);
    }

    // WHEN b's YAML drops f4b (the agents reload it on change) ...
    const marks = new Map(hosts.map((host) => [host.name, host.proc.events.length]));
    files.b = { ...files.b!, exports: ['f3b'] };
    await writeExchangeGraph(root, 'b', files.b);
    await started.b.proc.waitForEvent((e) => e.event === 'export' && e.count === 1, 'b to export one file', 60_000);
    // ... THEN every host, b included, collects five files and its graph loses f4b's vertex.
    for (const host of hosts) {
      const since = marks.get(host.name)!;
      await waitForLast(host.proc, 'collect', (e) => e.count === 5, `${host.name} to collect five files`, since);
      await waitForLast(host.proc, 'graph', (e) => e.vertices === 7, `${host.name}'s graph to drop f4b`, since);
      const removed = host.proc.events.slice(since).filter((e) => e.event === 'graph' && (e.swap as { removed: number }).removed === 1);
      expect(removed.length).toBeGreaterThanOrEqual(1);
      // Like upstream, a resource that leaves the graph is not undone: the file stays where it was.
      expect(readFileSync(join(exchangeDir(root, host.name), 'f4b'), 'utf8')).toBe(fileContent('b', 'f4b'));
      expect(alive(host)).toBe(true);
      expect(errorsOf(host)).toEqual([]);
    }
    // b's export set in etcd is what its YAML says now: the pointer and one chunk of the new generation.
    const keys = await etcdctl(started.a.clientUrl, 'get', '--prefix', '--keys-only', '/_mgmt/exported/b/');
    const set = JSON.parse(await etcdctl(started.a.clientUrl, 'get', '--print-value-only', '/_mgmt/exported/b/set')) as { generation: string };
    expect(keys.split('\n').filter((line) => line !== '')).toEqual([`/_mgmt/exported/b/chunks/${set.generation}/file/0`, '/_mgmt/exported/b/set']);
    const chunk = JSON.parse(await etcdctl(started.a.clientUrl, 'get', '--print-value-only', `/_mgmt/exported/b/chunks/${set.generation}/file/0`)) as { name: string }[];
    expect(chunk.map((r) => r.name)).toEqual(['f3b']);
  }, TEST_TIMEOUT_MS);

  it('GIVEN two hosts collecting files WHEN a fake host writes hostile exports straight into etcd THEN each is refused or confined to the pattern, logged, and the hosts keep exchanging', async () => {
    const root = await tempDir();
    const files: Record<string, ExchangeFiles> = { a: seedFiles('a'), b: seedFiles('b') };
    const a = await startHost('a', { yaml: await writeExchangeGraph(root, 'a', files.a!) });
    await a.waitForCluster('server-start', undefined, 60_000);
    const b = await startHost('b', { yaml: await writeExchangeGraph(root, 'b', files.b!), seeds: [a.clientUrl] });
    const hosts = [a, b];
    for (const host of hosts) await waitForFiles(exchangeDir(root, host.name), expectedFiles(host.name, files[host.name]!, files), `${host.name} to hold both hosts' exports`);
    const marks = new Map(hosts.map((host) => [host.name, host.proc.events.length]));

    // Where a file would land if confinement failed: outside every pattern directory. The unique
    // tag keeps parallel runs apart (`..` from a pattern two levels down reaches the shared tmpdir).
    const tag = `mgmt-evil-${randomBytes(4).toString('hex')}`;
    const escapes = [
      join(dirname(root), `${tag}-by-name`),
      join(REPO_ROOT, '..', '..', `${tag}-by-name`), // the name taken relative to the agent's working directory
      join(root, 'outside', `${tag}-abs`),
      join(dirname(root), `${tag}-dotdot`),
    ];
    const key = (rest: string): string => `/_mgmt/exported/evil/${rest}`;
    const dirOf = (host: string): string => exchangeDir(root, host);
    /** Hostile is one entry evil writes, and what each host must refuse because of it (by the start of the logged reasons). */
    interface Hostile {
      readonly key: string;
      readonly value: string;
      readonly refused?: (host: string) => readonly string[];
    }
    const everywhere = (...reasons: string[]) => (): readonly string[] => reasons;
    const hostile: Hostile[] = [
      // A name climbing out of the pattern (and no path, so the path is the name): re-homed by its base name.
      { key: key(`resources/file/../../${tag}-by-name`), value: JSON.stringify({ content: 'climbed out by name\n' }) },
      // An absolute path outside the pattern: re-homed, like every collected file.
      { key: key('resources/file/abs'), value: JSON.stringify({ path: join(root, 'outside', `${tag}-abs`), content: 'absolute path outside\n' }) },
      // A path climbing out with `..`: re-homed by its base name.
      { key: key('resources/file/dotdot'), value: JSON.stringify({ path: `${dirOf('a')}/../../${tag}-dotdot`, content: 'dotdot\n' }) },
      // A path that is only a parent reference has no name to re-home.
      { key: key('resources/file/parent'), value: JSON.stringify({ path: `${root}/..` }), refused: everywhere('evil:file[parent]: its path') },
      { key: key('resources/file/notjson'), value: '{this is not JSON', refused: everywhere(`skipped exported resource ${key('resources/file/notjson')}:`) },
      { key: key('resources/file/array'), value: '["a","b"]', refused: everywhere(`skipped exported resource ${key('resources/file/array')}: expected a JSON object`) },
      { key: key('resources/file/wrongtype'), value: JSON.stringify({ path: '/x/wrongtype', content: 42 }), refused: everywhere('evil:file[wrongtype]: parameter `content` is not a string') },
      { key: key('resources/file/unknown'), value: JSON.stringify({ path: '/x/unknown', evil: true }), refused: everywhere('evil:file[unknown]: unknown parameter `evil`') },
      { key: key('resources/file/shadow'), value: JSON.stringify({ path: '/x/shadow', source: '/etc/passwd' }), refused: everywhere('evil:file[shadow]: `source` refused') },
      { key: key('files/x'), value: JSON.stringify({ path: '/x/x' }), refused: everywhere(`skipped exported key ${key('files/x')}: expected`) },
      // Nobody collects this kind: it is not looked at.
      { key: key('resources/nosuchkind/x'), value: JSON.stringify({ anything: true }) },
      // Clashes between exports keep both out, whichever host sorts first: b's f3b (by name) and a's
      // f4a (by path) are no longer collected (their files stay, as a resource leaving the graph is
      // not undone). A host's own resources win: a's own f1a keeps its name and b's own f1b its path;
      // where there is no clash, the file is simply collected.
      {
        key: key('resources/file/f3b'),
        value: JSON.stringify({ path: '/x/f3b', content: 'evil f3b\n' }),
        refused: everywhere('evil:file[f3b]: file[f3b] is also exported differently as b:file[f3b]', 'b:file[f3b]: file[f3b] is also exported differently as evil:file[f3b]'),
      },
      {
        key: key('resources/file/zzz'),
        value: JSON.stringify({ path: '/x/f4a', content: 'evil f4a\n' }),
        refused: (host) => [
          `evil:file[zzz]: the path "${dirOf(host)}/f4a" is also exported differently as a:file[f4a]`,
          `a:file[f4a]: the path "${dirOf(host)}/f4a" is also exported differently as evil:file[zzz]`,
        ],
      },
      { key: key('resources/file/f1a'), value: JSON.stringify({ path: '/x/f1a', content: 'evil f1a\n' }), refused: (host) => (host === 'a' ? ['evil:file[f1a]: file[f1a] is already in the graph'] : []) },
      { key: key('resources/file/rm'), value: JSON.stringify({ path: '/x/f1b', state: 'absent' }), refused: (host) => (host === 'b' ? [`evil:file[rm]: its path "${dirOf('b')}/f1b" is already managed by file[f1b]`] : []) },
    ];
    for (const { key: etcdKey, value } of hostile) await etcdctl(a.clientUrl, 'put', '--', etcdKey, value);
    // What each host collects of evil's: the confined files under the base names of their paths,
    // f1a where it is no host's own, and `rm` (absent) where f1b is no host's own: nothing to see.
    const fromEvil = (host: string): Record<string, string> => ({
      [`${tag}-by-name`]: 'climbed out by name\n',
      [`${tag}-abs`]: 'absolute path outside\n',
      [`${tag}-dotdot`]: 'dotdot\n',
      ...(host === 'a' ? {} : { f1a: 'evil f1a\n' }),
    });
    // c starts after the clashes: it never collected the clashing f3b and f4a, which a and b keep from before.
    const wanted = (host: string): Record<string, string> => {
      const want = { ...expectedFiles(host, files[host]!, files), ...fromEvil(host) };
      if (host === 'c') for (const clashed of ['f3b', 'f4a']) delete want[clashed];
      return want;
    };

    const refusals = (host: ClusterHost): string[] =>
      hostile.flatMap((h) => h.refused?.(host.name) ?? []);
    const checkRefusals = async (host: ClusterHost, since: number): Promise<void> => {
      for (const refused of refusals(host)) {
        await host.proc.waitForEvent(
          (e) => host.proc.events.indexOf(e) >= since && e.event === 'collect' && e.level === 'warn' && typeof e.message === 'string' && e.message.startsWith(`refused: ${refused}`),
          `${host.name} to refuse "${refused}"`,
          60_000,
        );
      }
      // Every warning is one of those refusals: the confined files were accepted, and nosuchkind was not read.
      for (const warning of host.proc.events.slice(since).filter((e) => e.event === 'collect' && e.level !== 'info')) {
        expect(warning.level).toBe('warn');
        expect(refusals(host).some((refused) => String(warning.message).startsWith(`refused: ${refused}`)), String(warning.message)).toBe(true);
      }
    };
    for (const host of hosts) {
      const since = marks.get(host.name)!;
      await checkRefusals(host, since);
      // The hostile files that could be re-homed are, into the pattern directory and nowhere else.
      await waitForFiles(dirOf(host.name), wanted(host.name), `${host.name} to hold the confined hostile files`);
      // Two of the four exports of a and b (f3b and f4a clash), three confined files, and f1a or rm.
      await waitForLast(host.proc, 'collect', (e) => e.count === 6, `${host.name} to collect six files`, since);
      expect(readFileSync(join(dirOf(host.name), 'f3b'), 'utf8')).toBe(fileContent('b', 'f3b'));
      expect(readFileSync(join(dirOf(host.name), 'f4a'), 'utf8')).toBe(fileContent('a', 'f4a'));
    }
    for (const escape of escapes) expect(existsSync(escape), `${escape} must not exist`).toBe(false);
    expect(listFiles(root)).toEqual(['a.yaml', 'b.yaml', 'mgmta', 'mgmtb']);

    // WHEN c starts while all that is in etcd, and a exports a new file THEN every host collects
    // every real export: nobody stopped exchanging.
    files.c = seedFiles('c');
    const c = await startHost('c', { yaml: await writeExchangeGraph(root, 'c', files.c), seeds: [a.clientUrl] });
    hosts.push(c);
    files.a = { ...files.a!, exports: [...files.a!.exports, 'f5a'] };
    await writeExchangeGraph(root, 'a', files.a);
    for (const host of hosts) {
      await waitForFiles(dirOf(host.name), wanted(host.name), `${host.name} to collect f5a and c's exports`);
    }
    await checkRefusals(c, 0);
    for (const host of hosts) {
      expect(alive(host)).toBe(true);
      expect(errorsOf(host)).toEqual([]);
      expect(host.proc.events.some((e) => e.event === 'exit')).toBe(false);
    }
    for (const escape of escapes) expect(existsSync(escape), `${escape} must not exist`).toBe(false);
  }, TEST_TIMEOUT_MS);
});
