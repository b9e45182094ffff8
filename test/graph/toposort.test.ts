import { describe, expect, it } from 'vitest';
import { findCycles, formatCycle, topoSort, type TopoEdge } from '../../src/graph/toposort.js';

const edge = (from: string, to: string): TopoEdge => ({ from, to });

describe('topoSort', () => {
  it('GIVEN no nodes WHEN sorted THEN the order is empty', () => {
    expect(topoSort([], [])).toEqual({ order: [], cycles: [] });
  });

  it('GIVEN a chain WHEN sorted THEN parents come before children', () => {
    expect(topoSort(['c', 'b', 'a'], [edge('a', 'b'), edge('b', 'c')]).order).toEqual(['a', 'b', 'c']);
  });

  it('GIVEN independent nodes WHEN sorted THEN ties are broken by id', () => {
    expect(topoSort(['n10', 'n2', 'n1'], []).order).toEqual(['n1', 'n10', 'n2']);
  });

  it('GIVEN nodes said to be ascending WHEN sorted THEN they are taken as given, with or without edges', () => {
    expect(topoSort(['a', 'b', 'c'], [], { ascending: true }).order).toEqual(['a', 'b', 'c']);
    expect(topoSort(['a', 'b', 'c'], [edge('c', 'a')], { ascending: true }).order).toEqual(['b', 'c', 'a']);
  });

  it('GIVEN a fan-in and fan-out WHEN sorted THEN the smallest ready id always goes next', () => {
    // x and a feed m; m feeds z and b; y is independent and sorts between them by id.
    const edges = [edge('x', 'm'), edge('a', 'm'), edge('m', 'z'), edge('m', 'b')];
    expect(topoSort(['z', 'y', 'x', 'm', 'b', 'a'], edges).order).toEqual(['a', 'x', 'm', 'b', 'y', 'z']);
  });

  it('GIVEN the same graph in any input order WHEN sorted THEN the order is the same', () => {
    const nodes = Array.from({ length: 200 }, (_, i) => `v${i}`);
    const edges = nodes.slice(1).map((to, i) => edge(nodes[Math.floor(i / 3)]!, to));
    const expected = topoSort(nodes, edges).order;
    for (let seed = 1; seed <= 5; seed++) {
      expect(topoSort(shuffle(nodes, seed), shuffle(edges, seed * 7)).order).toEqual(expected);
    }
  });

  it('GIVEN repeated edges WHEN sorted THEN they count once', () => {
    expect(topoSort(['a', 'b'], [edge('a', 'b'), edge('a', 'b')]).order).toEqual(['a', 'b']);
  });

  it('GIVEN a cycle WHEN sorted THEN it is reported as a path and the order holds only what precedes it', () => {
    const result = topoSort(['a', 'b', 'c', 'root', 'tail'], [edge('root', 'b'), edge('b', 'c'), edge('c', 'a'), edge('a', 'b'), edge('a', 'tail')]);
    expect(result.cycles).toEqual([['a', 'b', 'c', 'a']]);
    expect(result.order).toEqual(['root']);
  });

  it('GIVEN an edge to an unknown node WHEN sorted THEN it is a bug, thrown', () => {
    expect(() => topoSort(['a'], [edge('a', 'ghost')])).toThrow('toposort: edge a -> ghost names a node that is not in the graph');
  });

  // The generous timeout only stops a quadratic sort (minutes at this size); speed is the bench's.
  it('GIVEN 10,000 nodes in a long chain WHEN sorted THEN it does not recurse too deep', { timeout: 60_000 }, () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => `n${String(i).padStart(5, '0')}`);
    const edges = nodes.slice(1).map((to, i) => edge(nodes[i]!, to));
    expect(topoSort(nodes, edges).order).toEqual(nodes);
    // A cycle closing the whole chain makes the cycle finder walk all of it without recursion.
    expect(topoSort(nodes, [...edges, edge(nodes[9999]!, nodes[0]!)]).cycles[0]).toHaveLength(10_001);
  });
});

describe('findCycles', () => {
  it('GIVEN a self-loop WHEN searched THEN it is a cycle of one node', () => {
    expect(findCycles(['a', 'b'], [edge('a', 'a'), edge('a', 'b')])).toEqual([['a', 'a']]);
  });

  it('GIVEN two separate cycles WHEN searched THEN both are reported, ordered by smallest id', () => {
    const edges = [edge('y', 'z'), edge('z', 'y'), edge('b', 'a'), edge('a', 'b')];
    expect(findCycles(['z', 'y', 'b', 'a'], edges)).toEqual([
      ['a', 'b', 'a'],
      ['y', 'z', 'y'],
    ]);
  });

  it('GIVEN a component with a long and a short cycle WHEN searched THEN the shortest through the smallest id is shown', () => {
    const edges = [edge('a', 'b'), edge('b', 'c'), edge('c', 'd'), edge('d', 'a'), edge('b', 'a')];
    expect(findCycles(['a', 'b', 'c', 'd'], edges)).toEqual([['a', 'b', 'a']]);
  });

  it('GIVEN an acyclic graph WHEN searched THEN there is no cycle', () => {
    expect(findCycles(['a', 'b', 'c'], [edge('a', 'b'), edge('a', 'c'), edge('b', 'c')])).toEqual([]);
  });
});

describe('formatCycle', () => {
  it('GIVEN a cycle WHEN formatted THEN it reads as a path', () => {
    expect(formatCycle(['exec[a]', 'exec[b]', 'exec[a]'])).toBe('exec[a] => exec[b] => exec[a]');
  });
});

/** shuffle returns a copy of items in a pseudo-random order fixed by seed. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
