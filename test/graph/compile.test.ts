import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { formatDiagnostic, InputError, type Diagnostic } from '../../src/errors.js';
import { canonicalKey } from '../../src/graph/canonical.js';
import { compileGraph, type CompileOptions } from '../../src/graph/compile.js';
import { DEFAULT_META, type GraphSpec } from '../../src/graph/spec.js';
import { parseGraph } from '../../src/yamlgraph/parse.js';
import { file } from '../../src/resources/file.js';
import { defaultRegistry } from '../../src/resources/index.js';
import { testRegistry } from '../yamlgraph/test-kinds.js';

/** graphYaml builds a graph of noop resources and `from -> to` edges named e1, e2, ... */
function graphYaml(names: readonly string[], edges: readonly (readonly [string, string, boolean?])[] = []): string {
  const lines = ['graph: g', 'resources:', '  noop:', ...names.map((n) => `  - name: ${JSON.stringify(n)}`), 'edges:'];
  edges.forEach(([from, to, notify], i) => {
    lines.push(`- name: e${i + 1}`, `  from: {kind: noop, name: ${from}}`, `  to: {kind: noop, name: ${to}}`);
    if (notify) lines.push('  notify: true');
  });
  return `${lines.join('\n')}\n`;
}

// These tests are about resolving, sorting and keying single resources: grouping (tested in
// compile-stages and autogroup tests) is off unless a test turns it on.
function compile(text: string, options: CompileOptions = {}) {
  return compileGraph(parseGraph(text, 'g.yaml', testRegistry), testRegistry, { noAutogroup: true, ...options });
}

function compileProblems(text: string, options: CompileOptions = {}): string[] {
  try {
    compile(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).diagnostics.map(formatDiagnostic);
  }
  throw new Error('expected the graph not to compile');
}

describe('compileGraph', () => {
  it('GIVEN resources and edges WHEN compiled THEN vertices are in topological order, ties by id', () => {
    const graph = compile(graphYaml(['d', 'c', 'b', 'a', 'z'], [['z', 'a'], ['b', 'c'], ['c', 'd']]));
    expect([...graph.vertices.keys()]).toEqual(['noop[b]', 'noop[c]', 'noop[d]', 'noop[z]', 'noop[a]']);
  });

  it('GIVEN edges WHEN compiled THEN they are sorted by (from, to) and indexed both ways', () => {
    const graph = compile(graphYaml(['a', 'b', 'c'], [['b', 'c'], ['a', 'c', true], ['a', 'b']]));
    expect(graph.edges).toEqual([
      { from: 'noop[a]', to: 'noop[b]', name: 'e3', notify: false },
      { from: 'noop[a]', to: 'noop[c]', name: 'e2', notify: true },
      { from: 'noop[b]', to: 'noop[c]', name: 'e1', notify: false },
    ]);
    expect(graph.outgoing.get('noop[a]')!.map((e) => e.to)).toEqual(['noop[b]', 'noop[c]']);
    expect(graph.incoming.get('noop[c]')!.map((e) => e.from)).toEqual(['noop[a]', 'noop[b]']);
    expect(graph.incoming.get('noop[a]')).toEqual([]);
    expect(graph.outgoing.get('noop[c]')).toEqual([]);
  });

  it('GIVEN a resource WHEN compiled THEN its vertex is its only member and carries def, key and position', () => {
    const graph = compile('graph: g\nresources:\n  thing:\n  - name: /a\n    count: 2\n');
    const vertex = graph.vertices.get('thing[/a]')!;
    expect(vertex.def.kind).toBe('thing');
    expect(vertex.pos).toEqual({ file: 'g.yaml', line: 4, column: 5 });
    expect(vertex.members).toEqual([
      { id: 'thing[/a]', kind: 'thing', name: '/a', params: vertex.params, meta: DEFAULT_META, pos: vertex.pos },
    ]);
    expect(vertex.key).toBe(canonicalKey('thing', '/a', vertex.params, vertex.meta, ['thing[/a]']));
  });

  it('GIVEN the same resources written in another order and place WHEN compiled THEN the keys are the same', () => {
    const a = compile('graph: g\nresources:\n  thing:\n  - name: /a\n    count: 2\n    size: 1\n  noop:\n  - name: n\n');
    const b = compile('graph: other\ncomment: moved\nresources:\n  noop:\n  - name: n\n  thing:\n  - name: /a\n    size: 1\n    count: 2\n');
    expect([...b.vertices.values()].map((v) => v.key)).toEqual([...a.vertices.values()].map((v) => v.key));
    const changed = compile('graph: g\nresources:\n  thing:\n  - name: /a\n    count: 3\n    size: 1\n');
    expect(changed.vertices.get('thing[/a]')!.key).not.toBe(a.vertices.get('thing[/a]')!.key);
  });

  it('GIVEN exported resources WHEN compiled THEN they are not local vertices', () => {
    const graph = compile(graphYaml(['@@shared', 'local']));
    expect([...graph.vertices.keys()]).toEqual(['noop[local]']);
  });

  it('GIVEN edges to resources that are not there WHEN compiled THEN each end is named with the edge position', () => {
    expect(compileProblems(graphYaml(['a', '@@shared'], [['n9', 'a'], ['a', 'n8'], ['a', 'shared']]))).toEqual([
      "g.yaml:7:3: edge e1: can't find 'from' resource noop[n9]",
      "g.yaml:10:3: edge e2: can't find 'to' resource noop[n8]",
      "g.yaml:13:3: edge e3: can't find 'to' resource noop[shared] (it is exported with `@@`, so it is not applied on this host)",
    ]);
  });

  it('GIVEN an edge kind in capitals WHEN compiled THEN it is matched lowercased, as upstream does', () => {
    const graph = compile('graph: g\nresources:\n  noop:\n  - name: a\n  - name: b\nedges:\n- name: e1\n  from: {kind: Noop, name: a}\n  to: {kind: NOOP, name: b}\n');
    expect(graph.edges.map((e) => [e.from, e.to])).toEqual([['noop[a]', 'noop[b]']]);
  });

  it('GIVEN two edges between the same pair WHEN compiled THEN the later one replaces the earlier, with a warning', () => {
    const warnings: Diagnostic[] = [];
    const graph = compile(graphYaml(['a', 'b'], [['a', 'b', true], ['a', 'b']]), { onWarning: (w) => warnings.push(w) });
    expect(graph.edges).toEqual([{ from: 'noop[a]', to: 'noop[b]', name: 'e2', notify: false }]);
    expect(warnings.map(formatDiagnostic)).toEqual([
      'g.yaml:11:3: edge e2 replaces edge e1 from noop[a] to noop[b]: a pair of resources holds one edge',
    ]);
  });

  it('GIVEN strict mode WHEN an edge is replaced THEN it is an error', () => {
    expect(compileProblems(graphYaml(['a', 'b'], [['a', 'b'], ['a', 'b']]), { strict: true })).toEqual([
      'g.yaml:10:3: edge e2 replaces edge e1 from noop[a] to noop[b]: a pair of resources holds one edge',
    ]);
  });

  it('GIVEN a cycle WHEN compiled THEN it is reported as a readable path at an edge on it', () => {
    expect(compileProblems(graphYaml(['a', 'b', 'c', 'd'], [['d', 'a'], ['c', 'a'], ['b', 'c'], ['a', 'b']]))).toEqual([
      'g.yaml:18:3: dependency cycle: noop[a] => noop[b] => noop[c] => noop[a]',
    ]);
  });

  it('GIVEN a self-loop and a separate cycle WHEN compiled THEN both are reported', () => {
    expect(compileProblems(graphYaml(['a', 'x', 'y'], [['a', 'a'], ['x', 'y'], ['y', 'x']]))).toEqual([
      'g.yaml:8:3: dependency cycle: noop[a] => noop[a]',
      'g.yaml:11:3: dependency cycle: noop[x] => noop[y] => noop[x]',
    ]);
  });

  it('GIVEN a missing edge end and a cycle WHEN compiled THEN both are reported at once', () => {
    expect(compileProblems(graphYaml(['a', 'b'], [['a', 'b'], ['b', 'a'], ['a', 'ghost']]))).toHaveLength(2);
  });

  it('GIVEN --noop WHEN compiled THEN every vertex is in noop mode and its key differs', () => {
    const text = graphYaml(['a', 'b']);
    const plain = compile(text);
    const noop = compile(text, { noop: true });
    expect([...noop.vertices.values()].map((v) => [v.meta.noop, v.members[0]!.meta.noop])).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(noop.vertices.get('noop[a]')!.key).not.toBe(plain.vertices.get('noop[a]')!.key);
  });

  it('GIVEN --sema N WHEN compiled THEN every resource also takes the semaphore `:N`', () => {
    const text = "graph: g\nresources:\n  noop:\n  - name: a\n    meta: {sema: ['lock:2']}\n  - name: b\n";
    const graph = compile(text, { sema: 3 });
    expect([...graph.vertices.values()].map((v) => v.meta.sema)).toEqual([['lock:2', ':3'], [':3']]);
    expect(compile(text, { sema: 0 }).vertices.get('noop[b]')!.meta).toBe(DEFAULT_META);
    expect(compile(text, { sema: -1 }).vertices.get('noop[b]')!.meta.sema).toEqual([]);
  });

  it('GIVEN timing options WHEN compiled THEN parse time is recorded and the later stages measured', () => {
    const graph = compile(graphYaml(['a']), { parseMs: 12.5, noAutoedges: true, noAutogroup: true });
    expect(graph.timings.parse).toBe(12.5);
    expect(graph.timings.autoedges).toBe(0);
    expect(graph.timings.autogroup).toBe(0);
    expect(graph.timings.toposort).toBeGreaterThanOrEqual(0);
    expect(graph.name).toBe('g');
  });

  it('GIVEN a spec from another frontend with conflicting duplicates or unknown kinds WHEN compiled THEN those are errors', () => {
    const resource = { kind: 'noop', name: 'a', params: { comment: '1' }, meta: DEFAULT_META, exported: false };
    const spec: GraphSpec = {
      name: 'g',
      file: 'world',
      resources: [resource, { ...resource, params: { comment: '2' } }, { ...resource, kind: 'ghost' }],
      edges: [],
      collect: [],
      warnings: [],
    };
    expect(() => compileGraph(spec, testRegistry)).toThrow(
      new InputError([
        { message: 'declared twice with different `comment`; the first declaration is', resource: 'noop[a]' },
        { message: 'unknown resource kind `ghost`', resource: 'ghost[a]' },
      ]),
    );
  });

  it('GIVEN the same resources in id order and shuffled, exported ones among them, WHEN compiled THEN the graphs are the same', () => {
    const resource = (kind: string, name: string, exported = false) => ({ kind, name, params: { comment: name }, meta: DEFAULT_META, exported });
    const ordered = [resource('noop', 'a'), resource('noop', 'b', true), resource('noop', 'c'), resource('thing', '/x')];
    const shuffled = [ordered[3]!, ordered[1]!, ordered[2]!, ordered[0]!];
    const spec = (resources: typeof ordered): GraphSpec => ({ name: 'g', file: 'world', resources, edges: [], collect: [], warnings: [] });
    const [a, b] = [compileGraph(spec(ordered), testRegistry, { noAutogroup: true }), compileGraph(spec(shuffled), testRegistry, { noAutogroup: true })];
    const shape = (graph: ReturnType<typeof compileGraph>) => [...graph.vertices].map(([id, v]) => [id, v.key, v.members.map((m) => m.id)]);
    expect(shape(b)).toEqual(shape(a));
    expect([...a.vertices.keys()]).toEqual(['noop[a]', 'noop[c]', 'thing[/x]']);
    for (const graph of [a, b]) {
      for (const [id, vertex] of graph.vertices) expect([graph.incoming.get(id), graph.outgoing.get(id), vertex.members[0]!.id]).toEqual([[], [], id]);
    }
  });

  it('GIVEN unknown kinds among resources in id order and out of it WHEN compiled THEN each is reported once, in declaration order', () => {
    const resource = (kind: string, name: string) => ({ kind, name, params: {}, meta: DEFAULT_META, exported: false });
    const spec = (resources: ReturnType<typeof resource>[]): GraphSpec => ({ name: 'g', file: 'world', resources, edges: [], collect: [], warnings: [] });
    const problems = (resources: ReturnType<typeof resource>[]) => {
      try {
        compileGraph(spec(resources), testRegistry);
      } catch (err) {
        return (err as InputError).diagnostics.map((d) => d.resource);
      }
      return [];
    };
    expect(problems([resource('ghost', 'a'), resource('noop', 'b'), resource('wraith', 'c')])).toEqual(['ghost[a]', 'wraith[c]']);
    expect(problems([resource('wraith', 'c'), resource('noop', 'b'), resource('ghost', 'a')])).toEqual(['wraith[c]', 'ghost[a]']);
    expect(problems([resource('ghost', 'a'), resource('ghost', 'a')])).toEqual(['ghost[a]']);
  });

  // Its speed is the bench's (chain-growth, autogroup-mixed-10000); the generous timeout only
  // stops a quadratic compile, which takes minutes at this size.
  it('GIVEN 10,000 resources in a chain WHEN compiled THEN every vertex and edge is there, in order', { timeout: 60_000 }, () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `n${i}`);
    const text = graphYaml(names, names.slice(1).map((to, i) => [names[i]!, to] as const));
    const spec = parseGraph(text, 'big.yaml', testRegistry);
    const graph = compileGraph(spec, testRegistry);
    expect([...graph.vertices.keys()].slice(0, 3)).toEqual(['noop[n0]', 'noop[n1]', 'noop[n2]']);
    expect(graph.edges).toHaveLength(9_999);
  });
});

describe('compileGraph: params', () => {
  it('GIVEN params already in schema order THEN the vertex holds them as they are; in another order THEN a copy in schema order', () => {
    const ordered = { ...file.defaults('/srv/a'), content: 'a\n' };
    const shuffled = Object.fromEntries(Object.entries({ ...file.defaults('/srv/b'), content: 'b\n' }).reverse());
    const resource = (name: string, params: Record<string, unknown>) => ({ kind: 'file', name, params, meta: DEFAULT_META, exported: false });
    const spec: GraphSpec = { name: 'g', file: 'g.yaml', resources: [resource('/srv/a', ordered), resource('/srv/b', shuffled)], edges: [], collect: [], warnings: [] };
    const graph = compileGraph(spec, defaultRegistry, { noAutoedges: true, noAutogroup: true });
    expect(graph.vertices.get('file[/srv/a]')!.params).toBe(ordered);
    const copied = graph.vertices.get('file[/srv/b]')!.params;
    expect(copied).not.toBe(shuffled);
    expect(Object.keys(copied)).toEqual(Object.keys(file.params));
    expect(copied).toEqual(shuffled);
  });
});

describe('compileGraph: memory', () => {
  it('GIVEN 10,000 file resources WHEN compiled THEN the graph holds under 900 bytes per vertex beyond the spec it was compiled from', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const resources = Array.from({ length: 10_000 }, (_, i) => ({
      kind: 'file',
      name: `f${i}`,
      params: { path: `/srv/files/f${i}`, content: `file ${i} ${'x'.repeat(80)}\n`, state: 'exists' },
      meta: DEFAULT_META,
      exported: false,
    }));
    const spec: GraphSpec = { name: 'g', file: 'g.yaml', resources, edges: [], collect: [], warnings: [] };
    gc();
    const before = process.memoryUsage().heapUsed;
    const graph = compileGraph(spec, defaultRegistry, { noAutoedges: true, noAutogroup: true });
    gc();
    const perVertex = (process.memoryUsage().heapUsed - before) / graph.vertices.size;
    // Measured 450 bytes; a vertex built as an object literal with a getter (a dictionary-mode
    // object, with a closure and an eager params fingerprint) took 1,350.
    expect(perVertex).toBeLessThan(900);
    // THEN vertices without edges share one empty list each way (their own lists were 515 bytes a vertex in all)
    expect(new Set(graph.incoming.values()).size).toBe(1);
    expect(new Set(graph.outgoing.values()).size).toBe(1);
    expect(graph.incoming.get('file[f0]')).toEqual([]);
  });
});
