import { describe, expect, it } from 'vitest';
import { ChainClosure } from '../../src/graph/autogroup-chain.js';
import { FamilyClosure, isSet, setBit, wordsFor } from '../../src/graph/autogroup-closure.js';
import { autoGroup } from '../../src/graph/autogroup.js';
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

describe('ChainClosure', () => {
  /** chain builds a chain a0 -> a1 -> ... of `size` groupable members, plus `loose` members without edges. */
  function chain(size: number, loose = 0) {
    const names = Array.from({ length: size }, (_, i) => `a${i}`);
    const spare = Array.from({ length: loose }, (_, i) => `a${size + i}`);
    const graph = buildGraph({ vertices: [...names, ...spare], edges: names.slice(1).map((to, i) => [names[i]!, to, `e${i}`] as const) });
    const members = [...graph.vertices.values()];
    const alive = new Uint32Array(wordsFor(members.length));
    for (let p = 0; p < members.length; p++) setBit(alive, p);
    return { graph, members, alive };
  }

  // A timed growth test (40,000 against 4,000) flaked under load; what keeps a chain linear is that
  // it gets this one-row closure instead of a matrix of F^2 bits, which is what is pinned here.
  it('GIVEN a 40,000-member chain WHEN built THEN one closure of one row serves it, every linked member related to all', () => {
    const { graph, members, alive } = chain(40_000);
    const closure = ChainClosure.build(new Adjacency(graph), members, alive);
    expect(closure).toBeDefined();
    expect(closure!.words).toBe(wordsFor(40_000));
    expect(closure!.below(0)).toBe(closure!.below(39_999)); // one row, shared
    expect(closure!.settled(0)).toBe(true);
    expect(autoGroup(graph).merged).toBe(0);
  });

  it('GIVEN members off the chain THEN they are the only candidates, and group with a linked one', () => {
    const { graph, members, alive } = chain(5, 2);
    const closure = ChainClosure.build(new Adjacency(graph), members, alive)!;
    expect(closure).toBeDefined();
    expect(closure.settled(0)).toBe(false); // a5 and a6 are free to join it
    expect(autoGroup(graph).merged).toBe(2);
  });

  it('GIVEN two members with edges that are not on one path THEN it declines (the family needs its matrix)', () => {
    const graph = buildGraph({ vertices: ['a0', 'a1', 'a2', 'a3'], edges: [['a0', 'a1', 'e0'], ['a2', 'a3', 'e1']] });
    const members = [...graph.vertices.values()];
    const alive = new Uint32Array(wordsFor(members.length));
    for (let p = 0; p < members.length; p++) setBit(alive, p);
    expect(ChainClosure.build(new Adjacency(graph), members, alive)).toBeUndefined();
  });
});
