import { describe, expect, it } from 'vitest';
import { loadGraph } from '../../src/frontend/yaml-load.js';
import { formatDiagnostic, InputError, type Diagnostic } from '../../src/errors.js';
import { compileGraph } from '../../src/graph/compile.js';
import type { Graph } from '../../src/graph/graph.js';
import { parseGraph } from '../../src/yamlgraph/parse.js';
import { useTempDirs } from '../helpers/tmp.js';
import { testRegistry, writeYaml } from '../yamlgraph/test-kinds.js';

// These test src/frontend/yaml-load.ts, the one caller that compiles fast-path specs: they live with
// the YAML frontend's tests because they are about how the fast path falls back.

/** graphYaml writes a graph of noop resources and edges `[from, to]`, one edge per entry, named e1, e2... */
function graphYaml(names: string[], edges: [string, string][] = []): string {
  const lines = ['graph: g', 'resources:', '  noop:', ...names.map((n) => `  - name: ${n}`)];
  if (edges.length > 0) lines.push('edges:');
  edges.forEach(([from, to], i) => lines.push(`- name: e${i + 1}`, `  from: {kind: noop, name: ${from}}`, `  to: {kind: noop, name: ${to}}`));
  return `${lines.join('\n')}\n`;
}

/** exactly compiles text on the exact path, as loadGraph did before the fast path: the reference. */
function exactly(text: string, path: string, strict = false): { graph: Graph; warnings: string[] } | { error: string } {
  const warnings: Diagnostic[] = [];
  try {
    const spec = parseGraph(text, path, testRegistry, { strict });
    warnings.push(...spec.warnings);
    const graph = compileGraph(spec, testRegistry, { strict, onWarning: (w) => warnings.push(w) });
    return { graph, warnings: warnings.map(formatDiagnostic) };
  } catch (err) {
    return { error: (err as InputError).message };
  }
}

/** vertexView is what the engine uses of a vertex: everything but its position. */
function vertexView(graph: Graph) {
  return [...graph.vertices.values()].map((v) => ({ id: v.id, params: v.params, meta: v.meta, key: v.key, members: v.members.map((m) => m.id) }));
}

describe('loadGraph with the fast path', () => {
  const tempDir = useTempDirs();

  it('GIVEN a clean graph WHEN loaded THEN it takes the fast path and compiles to the exact graph', async () => {
    const text = graphYaml(['a', 'b', 'c'], [['a', 'b'], ['b', 'c']]);
    const path = await writeYaml(await tempDir(), 'g.yaml', text);
    const loaded = await loadGraph(path, { registry: testRegistry });
    const reference = exactly(text, path);
    if (!('graph' in reference)) throw new Error(reference.error);
    expect(loaded.parsePath).toBe('fast');
    expect(loaded.warnings).toEqual([]);
    expect(vertexView(loaded.graph)).toEqual(vertexView(reference.graph));
    expect(loaded.graph.edges).toEqual(reference.graph.edges);
  });

  it.each([
    ['an edge to a resource that is not there', graphYaml(['a'], [['a', 'nope']]), false],
    ['a dependency cycle', graphYaml(['a', 'b'], [['a', 'b'], ['b', 'a']]), false],
    ['a replaced edge in strict mode', graphYaml(['a', 'b'], [['a', 'b'], ['a', 'b']]), true],
  ])('GIVEN %s WHEN loaded THEN the compile error names its line, as the exact path does', async (_what, text, strict) => {
    const path = await writeYaml(await tempDir(), 'g.yaml', text);
    const reference = exactly(text, path, strict);
    expect(reference).toHaveProperty('error', expect.stringMatching(/g\.yaml:\d+:\d+: /));
    const error = await loadGraph(path, { registry: testRegistry, strict }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toBe((reference as { error: string }).error);
  });

  it('GIVEN a replaced edge WHEN loaded THEN the compile warning names its line, read on the exact path', async () => {
    const text = graphYaml(['a', 'b'], [['a', 'b'], ['a', 'b']]);
    const path = await writeYaml(await tempDir(), 'g.yaml', text);
    const loaded = await loadGraph(path, { registry: testRegistry });
    expect(loaded.parsePath).toBe('exact');
    expect(loaded.warnings).toEqual([`${path}:10:3: edge e2 replaces edge e1 from noop[a] to noop[b]: a pair of resources holds one edge`]);
    expect(loaded.warnings).toEqual((exactly(text, path) as { warnings: string[] }).warnings);
  });

  it('GIVEN a graph with a parse warning WHEN loaded THEN the warning names its line', async () => {
    const text = 'graph: g\nresources:\n  noop:\n  - name: a\n    cmoment: x\n';
    const path = await writeYaml(await tempDir(), 'g.yaml', text);
    const loaded = await loadGraph(path, { registry: testRegistry });
    expect(loaded.parsePath).toBe('exact');
    expect(loaded.warnings).toEqual([`${path}:5:5: noop[a]: unknown parameter \`cmoment\` for kind \`noop\`; did you mean \`comment\`?`]);
  });
});
