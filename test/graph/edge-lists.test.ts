import { describe, expect, it } from 'vitest';
import { EdgeLists, NO_EDGES } from '../../src/graph/edge-lists.js';
import type { Edge } from '../../src/graph/graph.js';

const edge: Edge = { from: 'a', to: 'b', name: 'a -> b', notify: false };
const vertices = new Map([
  ['a', 1],
  ['b', 2],
  ['c', 3],
]);
const lists = new EdgeLists(vertices, new Map([['a', [edge]]]));

describe('EdgeLists', () => {
  it('GIVEN a vertex with edges, one without and an unknown id WHEN read THEN its list, the shared empty list, and undefined', () => {
    expect(lists.get('a')).toEqual([edge]);
    expect(lists.get('b')).toBe(NO_EDGES);
    expect(lists.get('x')).toBeUndefined();
    expect([lists.has('c'), lists.has('x')]).toEqual([true, false]);
  });

  it('GIVEN the lists WHEN walked every way THEN every vertex is there, in the graph order, as a Map of them would give', () => {
    const expected = new Map([
      ['a', [edge]],
      ['b', NO_EDGES],
      ['c', NO_EDGES],
    ]);
    expect(lists.size).toBe(3);
    expect(new Map(lists)).toEqual(expected);
    expect([...lists.entries()]).toEqual([...expected.entries()]);
    expect([...lists.keys()]).toEqual(['a', 'b', 'c']);
    expect([...lists.values()]).toEqual([...expected.values()]);
    const seen: string[] = [];
    lists.forEach((edges, id, map) => {
      expect(map).toBe(lists);
      seen.push(`${id}:${edges.length}`);
    });
    expect(seen).toEqual(['a:1', 'b:0', 'c:0']);
  });
});
