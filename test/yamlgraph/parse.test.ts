import { describe, expect, it } from 'vitest';
import { formatDiagnostic, InputError } from '../../src/errors.js';
import { DEFAULT_META } from '../../src/graph/spec.js';
import { loadGraphFile, parseGraph } from '../../src/yamlgraph/parse.js';
import { useTempDirs } from '../helpers/tmp.js';
import { testRegistry, writeYaml } from './test-kinds.js';

const FILE = 'g.yaml';

/** parse parses text as g.yaml with the test registry. */
function parse(text: string, strict = false) {
  return parseGraph(text, FILE, testRegistry, { strict });
}

/** problems parses text that must be invalid and returns each diagnostic formatted. */
function problems(text: string, strict = false): string[] {
  try {
    parse(text, strict);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    return (err as InputError).diagnostics.map(formatDiagnostic);
  }
  throw new Error('expected the graph to be rejected');
}

/** warnings parses text that must be valid and returns its warnings formatted. */
function warnings(text: string): string[] {
  return parse(text).warnings.map(formatDiagnostic);
}

describe('parseGraph on a valid graph', () => {
  it('GIVEN every top-level key WHEN parsed THEN the spec holds them with positions', () => {
    const spec = parse(
      [
        'graph: mygraph', // 1
        'comment: a comment', // 2
        'resources:', // 3
        '  noop:', // 4
        '  - name: n1', // 5
        '  thing:', // 6
        '  - name: /tmp/a', // 7
        '    count: 3', // 8
        'edges:', // 9
        '- name: e1', // 10
        '  from: {kind: NOOP, name: n1}', // 11
        '  to: {kind: thing, name: /tmp/a}', // 12
        '  notify: true', // 13
        'collect:', // 14
        '- kind: Thing', // 15
        '  pattern: /srv/', // 16
        '',
      ].join('\n'),
    );
    expect(spec.name).toBe('mygraph');
    expect(spec.comment).toBe('a comment');
    expect(spec.file).toBe(FILE);
    expect(spec.warnings).toEqual([]);
    expect(spec.resources.map((r) => [r.kind, r.name, r.pos?.line, r.pos?.column])).toEqual([
      ['noop', 'n1', 5, 5],
      ['thing', '/tmp/a', 7, 5],
    ]);
    expect(spec.edges).toEqual([
      {
        name: 'e1',
        from: { kind: 'noop', name: 'n1' },
        to: { kind: 'thing', name: '/tmp/a' },
        notify: true,
        pos: { file: FILE, line: 10, column: 3 },
      },
    ]);
    expect(spec.collect).toEqual([{ kind: 'thing', pattern: '/srv/', allow: [], pos: { file: FILE, line: 15, column: 3 } }]);
  });

  it('GIVEN a partial resource WHEN parsed THEN its params are merged over the kind defaults', () => {
    const spec = parse('graph: g\nresources:\n  thing:\n  - name: /a\n    size: 7\n');
    expect(spec.resources[0]!.params).toEqual({ path: '/a', mode: '', count: 0, size: 7, ratio: 1, enabled: true, tags: [], labels: {} });
    expect(spec.resources[0]!.meta).toBe(DEFAULT_META);
  });

  it('GIVEN scalars of every type WHEN read as params THEN strings keep their source text', () => {
    const spec = parse(
      [
        'graph: g',
        'resources:',
        '  thing:',
        '  - name: /a',
        '    mode: 0644', // YAML 1.1 reads this as the octal int 420; a string param keeps "0644"
        '    count: -12',
        '    size: 0x10',
        '    ratio: .inf',
        '    enabled: no', // YAML 1.1 boolean, as in upstream's yaml.v2
        '    tags: [a, 2, true]',
        '    labels: {x: 1, y: "two"}',
        '',
      ].join('\n'),
    );
    expect(spec.resources[0]!.params).toEqual({
      path: '/a',
      mode: '0644',
      count: -12,
      size: 16,
      ratio: Number.POSITIVE_INFINITY,
      enabled: false,
      tags: ['a', '2', 'true'],
      labels: { x: '1', y: 'two' },
    });
  });

  it('GIVEN a param set to null WHEN parsed THEN the default stays', () => {
    const spec = parse('graph: g\nresources:\n  thing:\n  - name: /a\n    mode:\n    tags: ~\n');
    expect(spec.resources[0]!.params).toMatchObject({ mode: '', tags: [], path: '/a' });
    // An explicit empty string is a value, not a null: it replaces the default.
    expect(problems("graph: g\nresources:\n  thing:\n  - name: /a\n    path: ''\n")).toEqual([
      'g.yaml:5:11: thing[/a]: `path`: must be absolute, got ""',
    ]);
  });

  it('GIVEN an invalid parameter merged from an anchor WHEN parsed THEN each resource that keeps it reports it where the value is written', () => {
    expect(problems("graph: g\nresources:\n  thing:\n  - &b\n    name: /a\n    path: ''\n  - <<: *b\n    name: /b\n  - <<: *b\n    name: /c\n    path: ~\n")).toEqual([
      'g.yaml:6:11: thing[/a]: `path`: must be absolute, got ""',
      'g.yaml:6:11: thing[/b]: `path`: must be absolute, got ""',
    ]);
  });

  it('GIVEN a name starting with @@ WHEN parsed THEN the resource is exported under the plain name', () => {
    const spec = parse('graph: g\nresources:\n  noop:\n  - name: "@@shared"\n  - name: local\n');
    expect(spec.resources.map((r) => [r.name, r.exported])).toEqual([
      ['shared', true],
      ['local', false],
    ]);
  });

  it('GIVEN the same resource declared twice identically WHEN parsed THEN it collapses silently', () => {
    const spec = parse('graph: g\nresources:\n  thing:\n  - name: /a\n    count: 1\n  - name: /a\n    count: 1\n');
    expect(spec.resources).toHaveLength(1);
    expect(spec.warnings).toEqual([]);
  });

  it('GIVEN anchors, aliases and merge keys WHEN parsed THEN they are expanded as YAML 1.1 says', () => {
    const spec = parse(
      [
        'graph: g',
        'resources:',
        '  thing:',
        '  - &base',
        '    name: /a',
        '    count: 5',
        '    meta: &meta {noop: true}',
        '  - <<: *base',
        '    name: /b',
        '    meta: *meta',
        '',
      ].join('\n'),
    );
    expect(spec.resources.map((r) => [r.name, r.params.count, r.meta.noop])).toEqual([
      ['/a', 5, true],
      ['/b', 5, true],
    ]);
  });

  it('GIVEN bare or empty edges and no resources WHEN parsed THEN the graph is empty but valid', () => {
    for (const text of ['graph: g\nedges:\n', 'graph: g\nedges: []\nresources:\n', 'graph: g\nresources:\n  noop:\n']) {
      const spec = parse(text);
      expect(spec.resources).toEqual([]);
      expect(spec.edges).toEqual([]);
    }
  });
});

describe('parseGraph warnings', () => {
  it('GIVEN unknown resource keys WHEN parsed THEN each is a warning with its position and resource', () => {
    expect(warnings('graph: g\nresources:\n  thing:\n  - name: /a\n    cuont: 3\n    pollint: 0\n')).toEqual([
      'g.yaml:5:5: thing[/a]: unknown parameter `cuont` for kind `thing`; did you mean `count`?',
      'g.yaml:6:5: thing[/a]: unknown parameter `pollint` for kind `thing`',
    ]);
  });

  it('GIVEN a deprecated parameter WHEN parsed THEN it warns that it has no effect and is not type-checked', () => {
    const spec = parse('graph: g\nresources:\n  thing:\n  - name: /a\n    old: not-a-number\n');
    expect(spec.warnings.map(formatDiagnostic)).toEqual([
      'g.yaml:5:5: thing[/a]: parameter `old` has no effect: it was removed; nothing replaces it',
    ]);
    expect(spec.resources[0]!.params).not.toHaveProperty('old');
  });

  it('GIVEN remote and an unknown top-level key WHEN parsed THEN both warn', () => {
    expect(warnings('graph: g\nremote: ssh://root@h:22\nedgse: []\n')).toEqual([
      "g.yaml:2:1: `remote` (upstream's old SSH mode) is not supported and is ignored",
      'g.yaml:3:1: unknown top-level key `edgse`; did you mean `edges`?',
    ]);
  });

  it('GIVEN unknown keys in an edge and a collect entry WHEN parsed THEN they warn', () => {
    const text = [
      'graph: g',
      'resources:',
      '  noop:',
      '  - name: a',
      '  - name: b',
      'edges:',
      '- name: e1',
      '  from: {kind: noop, name: a, extra: 1}',
      '  to: {kind: noop, name: b}',
      '  notfy: true',
      'collect:',
      '- kind: noop',
      '  patern: x',
      '',
    ].join('\n');
    expect(warnings(text)).toEqual([
      'g.yaml:8:31: edge e1: `from`: unknown key `extra`',
      'g.yaml:10:3: edge e1: unknown key `notfy`; did you mean `notify`?',
      'g.yaml:13:3: collect #1: unknown key `patern`; did you mean `pattern`?',
    ]);
  });

  it('GIVEN strict mode WHEN the graph has ignored keys THEN they are errors', () => {
    expect(problems('graph: g\nremote: x\nresources:\n  thing:\n  - name: /a\n    junk: 1\n', true)).toEqual([
      "g.yaml:2:1: `remote` (upstream's old SSH mode) is not supported and is ignored",
      'g.yaml:6:5: thing[/a]: unknown parameter `junk` for kind `thing`',
    ]);
  });
});

describe('parseGraph errors', () => {
  it('GIVEN no graph name WHEN parsed THEN it says the name is missing', () => {
    expect(problems('resources:\n  noop:\n  - name: a\n')).toEqual([
      'g.yaml:1:1: missing `graph`: every graph needs a name (`graph: NAME`)',
    ]);
    expect(problems('graph: ""\n')).toEqual(['g.yaml:1:8: the graph name `graph` is empty']);
    expect(problems('graph: [a]\n')).toEqual(['g.yaml:1:8: the graph name `graph`: expected a string, got a list']);
  });

  it('GIVEN an unknown kind WHEN parsed THEN it names the kind and lists the known kinds', () => {
    expect(problems('graph: g\nresources:\n  thnig:\n  - name: a\n')).toEqual([
      'g.yaml:3:3: unknown resource kind `thnig` (known kinds: noop, thing); did you mean `thing`?',
    ]);
  });

  it('GIVEN an upstream kind this version lacks WHEN parsed THEN it says it is not supported', () => {
    expect(problems('graph: g\nresources:\n  aws:ec2:\n  - name: a\n  virt:\n  - name: b\n')).toEqual([
      'g.yaml:3:3: resource kind `aws:ec2` is not supported by this version (supported: noop, thing)',
      'g.yaml:5:3: resource kind `virt` is not supported by this version (supported: noop, thing)',
    ]);
  });

  it('GIVEN values of the wrong type WHEN parsed THEN each is quoted with its type at its position', () => {
    const text = [
      'graph: g',
      'resources:',
      '  thing:',
      '  - name: /a',
      '    count: abc',
      '    size: -1',
      '    ratio: "1.5"',
      '    enabled: 1',
      '    tags: a, b',
      '    labels: [x]',
      '    mode: {a: 1}',
      '    path: [/x]',
      '  - name: /b',
      '    count: 1.5',
      '    tags: [[a]]',
      '    labels: {a: [1]}',
      '',
    ].join('\n');
    expect(problems(text)).toEqual([
      'g.yaml:5:12: thing[/a]: `count`: expected an integer, got "abc" (a string)',
      'g.yaml:6:11: thing[/a]: `size`: expected a whole number >= 0, got -1 (a number)',
      'g.yaml:7:12: thing[/a]: `ratio`: expected a number (or .inf), got "1.5" (a string)',
      'g.yaml:8:14: thing[/a]: `enabled`: expected true or false, got 1 (a number)',
      'g.yaml:9:11: thing[/a]: `tags`: expected a list of strings, got "a, b" (a string)',
      'g.yaml:10:13: thing[/a]: `labels`: expected a map of strings, got a list',
      'g.yaml:11:11: thing[/a]: `mode`: expected a string, got a map',
      'g.yaml:12:11: thing[/a]: `path`: expected a string, got a list',
      'g.yaml:14:12: thing[/b]: `count`: expected an integer, got 1.5 (a number)',
      'g.yaml:15:11: thing[/b]: `tags`: expected a list of strings, but an item is a list',
      'g.yaml:16:13: thing[/b]: `labels`: expected a map of strings, but key "a" holds a list',
    ]);
  });

  it('GIVEN params the kind rejects WHEN parsed THEN each reason is at the line of its param', () => {
    expect(problems('graph: g\nresources:\n  thing:\n  - name: rel\n    mode: "999"\n  - name: /ok\n    path: also-rel\n')).toEqual([
      'g.yaml:4:5: thing[rel]: `path`: must be absolute, got "rel"',
      'g.yaml:5:11: thing[rel]: `mode`: must be octal digits',
      'g.yaml:7:11: thing[/ok]: `path`: must be absolute, got "also-rel"',
    ]);
  });

  it('GIVEN a name with a NUL and a newline WHEN parsed THEN the error is at the name, on one line, the name escaped', () => {
    expect(problems('graph: g\nresources:\n  thing:\n  - name: "/a\\n\\0b"\n    mode: "0644"\n')).toEqual([
      'g.yaml:4:11: thing[/a\\n\\u0000b]: `name`: the name "/a\\n\\u0000b" contains a NUL byte, which no path, name or command can hold',
    ]);
  });

  it('GIVEN missing or empty names WHEN parsed THEN each is an error', () => {
    const text = 'graph: g\nresources:\n  noop:\n  - comment: x\n  - name: ""\n  - name:\n  - name: "@@"\n  - just a string\n';
    expect(problems(text)).toEqual([
      'g.yaml:4:5: a `noop` resource has no `name`',
      'g.yaml:5:11: the `name` of a `noop` resource is empty',
      'g.yaml:6:10: the `name` of a `noop` resource is empty',
      'g.yaml:7:11: the name of a `noop` resource is only `@@`: an exported resource still needs a name',
      'g.yaml:8:5: a `noop` resource must be a map with a `name` and parameters, got "just a string" (a string)',
    ]);
  });

  it('GIVEN one resource declared twice with different params WHEN parsed THEN the error points at both lines', () => {
    const text = 'graph: g\nresources:\n  thing:\n  - name: /a\n    count: 1\n  - name: /b\n  - name: /a\n    count: 2\n    meta: {noop: true}\n';
    expect(problems(text)).toEqual([
      'g.yaml:7:5: thing[/a]: declared twice with different `count`, `meta`; the first declaration is at g.yaml:4:5',
    ]);
  });

  it('GIVEN resources that are not a map of lists WHEN parsed THEN the shape is explained', () => {
    expect(problems('graph: g\nresources: [a]\n')).toEqual([
      'g.yaml:2:12: `resources` must be a map from resource kind to a list of resources, got a list',
    ]);
    expect(problems('graph: g\nresources:\n  noop: {name: a}\n')).toEqual([
      'g.yaml:3:9: `resources.noop` must be a list of noop resources, got a map',
    ]);
  });

  it('GIVEN malformed edges WHEN parsed THEN every problem is named with the edge', () => {
    const text = [
      'graph: g',
      'edges:',
      '- name: e1',
      '  to: {kind: noop, name: b}',
      '- name: e2',
      '  from: noop[a]',
      '  to: {name: b}',
      '  notify: maybe',
      '- just text',
      '',
    ].join('\n');
    expect(problems(text)).toEqual([
      'g.yaml:3:3: edge e1: missing `from` (write `from: {kind: KIND, name: NAME}`)',
      'g.yaml:6:9: edge e2: `from` must be a map `{kind: KIND, name: NAME}`, got "noop[a]" (a string)',
      'g.yaml:7:7: edge e2: `to` has no `kind`',
      'g.yaml:8:11: edge e2: `notify`: expected true or false, got "maybe" (a string)',
      'g.yaml:9:3: edge #3 must be a map with `name`, `from` and `to`, got "just text" (a string)',
    ]);
    expect(problems('graph: g\nedges: {a: 1}\n')).toEqual(['g.yaml:2:8: `edges` must be a list of edges, got a map']);
  });

  it.each([
    ["- name: e1\n  from: {kind: '', name: a}\n  to: {kind: noop, name: b}", 'g.yaml:4:16: edge e1: `from` `kind` is empty'],
    ['- name: e1\n  from: {kind: noop, name: [a]}\n  to: {kind: noop, name: b}', 'g.yaml:4:28: edge e1: `from` `name`: expected a string, got a list'],
    ["- from: {kind: noop, name: ''}\n  to: {kind: noop, name: b}", 'g.yaml:3:28: edge #1: `from` `name` is empty'],
    ['- from: {kind: noop, name: a}\n  to: {kind: [x], name: b}', 'g.yaml:4:14: edge #1: `to` `kind`: expected a string, got a list'],
  ])('GIVEN an edge end with an empty or non-string kind or name (%#) WHEN parsed THEN it is reported under its edge and end', (edge, problem) => {
    expect(problems(`graph: g\nedges:\n${edge}\n`)).toEqual([problem]);
  });

  it('GIVEN a collect entry for an unknown kind or without one WHEN parsed THEN both are errors', () => {
    expect(problems('graph: g\ncollect:\n- kind: virt\n- pattern: /x\n')).toEqual([
      'g.yaml:3:9: resource kind `virt` is not supported by this version (supported: noop, thing)',
      'g.yaml:4:3: collect #2 has no `kind`',
    ]);
  });

  it('GIVEN a top level that is not a map WHEN parsed THEN it says what it got', () => {
    expect(problems('- graph: g\n')).toEqual([
      'g.yaml:1:1: the top level must be a map with `graph`, `resources` and `edges`, got a list',
    ]);
    expect(problems('just words\n')).toEqual([
      'g.yaml:1:1: the top level must be a map with `graph`, `resources` and `edges`, got "just words" (a string)',
    ]);
    expect(problems('')).toEqual(['g.yaml:1:1: the file is empty: a graph needs at least `graph: NAME`']);
    expect(problems('# only a comment\n---\n')).toEqual(['g.yaml:2:4: the file is empty: a graph needs at least `graph: NAME`']);
  });

  it('GIVEN several YAML documents WHEN parsed THEN it refuses them at the second', () => {
    expect(problems('graph: a\n---\ngraph: b\n')).toEqual([
      'g.yaml:2:1: the file holds 2 YAML documents; a graph file holds exactly one',
    ]);
  });

  it('GIVEN YAML syntax errors WHEN parsed THEN each is reported with its position', () => {
    expect(problems('graph: g\nresources:\n  noop:\n  - name: a\n   bad: indent\n')).toEqual([
      expect.stringMatching(/^g\.yaml:5:\d+: invalid YAML: /),
    ]);
    expect(problems('graph: g\ngraph: h\n')).toEqual(['g.yaml:2:1: invalid YAML: Map keys must be unique']);
    expect(problems('graph: g\nedges: [\n')[0]).toMatch(/^g\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('GIVEN alias, merge and key mistakes WHEN parsed THEN each is reported where it is', () => {
    expect(problems('graph: g\nresources:\n  noop:\n  - name: *nope\n')[0]).toBe(
      'g.yaml:4:11: unknown alias `*nope`: its anchor `&nope` must come before it',
    );
    expect(problems('graph: g\nresources:\n  noop:\n  - <<: 5\n    name: a\n')).toEqual(['g.yaml:4:9: a merge key `<<` takes a map or a list of maps']);
    expect(problems('graph: g\n? [a]\n: b\n')).toEqual(['g.yaml:2:3: a map key must be a plain string, not a list or a map']);
  });

  it('GIVEN a tag the YAML schema does not know WHEN parsed THEN it is a warning', () => {
    expect(warnings('graph: !custom g\n')).toEqual(['g.yaml:1:8: YAML: Unresolved tag: !custom']);
  });

  it('GIVEN many different problems WHEN parsed THEN all of them are reported at once', () => {
    const text = [
      'resources:',
      '  nope:',
      '  - name: a',
      '  thing:',
      '  - name: rel',
      '    count: x',
      '  - name: /b',
      '    meta: {retry: -2}',
      'edges: 3',
      '',
    ].join('\n');
    const found = problems(text);
    expect(found).toHaveLength(5);
    expect(found.join('\n')).toContain('missing `graph`');
  });
});

describe('loadGraphFile', () => {
  const tempDir = useTempDirs();

  it('GIVEN a graph file on disk WHEN loaded THEN positions name that file', async () => {
    const path = await writeYaml(await tempDir(), 'graph.yaml', 'graph: g\nresources:\n  noop:\n  - name: a\n');
    const spec = await loadGraphFile(path, testRegistry);
    expect(spec.file).toBe(path);
    expect(spec.resources[0]!.pos).toEqual({ file: path, line: 4, column: 5 });
  });

  it('GIVEN a file with a BOM and CRLF line ends WHEN loaded THEN it parses like any other', async () => {
    const path = await writeYaml(await tempDir(), 'win.yaml', '\uFEFFgraph: g\r\nresources:\r\n  noop:\r\n  - name: a\r\n');
    const spec = await loadGraphFile(path, testRegistry);
    expect(spec.resources.map((r) => r.name)).toEqual(['a']);
  });

  it('GIVEN a path that does not exist WHEN loaded THEN the InputError names the path', async () => {
    const path = `${await tempDir()}/missing.yaml`;
    await expect(loadGraphFile(path, testRegistry)).rejects.toThrow(new InputError({ message: `cannot read graph file ${path}: no such file` }));
  });

  it('GIVEN a directory WHEN loaded THEN it says so', async () => {
    const dir = await tempDir();
    await expect(loadGraphFile(dir, testRegistry)).rejects.toThrow(`cannot read graph file ${dir}: it is a directory`);
  });
});
