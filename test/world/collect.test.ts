import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ResourceKind } from '../../src/core/kind.js';
import { defaultsOf, paramTable, type ParamsOf } from '../../src/core/params.js';
import { createRegistry, type Registry } from '../../src/core/registry.js';
import { formatDiagnostic, type InputError } from '../../src/errors.js';
import { defaultRegistry } from '../../src/resources/index.js';
import { noop } from '../../src/resources/noop.js';
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

  it('GIVEN another host\'s svc export, carrying the unit its kind derives from the name THEN it is collected; a unit that is not its name\'s is refused', () => {
    const yaml = 'graph: a\nresources:\n  svc:\n  - {name: "@@web", state: running}\ncollect:\n- {kind: svc}\n';
    const own = parseGraph(yaml, 'a.yaml', defaultRegistry);
    const [web] = exportsOf(own);
    expect(web!.params.unit).toBe('web.service');
    const problems: CollectProblem[] = [];
    const result = withCollected(own, [{ host: 'b', ...web!, name: 'api', params: { ...web!.params, unit: 'api.service' } }, { host: 'c', ...web!, name: 'db' }], defaultRegistry, (problem) => problems.push(problem));
    expect(result.resources.filter((r) => !r.exported).map((r) => [r.name, r.params.unit, r.params.state])).toEqual([['api', 'api.service', 'running']]);
    expect(problems.map((p) => [p.from, p.reason])).toEqual([['c:svc[db]', 'unknown parameter `unit`']]);
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

/** parseProblems lists the errors parsing `yaml` finds, formatted; empty when it parses. */
function parseProblems(yaml: string, file: string, registry: Registry): string[] {
  try {
    parseGraph(yaml, file, registry);
    return [];
  } catch (err) {
    return (err as InputError).diagnostics.map(formatDiagnostic);
  }
}

/** collectInto collects `resources` into the graph `yaml` (parsed with the built-in kinds). */
function collectInto(yaml: string, resources: readonly ExportedResource[]) {
  const problems: CollectProblem[] = [];
  const base = parseGraph(yaml, 'c.yaml', defaultRegistry);
  const result = withCollected(base, resources, defaultRegistry, (problem) => problems.push(problem));
  return { added: result.resources.slice(base.resources.length), problems };
}

const INTO_SRV = 'graph: c\ncollect:\n- {kind: file, pattern: /srv/in/}\n';

describe('collect entries in YAML (issue 10, finding 4)', () => {
  const problemsOf = (yaml: string): string[] => parseProblems(yaml, 'c.yaml', defaultRegistry);

  it('GIVEN a file collect without a pattern THEN it is an error at its line, unless it allows anypath', () => {
    expect(problemsOf('graph: c\ncollect:\n- kind: file\n')).toEqual([
      "c.yaml:3:3: collect #1: a `file` collect needs a `pattern`, the directory collected files land in (or `allow: [anypath]` to write wherever other hosts' exports say)",
    ]);
    expect(problemsOf("graph: c\ncollect:\n- {kind: file, pattern: ''}\n")).toHaveLength(1);
    const spec = parseGraph('graph: c\ncollect:\n- {kind: file, allow: [anypath, source, anypath]}\n', 'c.yaml', defaultRegistry);
    expect(spec.collect.map((entry) => [entry.kind, entry.pattern, entry.allow])).toEqual([['file', '', ['anypath', 'source']]]);
  });

  it.each([
    ['an unknown allowance', 'graph: c\ncollect:\n- {kind: file, pattern: /srv/, allow: [sourc]}\n', 'c.yaml:3:39: collect #1 `allow`: unknown allowance "sourc" (one of anypath, source, setuid, owner, exec, accounts); did you mean `source`?'],
    ['anypath beside a pattern', 'graph: c\ncollect:\n- {kind: file, pattern: /srv/, allow: [anypath]}\n', 'c.yaml:3:25: collect #1: `allow: [anypath]` and a `pattern` exclude each other'],
    ['a relative pattern', 'graph: c\ncollect:\n- {kind: file, pattern: srv/}\n', 'c.yaml:3:25: collect #1 `pattern`: "srv/" must be absolute'],
    ['a pattern climbing with ..', 'graph: c\ncollect:\n- {kind: file, pattern: /srv/../etc/}\n', 'c.yaml:3:25: collect #1 `pattern`: "/srv/../etc/" must not contain ".", ".." or empty segments'],
    ['a kind collected twice', 'graph: c\ncollect:\n- {kind: exec}\n- {kind: Exec, allow: [exec]}\n', 'c.yaml:4:3: collect #2: kind `exec` is already collected by collect #1; collect each kind once'],
  ])('GIVEN %s THEN it is an error naming the entry', (_what, yaml, problem) => {
    expect(problemsOf(yaml)).toEqual([problem]);
  });

  it('GIVEN an allowance that concerns another kind THEN it is a warning, and a kind other than file needs no pattern', () => {
    const spec = parseGraph('graph: c\ncollect:\n- {kind: exec, allow: [setuid]}\n', 'c.yaml', defaultRegistry);
    expect(spec.warnings.map(formatDiagnostic)).toEqual(['c.yaml:3:23: collect #1: `allow: [setuid]` has no effect on kind `exec` (it concerns file)']);
  });
});

describe('withCollected: what a collected resource may do (issue 10, finding 4)', () => {
  it('GIVEN dirname and basename that name a path outside the pattern THEN the file lands in the pattern under the name they give', () => {
    const { added, problems } = collectInto(INTO_SRV, [exported('evil', 'dn', { path: '/x/dn', dirname: '/etc/', basename: 'passwd', content: 'dn' })]);
    expect(problems).toEqual([]);
    expect(added.map((r) => [r.params.path, r.params.dirname, r.params.basename])).toEqual([['/srv/in/passwd', '', '']]);
  });

  it('GIVEN allow: [anypath] THEN a collected file keeps the path its fields name', () => {
    const { added } = collectInto('graph: c\ncollect:\n- {kind: file, allow: [anypath]}\n', [exported('b', 'dn', { path: '/x/dn', dirname: '/opt/', content: 'dn' })]);
    expect(added.map((r) => [r.params.path, r.params.dirname])).toEqual([['/x/dn', '/opt/']]);
  });

  it('GIVEN a spec whose file collect has neither a pattern nor anypath (not made by the parser) THEN every file is refused', () => {
    const base = parseGraph(INTO_SRV, 'c.yaml', defaultRegistry);
    const problems: CollectProblem[] = [];
    const spec = { ...base, collect: [{ kind: 'file', pattern: '', allow: [] }] };
    expect(withCollected(spec, [exported('b', 'f', { path: '/x/f' })], defaultRegistry, (p) => problems.push(p)).resources).toEqual([]);
    expect(problems.map((p) => p.field)).toEqual(['path']);
  });

  it.each([
    ['set-uid, octal', { mode: '4755' }, ['mode']],
    ['set-gid, octal', { mode: '2775' }, ['mode']],
    ['set-uid, symbolic', { mode: 'u=rwxs,go=rx' }, ['mode']],
    ['set-gid on a directory, symbolic', { path: '/x/d/', mode: 'g=rwxs' }, ['mode']],
    ['an owner', { owner: 'nobody' }, ['owner']],
    ['root as the owner and group', { owner: 'root', group: '0' }, ['owner', 'group']],
  ])('GIVEN a collected file with %s THEN it is refused naming each field, and allowed by the matching allowance', (_what, params, fields) => {
    const hostile = exported('evil', 'f', { path: '/x/f', ...params });
    const { added, problems } = collectInto(INTO_SRV, [hostile]);
    expect(added).toEqual([]);
    expect(problems.map((p) => [p.from, p.field])).toEqual(fields.map((field) => ['evil:file[f]', field]));
    for (const problem of problems) expect(problem.reason).toContain(`\`allow: [${problem.allow}]\``);
    const allowing = collectInto('graph: c\ncollect:\n- {kind: file, pattern: /srv/in/, allow: [setuid, owner]}\n', [hostile]);
    expect(allowing.problems).toEqual([]);
    expect(allowing.added).toHaveLength(1);
  });

  it.each([['a plain mode', '0644'], ['the sticky bit', '1777'], ['a symbolic mode leaving u alone', 'go=r']])('GIVEN %s THEN it needs no allowance', (_what, mode) => {
    expect(collectInto(INTO_SRV, [exported('b', 'f', { path: '/x/f', mode })]).problems).toEqual([]);
  });

  it('GIVEN allow: [source] THEN a collected file may copy this host\'s file', () => {
    const yaml = 'graph: c\ncollect:\n- {kind: file, pattern: /srv/in/, allow: [source]}\n';
    const { added, problems } = collectInto(yaml, [exported('b', 'motd', { path: '/x/motd', source: '/etc/motd' })]);
    expect(problems).toEqual([]);
    expect(added.map((r) => [r.params.path, r.params.source])).toEqual([['/srv/in/motd', '/etc/motd']]);
  });

  it.each([
    ['exec', { cmd: 'id' }, 'cmd', 'exec'],
    ['user', { state: 'exists', uid: 0, allowduplicateuid: true }, 'state', 'accounts'],
    ['group', { state: 'absent' }, 'state', 'accounts'],
  ])('GIVEN a collected %s THEN it is refused unless the entry allows it', (kind, params, field, allowance) => {
    const hostile = exported('evil', 'x', params, kind);
    const refused = collectInto(`graph: c\ncollect:\n- {kind: ${kind}}\n`, [hostile]);
    expect(refused.added).toEqual([]);
    expect(refused.problems.map((p) => [p.from, p.field, p.allow])).toEqual([[`evil:${kind}[x]`, field, allowance]]);
    const allowed = collectInto(`graph: c\ncollect:\n- {kind: ${kind}, allow: [${allowance}]}\n`, [hostile]);
    expect(allowed.problems).toEqual([]);
    expect(allowed.added.map((r) => r.name)).toEqual(['x']);
  });
});

describe('withCollected: a kind of its own collect trait (the collector knows no kind by name)', () => {
  const spotParams = paramTable({
    where: { type: 'string', doc: 'where the spot is', default: (name) => `/spots/${name}` },
    loud: { type: 'bool', doc: 'whether it makes noise', default: false },
  });
  const spot: ResourceKind<ParamsOf<typeof spotParams>> = {
    kind: 'spot',
    doc: 'a test kind re-homed under its collect pattern',
    params: spotParams,
    defaults: defaultsOf(spotParams),
    validate: () => [],
    init: () => ({ watch: () => of(undefined), checkApply: async () => true }),
    collect: {
      allowances: ['exec'],
      privileges: (p) => (p.loud ? [{ field: 'loud', allowance: 'exec', reason: 'it would make noise here' }] : []),
      rehome: {
        field: 'where',
        pattern: 'the place collected spots land in',
        patternProblems: (pattern) => (pattern.startsWith('/') ? [] : [`"${pattern}" must be absolute`]),
        place: (p, pattern) => (p.where.includes('!') ? { refused: 'a spot may not shout', field: 'where' } : { params: { ...p, where: `${pattern}/${p.where.split('/').pop()}` } }),
      },
      claim: (p) => ({ what: 'place', key: p.where }),
    },
  };
  const registry = createRegistry([noop, spot]);
  const spotGraph = (collect: string) => `graph: s\nresources:\n  spot:\n  - {name: mine, where: /in/taken}\ncollect:\n- ${collect}\n`;
  const problemsOf = (yaml: string): string[] => parseProblems(yaml, 's.yaml', registry);
  const collectSpots = (collect: string, resources: readonly ExportedResource[]) => {
    const problems: CollectProblem[] = [];
    const base = parseGraph(spotGraph(collect), 's.yaml', registry);
    const result = withCollected(base, resources, registry, (problem) => problems.push(problem));
    return { added: result.resources.slice(base.resources.length), problems: problems.map((p) => [p.from, p.field, p.reason]) };
  };

  it('GIVEN a collect of it without a pattern, or with one its rule refuses THEN errors say so in its own words', () => {
    expect(problemsOf(spotGraph('{kind: spot}'))).toEqual([
      "s.yaml:6:3: collect #1: a `spot` collect needs a `pattern`, the place collected spots land in (or `allow: [anypath]` to write wherever other hosts' exports say)",
    ]);
    expect(problemsOf(spotGraph('{kind: spot, pattern: in}'))).toEqual(['s.yaml:6:25: collect #1 `pattern`: "in" must be absolute']);
  });

  it('GIVEN allowances THEN only those the trait names have an effect; one no kind names says so', () => {
    const spec = parseGraph(spotGraph('{kind: spot, pattern: /in, allow: [exec, setuid]}'), 's.yaml', registry);
    expect(spec.warnings.map(formatDiagnostic)).toEqual(['s.yaml:6:37: collect #1: `allow: [setuid]` has no effect on kind `spot` (it concerns no kind here)']);
  });

  it('GIVEN exports THEN each is re-homed by its rule, refused by it, refused for a privilege, or for taking a claim of this host', () => {
    const { added, problems } = collectSpots('{kind: spot, pattern: /in}', [
      exported('b', 'far', { where: '/elsewhere/far' }, 'spot'),
      exported('b', 'bang', { where: '/x/bang!' }, 'spot'),
      exported('b', 'noisy', { loud: true }, 'spot'),
      exported('b', 'thief', { where: '/x/taken' }, 'spot'),
    ]);
    expect(added.map((r) => [r.name, r.params.where])).toEqual([['far', '/in/far']]);
    expect(problems).toEqual([
      ['b:spot[bang]', 'where', 'a spot may not shout'],
      ['b:spot[noisy]', 'loud', '`loud` refused: it would make noise here (the collect entry may `allow: [exec]`)'],
      ['b:spot[thief]', undefined, 'its place "/in/taken" is already managed by spot[mine]'],
    ]);
  });

  it('GIVEN two exports claiming one place differently THEN both are refused, each naming the other', () => {
    const { added, problems } = collectSpots('{kind: spot, pattern: /in, allow: [exec]}', [
      exported('b', 'one', { where: '/b/same' }, 'spot'),
      exported('c', 'two', { where: '/c/same', loud: true }, 'spot'),
    ]);
    expect(added).toEqual([]);
    expect(problems.map(([from, , reason]) => [from, reason])).toEqual([
      ['b:spot[one]', 'the place "/in/same" is also exported differently as c:spot[two]: none of them is collected'],
      ['c:spot[two]', 'the place "/in/same" is also exported differently as b:spot[one]: none of them is collected'],
    ]);
  });
});
