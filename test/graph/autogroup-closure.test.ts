import { describe, expect, it } from 'vitest';
import { FamilyClosure, isSet, setBit, wordsFor } from '../../src/graph/autogroup-closure.js';
import { Adjacency } from '../../src/graph/reachability.js';
import { buildGraph } from './fixtures/autogroup-graphs.js';

/** hub builds a hub h0 with `size` member children c1..c<size>, and the closure of all of them. */
function hub(size: number) {
  const children = Array.from({ length: size }, (_, i) => `c${i + 1}`);
  const graph = buildGraph({ vertices: ['h0', ...children], edges: children.map((child, i) => ['h0', child, `e${i}`] as const) });
  const members = [...graph.vertices.values()];
  const alive = new Uint32Array(wordsFor(members.length));
  for (let p = 0; p < members.length; p++) setBit(alive, p);
  return { closure: FamilyClosure.build(new Adjacency(graph), members, alive), alive };
}

describe('FamilyClosure', () => {
  it('GIVEN a hub with 1,000 member children WHEN built THEN the children share one row saying the hub reaches them (not a row each)', () => {
    const { closure } = hub(1_000);
    const above = closure.above(1)!;
    expect(isSet(above, 0)).toBe(true);
    for (let p = 2; p <= 1_000; p++) expect(closure.above(p)).toBe(above);
    expect(closure.below(1)).toBeUndefined();
    for (let p = 1; p <= 1_000; p++) expect(isSet(closure.below(0)!, p)).toBe(true);
  });

  it('GIVEN children sharing a row WHEN one joins a group below another member THEN only its own copy changes', () => {
    const { closure, alive } = hub(3);
    const shared = closure.above(2)!;
    // c1 took in a vertex that reaches c3: c3 is now below c1, and c1 below the hub.
    const below = new Uint32Array(closure.words);
    setBit(below, 3);
    closure.join(1, below, closure.above(1)!, alive);
    expect(isSet(closure.above(3)!, 1)).toBe(true);
    expect(closure.above(3)).not.toBe(shared);
    expect(closure.above(2)).toBe(shared);
    expect(isSet(shared, 1)).toBe(false);
  });
});
