import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdWorld } from '../../src/world/etcd.js';
import { record } from '../watchers/recorder.js';
import { ready, worldContract } from '../helpers/world-contract.js';
import { etcdGet, etcdPut, freePort, skipEtcdReason, useEtcd } from '../helpers/etcd.js';


const file = (name: string, params: Record<string, unknown> = {}) => ({ kind: 'file', name, params });

describe.skipIf(skipEtcdReason !== undefined)('EtcdWorld', () => {
  const startEtcd = useEtcd();

  /** withWorlds starts one etcd and opens an EtcdWorld on it per host name, closed at the end of `body`. */
  async function withWorlds(hosts: string[], body: (worlds: EtcdWorld[], clientUrl: string) => Promise<void>): Promise<void> {
    const etcd = await startEtcd();
    await etcd.server.start();
    const worlds = hosts.map((hostname) => new EtcdWorld({ hostname, endpoints: [etcd.clientUrl] }));
    try {
      await body(worlds, etcd.clientUrl);
    } finally {
      await Promise.all(worlds.map((w) => w.close()));
    }
  }

  /** rangeKeys lists every key under a prefix, read with a separate client. */
  async function rangeKeys(clientUrl: string, prefix: string): Promise<string[]> {
    const client = new Etcd3({ hosts: [clientUrl] });
    try {
      return (await client.getAll().prefix(prefix).keys()).sort();
    } finally {
      client.close();
    }
  }

  it('GIVEN a key WHEN set, replaced and deleted THEN reads follow, it is stored under /_mgmt/strings/, and deleting a missing key is fine', async () => {
    await withWorlds(['h1'], async ([w], url) => {
      expect(await w!.strGet('k/x')).toBeUndefined();
      await w!.strSet('k/x', 'one');
      await w!.strSet('k/x', 'two');
      expect(await w!.strGet('k/x')).toBe('two');
      expect(await etcdGet(url, '/_mgmt/strings/k/x')).toBe('two');
      await w!.strDel('k/x');
      expect(await w!.strGet('k/x')).toBeUndefined();
      await w!.strDel('k/x');
      await w!.strSet('empty', '');
      expect(await w!.strGet('empty')).toBe('');
    });
  });

  worldContract(withWorlds);

  it('GIVEN two hosts exporting WHEN collected by kind THEN both hosts’ resources of those kinds come sorted by host, kind, name', async () => {
    await withWorlds(['b', 'a'], async ([b, a], url) => {
      await b!.exportResources([file('/z', { content: 'z' }), { kind: 'noop', name: 'n', params: {} }, file('/a')]);
      await a!.exportResources([file('/m'), { kind: 'exec', name: 'e', params: { cmd: 'true' } }]);
      const ids = (rs: { host: string; kind: string; name: string }[]) => rs.map((r) => `${r.host}:${r.kind}[${r.name}]`);
      expect(ids(await a!.collectResources(['file']))).toEqual(['a:file[/m]', 'b:file[/a]', 'b:file[/z]']);
      expect(ids(await b!.collectResources(['noop', 'file', 'exec']))).toEqual(['a:exec[e]', 'a:file[/m]', 'b:file[/a]', 'b:file[/z]', 'b:noop[n]']);
      expect(await a!.collectResources([])).toEqual([]);
      expect((await a!.collectResources(['file'])).find((r) => r.name === '/z')).toEqual({ host: 'b', kind: 'file', name: '/z', params: { content: 'z' } });
      // The set layout, readable with etcdctl: a pointer to one generation, a chunk per kind.
      const set = JSON.parse((await etcdGet(url, '/_mgmt/exported/b/set'))!) as { generation: string; chunks: Record<string, number>; count: number };
      expect(set).toEqual({ generation: expect.stringMatching(/^[0-9a-f]{24}$/), chunks: { file: 1, noop: 1 }, count: 3 });
      expect(await etcdGet(url, `/_mgmt/exported/b/chunks/${set.generation}/file/0`)).toBe('[{"name":"/a","params":{}},{"name":"/z","params":{"content":"z"}}]');
    });
  });

  it('GIVEN a host that exported WHEN it exports a different set THEN only the new keys remain, and the other host is untouched', async () => {
    await withWorlds(['a', 'b'], async ([a, b], url) => {
      await b!.exportResources([file('/keep')]);
      await a!.exportResources([file('/old'), file('/same', { v: 1 })]);
      await a!.exportResources([file('/same', { v: 2 }), file('/new')]);
      const generation = (host: string): Promise<string> => etcdGet(url, `/_mgmt/exported/${host}/set`).then((v) => (JSON.parse(v!) as { generation: string }).generation);
      expect(await rangeKeys(url, '/_mgmt/exported/')).toEqual([
        `/_mgmt/exported/a/chunks/${await generation('a')}/file/0`,
        '/_mgmt/exported/a/set',
        `/_mgmt/exported/b/chunks/${await generation('b')}/file/0`,
        '/_mgmt/exported/b/set',
      ]);
      expect((await b!.collectResources(['file'])).filter((r) => r.host === 'a')).toEqual([
        { host: 'a', kind: 'file', name: '/new', params: {} },
        { host: 'a', kind: 'file', name: '/same', params: { v: 2 } },
      ]);
      const keepB = await rangeKeys(url, '/_mgmt/exported/b/');
      await a!.exportResources([]);
      expect(await rangeKeys(url, '/_mgmt/exported/')).toEqual(keepB);
    });
  });

  it('GIVEN a resource watch WHEN a host replaces its set THEN the watch fires once for the whole transaction', async () => {
    await withWorlds(['a', 'b'], async ([a, b]) => {
      await b!.exportResources([file('/1'), file('/2')]);
      const rec = record(a!.watchResources());
      await ready(rec);
      const seen = rec.next();
      await b!.exportResources([file('/3'), file('/4'), file('/5')]);
      await seen;
      await new Promise((r) => setTimeout(r, 100));
      expect(rec.count).toBe(2);
      // Re-exporting the same set writes nothing, so wakes nobody.
      await b!.exportResources([file('/3'), file('/4'), file('/5')]);
      await new Promise((r) => setTimeout(r, 100));
      expect(rec.count).toBe(2);
      rec.unsubscribe();
    });
  });

  it('GIVEN malformed values and keys written directly WHEN collected THEN they are skipped with a problem each and good ones still come', async () => {
    await withWorlds(['a'], async ([a], url) => {
      await a!.exportResources([file('/good')]);
      await etcdPut(url, '/_mgmt/exported/evil/resources/file//bad-json', '{ not json');
      await etcdPut(url, '/_mgmt/exported/evil/resources/file//array', '[1, 2]');
      await etcdPut(url, '/_mgmt/exported/evil/resources/file//string', '"x"');
      await etcdPut(url, '/_mgmt/exported/evil/resources/file//null', 'null');
      await etcdPut(url, '/_mgmt/exported/evil/wrong-shape', '{}');
      await etcdPut(url, '/_mgmt/exported/evil/resources/file/', '{}');
      await etcdPut(url, '/_mgmt/exported/evil/resources/file//ok', '{"mode":"0644"}');
      const problems: string[] = [];
      const found = await a!.collectResources(['file'], (p) => problems.push(p));
      expect(found.map((r) => `${r.host}:${r.name}`)).toEqual(['a:/good', 'evil:/ok']);
      expect(problems, problems.join("\n")).toHaveLength(6);
      for (const name of ['bad-json', 'array', 'string', 'null', 'wrong-shape', 'resources/file/:']) {
        expect(problems.some((p) => p.includes(name))).toBe(true);
      }
      // Without onProblem nothing is thrown either.
      await expect(a!.collectResources(['file'])).resolves.toHaveLength(2);
    });
  });

  it('GIVEN a host or kind with "/" WHEN used THEN it is refused with a clear error', async () => {
    await withWorlds(['a'], async ([a], url) => {
      expect(() => new EtcdWorld({ hostname: 'web/1', endpoints: [url] })).toThrow(/hostname "web\/1"/);
      await expect(a!.exportResources([{ kind: 'x/y', name: 'n', params: {} }])).rejects.toThrow(/kind "x\/y"/);
    });
  });

  it('GIVEN open watches WHEN the world is closed THEN they complete without error, later ones too, and writes are refused', async () => {
    await withWorlds(['a'], async ([w]) => {
      const ends: string[] = [];
      const watch = (name: string, o: ReturnType<EtcdWorld['strWatch']>) =>
        o.subscribe({ complete: () => ends.push(`${name} complete`), error: (e: unknown) => ends.push(`${name} error ${String(e)}`) });
      const str = record(w.strWatch('k'));
      const res = record(w.watchResources());
      await ready(str);
      await ready(res);
      watch('str', w.strWatch('k'));
      watch('res', w.watchResources());
      await w.close();
      watch('late', w.strWatch('k'));
      expect(ends).toEqual(['str complete', 'res complete', 'late complete']);
      expect(str.error).toBeUndefined();
      expect(res.error).toBeUndefined();
      await expect(w.strSet('k', 'v')).rejects.toThrow(/closed/);
      await w.close();
    });
  });

  it('GIVEN an endpoint nobody listens on WHEN used THEN operations and watches fail within the timeout naming the endpoint', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const w = new EtcdWorld({ hostname: 'a', endpoints: [url], timeoutMs: 500 });
    try {
      const started = Date.now();
      await expect(w.strGet('k')).rejects.toThrow(new RegExp(`cannot get string "k" on etcd ${url}`));
      await expect(w.exportResources([file('/x')])).rejects.toThrow(url);
      const rec = record(w.watchResources());
      expect(String(await rec.failed(5000))).toContain(url);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await w.close();
    }
  });
});
