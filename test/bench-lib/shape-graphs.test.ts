// The growth scenarios' graphs, read back by the agent's own YAML parsers.

import { describe, expect, it } from 'vitest';
import { defaultRegistry } from '../../src/resources/index.js';
import { MAX_GRAPH_BYTES } from '../../src/yamlgraph/input.js';
import { parseGraph, parseGraphFast } from '../../src/yamlgraph/parse.js';
import { SHAPES, shapeGraph, type Shape } from '../bench/lib/shape-graphs.js';

/** edgesOf lists a parsed graph's edges as `kind[name] -> kind[name]`, with `!` for notify. */
function edgesOf(shape: Shape, count: number): string[] {
  const spec = parseGraph(shapeGraph(shape, count).yaml, `${shape}.yaml`, defaultRegistry);
  return spec.edges.map((edge) => `${edge.from.kind}[${edge.from.name}] -> ${edge.to.kind}[${edge.to.name}]${edge.notify ? ' !' : ''}`);
}

describe('shapeGraph', () => {
  it('writes a chain of N noops with N-1 edges in a line', () => {
    expect(edgesOf('chain', 3)).toEqual(['noop[v0] -> noop[v1]', 'noop[v1] -> noop[v2]']);
  });

  it('writes a fan-out of one parent and N children', () => {
    expect(edgesOf('fan-out', 2)).toEqual(['noop[parent] -> noop[child0]', 'noop[parent] -> noop[child1]']);
  });

  it('writes a fan-in of N parents and one child', () => {
    expect(edgesOf('fan-in', 2)).toEqual(['noop[parent0] -> noop[child]', 'noop[parent1] -> noop[child]']);
  });

  it('writes N/2 noops, each notifying its own refresh-only print', () => {
    // GIVEN the shape at 4 WHEN parsed THEN two notify edges, each to a print that waits for it
    const spec = parseGraph(shapeGraph('refresh-only-print', 4).yaml, 'r.yaml', defaultRegistry);
    expect(edgesOf('refresh-only-print', 4)).toEqual(['noop[v0] -> print[p0] !', 'noop[v1] -> print[p1] !']);
    expect(spec.resources.filter((r) => r.kind === 'print').map((r) => r.params.refresh_only)).toEqual([true, true]);
  });

  it.each(SHAPES)('writes %s so that both parsers read the same graph, the fast one taking it, without a warning', (shape) => {
    // GIVEN a shape at 2,000 (the bench's sizes are 1,000 and 10,000)
    const graph = shapeGraph(shape, 2_000);
    // WHEN the agent's fast path and its exact parser read it
    const exact = parseGraph(graph.yaml, `${shape}.yaml`, defaultRegistry);
    const parsed = parseGraphFast(graph.yaml, `${shape}.yaml`, defaultRegistry);
    const fast = parsed.spec;
    // THEN every vertex and edge is there, each vertex name distinct, and the two agree
    expect(exact.resources).toHaveLength(graph.vertices);
    expect(exact.edges).toHaveLength(graph.edges);
    expect(new Set(exact.resources.map((r) => `${r.kind}[${r.name}]`)).size).toBe(graph.vertices);
    expect(exact.warnings).toEqual([]);
    // The agent's usual path, so the bench times the parse a real graph gets.
    expect(parsed.path).toBe('fast');
    expect(fast.resources.map((r) => r.name)).toEqual(exact.resources.map((r) => r.name));
    expect(fast.edges.map((e) => [e.from, e.to, e.notify])).toEqual(exact.edges.map((e) => [e.from, e.to, e.notify]));
  });

  it('keeps a 100,000-noop chain under the agent graph-file limit', () => {
    const graph = shapeGraph('chain', 100_000);
    expect(Buffer.byteLength(graph.yaml)).toBeLessThan(MAX_GRAPH_BYTES);
    expect(graph).toMatchObject({ vertices: 100_000, edges: 99_999 });
  });

  it('never names a vertex with a word YAML 1.1 reads as null or a boolean', () => {
    // A noop named `n` + base 36 was once `null` (39,981) and `no` (24).
    const names = [...shapeGraph('chain', 100_000).yaml.matchAll(/- name: (\S+)/g)].map((match) => match[1]!);
    expect(names.filter((name) => /^(null|~|y|n|yes|no|true|false|on|off)$/i.test(name))).toEqual([]);
  });

  it('refuses a size below two, quoting it', () => {
    expect(() => shapeGraph('chain', 1)).toThrow('count must be an integer >= 2, got 1 (number)');
  });
});
