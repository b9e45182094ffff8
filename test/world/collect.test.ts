import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '../../src/resources/index.js';
import { exportsOf, withCollected, type CollectProblem } from '../../src/world/collect.js';
import type { ExportedResource } from '../../src/world/types.js';
import { parseGraph } from '../../src/yamlgraph/parse.js';

const HOST_A = `graph: a
resources:
  file:
  - {name: f1a, path: /tmp/mgmtA/f1a, content: "i am f1"}
  - {name: "@@f3a", path: /tmp/mgmtA/f3a, content: "i am f3, exported from host A"}
collect:
- {kind: file, pattern: /tmp/mgmtA/}
`;

const spec = () => parseGraph(HOST_A, 'a.yaml', defaultRegistry);

function exported(host: string, name: string, params: Record<string, unknown>, kind = 'file'): ExportedResource {
  return { host, kind, name, params };
}

function collect(resources: readonly ExportedResource[]) {
  const problems: CollectProblem[] = [];
  const result = withCollected(spec(), resources, defaultRegistry, (problem) => problems.push(problem));
  const added = result.resources.filter((r) => !spec().resources.some((own) => own.name === r.name && own.exported === r.exported));
  return { added, problems };
}

describe('exportsOf', () => {
  it('GIVEN a graph with @@ resources THEN exactly those are exported, under their plain names', () => {
    expect(exportsOf(spec()).map((e) => [e.kind, e.name, e.params.path])).toEqual([['file', 'f3a', '/tmp/mgmtA/f3a']]);
  });
});

describe('withCollected', () => {
  it('GIVEN files exported by two hosts THEN they are re-homed into the pattern directory', () => {
    const { added, problems } = collect([
      exported('b', 'f3b', { path: '/tmp/mgmtB/f3b', content: 'from b' }),
      exported('c', 'f4c', { path: '/tmp/mgmtC/deep/f4c', content: 'from c' }),
    ]);
    expect(problems).toEqual([]);
    expect(added.map((r) => [r.name, r.params.path, r.params.content])).toEqual([
      ['f3b', '/tmp/mgmtA/f3b', 'from b'],
      ['f4c', '/tmp/mgmtA/f4c', 'from c'],
    ]);
  });

  it('GIVEN a graph that collects nothing THEN the spec is unchanged', () => {
    const plain = parseGraph('graph: x\nresources:\n  noop:\n  - {name: n}\n', 'x.yaml', defaultRegistry);
    expect(withCollected(plain, [exported('b', 'f', { path: '/x/f' })], defaultRegistry, () => undefined)).toBe(plain);
  });

  it.each([
    ['a path that is only a parent reference', { path: '/tmp/mgmtB/..' }, /no file name/],
    ['a source to copy from this host', { path: '/tmp/mgmtB/shadow', source: '/etc/shadow' }, /`source` refused: it would copy this host's "\/etc\/shadow"/],
    ['a param of the wrong type', { path: 42 }, /`path` is not a string/],
    ['an unknown param', { path: '/tmp/x', evil: true }, /unknown parameter `evil`/],
    ['an invalid mode', { path: '/tmp/x', mode: 'rwxrwxrwx' }, /`mode`/],
  ])('GIVEN an export with %s THEN it is refused and reported, the rest still collected', (_what, params, reason) => {
    const { added, problems } = collect([exported('evil', 'bad', params), exported('b', 'good', { path: '/tmp/mgmtB/good' })]);
    expect(added.map((r) => r.name)).toEqual(['good']);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.from).toBe('evil:file[bad]');
    expect(problems[0]!.reason).toMatch(reason);
  });

  it('GIVEN garbage instead of params THEN it is refused, never thrown', () => {
    const { added, problems } = collect([{ host: 'x', kind: 'file', name: 'g', params: 'garbage' as never }]);
    expect(added).toEqual([]);
    expect(problems[0]!.reason).toBe('its params are not a map');
  });

  it.each([
    ['the name of one of this host\'s own resources', exported('evil', 'f1a', { path: '/x/f1a', content: 'evil' }), /file\[f1a\] is already in the graph/],
    ['the path of one of this host\'s own files', exported('evil', 'other', { path: '/x/f1a', content: 'evil' }), /path "\/tmp\/mgmtA\/f1a" is already managed by file\[f1a\]/],
    ['the path of one of this host\'s own files, to remove it', exported('evil', 'rm', { path: '/x/f1a', state: 'absent' }), /already managed by file\[f1a\]/],
  ])('GIVEN an export that takes %s THEN it is refused, and the graph still compiles', (_what, hostile, reason) => {
    const { added, problems } = collect([exported('b', 'good', { path: '/tmp/mgmtB/good', content: 'from b' }), hostile]);
    expect(added.map((r) => [r.name, r.params.content])).toEqual([['good', 'from b']]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.from).toBe(`evil:file[${hostile.name}]`);
    expect(problems[0]!.reason).toMatch(reason);
  });

  it.each([
    ['the name', exported('a-evil', 'good', { path: '/x/good', content: 'evil' }), 'file[good] is also exported differently as'],
    ['the path', exported('a-evil', 'clone', { path: '/x/good/' }), 'the path "/tmp/mgmtA/good" is also exported differently as'],
  ])('GIVEN an export from a host sorting earlier that takes %s of another host\'s THEN both are refused, each naming the other', (_what, hostile, reason) => {
    const { added, problems } = collect([hostile, exported('b', 'good', { path: '/tmp/mgmtB/good', content: 'from b' })]);
    expect(added).toEqual([]);
    expect(problems.map((p) => [p.from, p.reason])).toEqual([
      [`a-evil:file[${hostile.name}]`, `${reason} b:file[good]: none of them is collected`],
      ['b:file[good]', `${reason} a-evil:file[${hostile.name}]: none of them is collected`],
    ]);
  });

  it('GIVEN two hosts exporting the same file alike THEN both are kept, for the compile to collapse', () => {
    const same = { path: '/x/motd', content: 'hello' };
    const { added, problems } = collect([exported('b', 'motd', same), exported('c', 'motd', same)]);
    expect(problems).toEqual([]);
    expect(added.map((r) => r.name)).toEqual(['motd', 'motd']);
  });

  it('GIVEN an export whose name tries to climb out THEN the re-homed path stays inside the pattern', () => {
    const { added } = collect([exported('b', '../../etc/passwd', { path: '/tmp/mgmtB/../../etc/passwd' })]);
    for (const resource of added) expect(String(resource.params.path).startsWith('/tmp/mgmtA/')).toBe(true);
  });
});
