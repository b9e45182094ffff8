import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorld } from '../../src/world/local.js';
import { record } from '../watchers/recorder.js';
import { ready, worldContract } from '../helpers/world-contract.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();


/** worlds opens LocalWorlds on one directory, one per host name, closed at the end of `body`. */
async function withWorlds(hosts: string[], body: (worlds: LocalWorld[], dir: string) => Promise<void>): Promise<void> {
  const dir = join(await tempDir(), 'world');
  const worlds = hosts.map((hostname) => new LocalWorld({ hostname, dir }));
  try {
    await body(worlds, dir);
  } finally {
    await Promise.all(worlds.map((w) => w.close()));
  }
}

const file = (name: string, params: Record<string, unknown> = {}) => ({ kind: 'file', name, params });

describe('LocalWorld', () => {
  it('GIVEN temporary files of a writer killed mid-write and of a running one WHEN a World opens THEN only the dead writer\'s are removed', async () => {
    const dir = join(await tempDir(), 'world');
    await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o755 });
    // pid 2^22+1 is above Linux's pid_max: no such process can be running.
    const dead = `${2 ** 22 + 1}-abc.tmp`;
    const alive = `${process.pid}-def.tmp`;
    await writeFile(join(dir, 'tmp', dead), 'half a value');
    await writeFile(join(dir, 'tmp', alive), 'being written');
    const world = new LocalWorld({ hostname: 'h1', dir });
    expect((await readdir(join(dir, 'tmp'))).sort()).toEqual([alive]);
    await world.close();
  });

  it('GIVEN strings and exports written WHEN a new instance opens the same directory THEN it reads them back', async () => {
    const dir = join(await tempDir(), 'world');
    const first = new LocalWorld({ hostname: 'h1', dir });
    await first.strSet('hello', 'world');
    await first.exportResources([file('/tmp/a', { content: 'x' })]);
    await first.close();

    const second = new LocalWorld({ hostname: 'h1', dir });
    expect(await second.strGet('hello')).toBe('world');
    expect(await second.collectResources(['file'])).toEqual([{ host: 'h1', kind: 'file', name: '/tmp/a', params: { content: 'x' } }]);
    await second.close();
  });

  it('GIVEN a key WHEN set, replaced and deleted THEN reads follow, and deleting a missing key is fine', async () => {
    await withWorlds(['h1'], async ([w]) => {
      expect(await w!.strGet('k')).toBeUndefined();
      await w!.strSet('k', 'one');
      await w!.strSet('k', 'two');
      expect(await w!.strGet('k')).toBe('two');
      await w!.strDel('k');
      expect(await w!.strGet('k')).toBeUndefined();
      await w!.strDel('k');
      await w!.strSet('empty', '');
      expect(await w!.strGet('empty')).toBe('');
    });
  });

  it('GIVEN keys with `/`, `%` and leading dots WHEN stored THEN each is its own file inside strings/', async () => {
    await withWorlds(['h1'], async ([w], dir) => {
      const keys = ['a/b', 'a', 'a%2Fb', '.', '..', '../escape', 'stage/h1'];
      for (const key of keys) await w!.strSet(key, `v:${key}`);
      for (const key of keys) expect(await w!.strGet(key)).toBe(`v:${key}`);
      const names = await readdir(join(dir, 'strings'));
      expect(names).toHaveLength(keys.length);
      for (const name of names) expect(name.startsWith('.') || name.includes('/')).toBe(false);
      // Nothing escaped the world directory.
      expect((await readdir(dir)).sort()).toEqual(['exported', 'strings', 'tmp']);
    });
  });

  it('GIVEN an empty or far too long key WHEN set THEN it is refused with a clear error', async () => {
    await withWorlds(['h1'], async ([w]) => {
      await expect(w!.strSet('', 'x')).rejects.toThrow(/empty key/);
      await expect(w!.strSet('x'.repeat(300), 'x')).rejects.toThrow(/too long/);
    });
  });

  it('GIVEN a host that exported twice WHEN collected THEN only the second set remains, in one file, with no temp files left', async () => {
    await withWorlds(['h1'], async ([w], dir) => {
      await w!.exportResources([file('/a'), file('/b')]);
      await w!.exportResources([file('/c')]);
      expect((await w!.collectResources(['file'])).map((r) => r.name)).toEqual(['/c']);
      expect(await readdir(join(dir, 'exported'))).toEqual(['h1.json']);
      expect(await readdir(join(dir, 'tmp'))).toEqual([]);
      await w!.exportResources([]);
      expect(await w!.collectResources(['file'])).toEqual([]);
      // The emptied set is written: the file says so rather than keeping the old set.
      expect(JSON.parse(await readFile(join(dir, 'exported', 'h1.json'), 'utf8'))).toEqual({ host: 'h1', resources: [] });
    });
  });

  it('GIVEN a host that never exported WHEN it exports nothing THEN no file is written', async () => {
    await withWorlds(['h1'], async ([w], dir) => {
      await w!.exportResources([]);
      expect(await readdir(join(dir, 'exported'))).toEqual([]);
      expect(await readdir(join(dir, 'tmp'))).toEqual([]);
    });
  });

  it('GIVEN two hosts sharing a directory WHEN collected by kind THEN both hosts’ resources of that kind come sorted by host, kind, name', async () => {
    await withWorlds(['h2', 'h1'], async ([h2, h1]) => {
      await h2!.exportResources([file('/z'), { kind: 'noop', name: 'n', params: {} }, file('/a')]);
      await h1!.exportResources([file('/m'), { kind: 'exec', name: 'e', params: { cmd: 'true' } }]);
      const ids = (rs: { host: string; kind: string; name: string }[]) => rs.map((r) => `${r.host}:${r.kind}[${r.name}]`);
      expect(ids(await h1!.collectResources(['file']))).toEqual(['h1:file[/m]', 'h2:file[/a]', 'h2:file[/z]']);
      expect(ids(await h2!.collectResources(['noop', 'file', 'exec']))).toEqual([
        'h1:exec[e]',
        'h1:file[/m]',
        'h2:file[/a]',
        'h2:file[/z]',
        'h2:noop[n]',
      ]);
      expect(await h1!.collectResources([])).toEqual([]);
    });
  });

  it('GIVEN malformed export files WHEN collected THEN they are skipped with a problem each and good ones still come', async () => {
    await withWorlds(['h1'], async ([w], dir) => {
      await w!.exportResources([file('/good')]);
      const exported = join(dir, 'exported');
      await writeFile(join(exported, 'bad-json.json'), '{ not json');
      await writeFile(join(exported, 'array.json'), '[1, 2]');
      await writeFile(join(exported, 'liar.json'), JSON.stringify({ host: 'someone-else', resources: [] }));
      await writeFile(join(exported, 'bad%ZZ.json'), '{}');
      await writeFile(
        join(exported, 'mixed.json'),
        JSON.stringify({ host: 'mixed', resources: [file('/ok'), { kind: 'file', name: '', params: {} }, { kind: 'file', name: '/p', params: 'x' }, null] }),
      );
      await writeFile(join(exported, 'README'), 'not an export file');
      const problems: string[] = [];
      const found = await w!.collectResources(['file'], (p) => problems.push(p));
      expect(found.map((r) => `${r.host}:${r.name}`)).toEqual(['h1:/good', 'mixed:/ok']);
      expect(problems).toHaveLength(7);
      for (const name of ['bad-json.json', 'array.json', 'liar.json', 'bad%ZZ.json']) {
        expect(problems.some((p) => p.includes(name))).toBe(true);
      }
      expect(problems.filter((p) => p.includes('mixed.json'))).toHaveLength(3);
      // Without onProblem nothing is thrown either.
      await expect(w!.collectResources(['file'])).resolves.toHaveLength(2);
    });
  });

  it('GIVEN an export file WHEN read THEN it is plain JSON of the host and its resources', async () => {
    await withWorlds(['web/1'], async ([w], dir) => {
      await w!.exportResources([file('/a', { mode: '0644' })]);
      const text = await readFile(join(dir, 'exported', 'web%2F1.json'), 'utf8');
      expect(JSON.parse(text)).toEqual({ host: 'web/1', resources: [{ kind: 'file', name: '/a', params: { mode: '0644' } }] });
      expect((await w!.collectResources(['file']))[0]?.host).toBe('web/1');
    });
  });

  it('GIVEN a resource watch WHEN another instance exports THEN it fires after its ready event', async () => {
    await withWorlds(['h1', 'h2'], async ([h1, h2]) => {
      const rec = record(h1!.watchResources());
      await ready(rec);
      const seen = rec.next();
      await h2!.exportResources([file('/x')]);
      await seen;
      expect((await h1!.collectResources(['file'])).map((r) => r.host)).toEqual(['h2']);
      rec.unsubscribe();
    });
  });

  worldContract(withWorlds);

  it('GIVEN open watches WHEN the world is closed THEN they complete without error, later ones too, and writes are refused', async () => {
    const dir = join(await tempDir(), 'world');
    await mkdir(dir, { recursive: true });
    const w = new LocalWorld({ hostname: 'h1', dir });
    const ends: string[] = [];
    const watch = (name: string, o: ReturnType<LocalWorld['strWatch']>) =>
      o.subscribe({ complete: () => ends.push(`${name} complete`), error: (e: unknown) => ends.push(`${name} error ${String(e)}`) });
    watch('str', w.strWatch('k'));
    watch('res', w.watchResources());
    await w.close();
    watch('late', w.strWatch('k'));
    expect(ends).toEqual(['str complete', 'res complete', 'late complete']);
    await expect(w.strSet('k', 'v')).rejects.toThrow(/closed/);
    await w.close();
  });
});
