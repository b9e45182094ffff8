import { describe, expect, it } from 'vitest';
import { autoGroup } from '../../src/graph/autogroup.js';
import { compareStrings } from '../../src/graph/canonical.js';
import type { Edge } from '../../src/graph/graph.js';
import type { BuildVertex, MutableGraph } from '../../src/graph/mutable.js';
import type { Meta } from '../../src/graph/spec.js';
import { topoSort } from '../../src/graph/toposort.js';
import { buildGraph, mulberry32, shapeOf, shuffled, type EdgeDesc, type GraphDesc, type VertexDesc } from './fixtures/autogroup-graphs.js';

// Properties of autogroup on random DAGs, and agreement with a naive grouper written straight
// from the definition (reference 4.3/4.4 with our order): every pair re-checked with a fresh
// walk, no matrices, no marks, no incremental state.

// Two hierarchical families whose chunk levels interleave in the group order (nooptestkind at 2, other
// at 2, nooptestkind at 3, other at 3, ...), so a family's matrix is rebuilt after the other's merges.
const KINDS = ['nooptest', 'nooptest', 'nooptest', 'other', 'other:x', 'other:x:y', 'plain', 'nooptestkind:foo', 'nooptestkind:foo:x', 'nooptestkind:foo:x:y', 'nooptestkind:bar'];

/** A few vertices differ from the default meta in one of the parameters a group must share. */
const META_VARIANTS: readonly Partial<Meta>[] = [{ noop: true }, { poll: 5 }, { timeout: 1000 }, { retry: 2 }, { retry: -1, delay: 10 }, { limit: 2, burst: 1 }];

/** randomDag draws a DAG of `size` vertices: random kinds, names by a few letters, semaphores, some autogroup off, some other meta, edges along a random order. */
function randomDag(random: () => number, size: number): GraphDesc {
  const letters = 'abcd'.slice(0, 1 + Math.floor(random() * 4));
  const vertices: VertexDesc[] = [];
  for (let i = 0; i < size; i++) {
    const sema = ['s:1', 's:2', 's:3'].filter(() => random() < 0.15);
    vertices.push({
      name: `${letters[Math.floor(random() * letters.length)]}${i}`,
      kind: KINDS[Math.floor(random() * KINDS.length)]!,
      sema,
      autogroup: random() >= 0.1,
      ...(random() < 0.2 ? { meta: META_VARIANTS[Math.floor(random() * META_VARIANTS.length)]! } : {}),
    });
  }
  const order = shuffled(vertices, random);
  const density = 0.5 / size + random() * (3 / size);
  const edges: EdgeDesc[] = [];
  for (let i = 0; i < size; i++) {
    for (let j = i + 1; j < size; j++) {
      if (random() >= density) continue;
      edges.push([order[i]!.name, order[j]!.name, random() < 0.2 ? '' : `e${edges.length}`, random() < 0.3]);
    }
  }
  return { vertices, edges };
}

const firstChunk = (kind: string): string => kind.split(':')[0]!;
const chunks = (kind: string): number => kind.split(':').length;
const rank = (a: BuildVertex, b: BuildVertex): number => chunks(a.kind) - chunks(b.kind) || compareStrings(a.id, b.id);
const mayGroup = (v: BuildVertex): boolean => v.def.group !== undefined && v.meta.autogroup;
/** sameRunMeta: members of a group share every meta parameter the engine runs a group with (all but sema and autoedge). */
const sameRunMeta = (a: BuildVertex, b: BuildVertex): boolean =>
  (['noop', 'retry', 'delay', 'poll', 'limit', 'burst', 'timeout'] as const).every((param) => a.meta[param] === b.meta[param]);

/** reaches walks the graph from `from` looking for `to`, over edges `follow` admits. */
function reaches(graph: MutableGraph, from: string, to: string, follow: (edge: Edge) => boolean = () => true): boolean {
  const seen = new Set([from]);
  const stack = [from];
  while (stack.length > 0) {
    for (const edge of graph.outgoing(stack.pop()!)) {
      if (!follow(edge) || seen.has(edge.to)) continue;
      if (edge.to === to) return true;
      seen.add(edge.to);
      stack.push(edge.to);
    }
  }
  return false;
}

/**
 * naivePath is the shortest path from `x` to `v` (downward when `down`) with the smallest ids read
 * from `x`: breadth-first distances to `v` over the whole graph, then greedy from `x`. It is listed
 * from `x`.
 */
function naivePath(graph: MutableGraph, x: string, v: string, down: boolean): string[] {
  const toward = (id: string): string[] => [...(down ? graph.children(id) : graph.parents(id))];
  const away = (id: string): string[] => [...(down ? graph.parents(id) : graph.children(id))];
  const distance = new Map([[v, 0]]);
  const queue = [v];
  for (let head = 0; head < queue.length; head++) {
    for (const n of away(queue[head]!)) {
      if (distance.has(n)) continue;
      distance.set(n, distance.get(queue[head]!)! + 1);
      queue.push(n);
    }
  }
  const path = [x];
  for (let at = x; at !== v; ) {
    at = toward(at)
      .filter((n) => distance.get(n) === distance.get(at)! - 1)
      .sort(compareStrings)[0]!;
    path.push(at);
  }
  return path;
}

function naiveFold(graph: MutableGraph, path: readonly string[], edge: Edge, down: boolean): void {
  for (let i = 0; i + 1 < path.length; i++) {
    const [from, to] = down ? [path[i]!, path[i + 1]!] : [path[i + 1]!, path[i]!];
    const old = graph.edge(from, to)!;
    const names = [...new Set([...old.name.split(','), ...edge.name.split(',')].filter((n) => n !== ''))].sort(compareStrings);
    graph.setEdge({ from, to, name: names.join(','), notify: old.notify || edge.notify });
  }
}

/** naiveAutoGroup is the definition, executed literally. */
function naiveAutoGroup(graph: MutableGraph): void {
  const order = [...graph.vertices.values()].filter(mayGroup).sort(rank);
  for (let i = 0; i < order.length; i++) {
    const v = order[i]!;
    if (!graph.vertices.has(v.id)) continue;
    for (const w of order.slice(i + 1)) {
      if (!graph.vertices.has(w.id) || firstChunk(w.kind) !== firstChunk(v.kind) || w.members.length > 1) continue;
      if (!v.def.group!.compatible(v.params, w.params) || !sameRunMeta(v, w)) continue;
      if (reaches(graph, v.id, w.id) || reaches(graph, w.id, v.id)) continue;
      // Which edges are implied, and the paths they fold into, are decided on the graph as it
      // was before the merge (as autogroup-merge.ts documents), then applied.
      const incoming = [...graph.incoming(w.id)].map((e) => ({ e, path: reaches(graph, e.from, v.id) ? naivePath(graph, e.from, v.id, true) : undefined }));
      const outgoing = [...graph.outgoing(w.id)].map((e) => ({ e, path: reaches(graph, v.id, e.to) ? naivePath(graph, e.to, v.id, false) : undefined }));
      for (const { e } of [...incoming, ...outgoing]) graph.removeEdge(e.from, e.to);
      for (const { e, path } of incoming) {
        if (path) naiveFold(graph, path, e, true);
        else graph.setEdge({ ...e, to: v.id });
      }
      for (const { e, path } of outgoing) {
        if (path) naiveFold(graph, path, e, false);
        else graph.setEdge({ ...e, from: v.id });
      }
      graph.removeVertex(w.id);
      v.members.push(...w.members);
      v.meta = { ...v.meta, sema: [...new Set([...v.meta.sema, ...w.meta.sema])] };
    }
  }
}

/** CASES are the random graphs: a few hundred small ones and some large enough for families over many bit words. */
const CASES: { seed: number; size: number }[] = [
  ...Array.from({ length: 320 }, (_, i) => ({ seed: 1000 + i, size: 5 + ((i * 37) % 56) })),
  ...Array.from({ length: 12 }, (_, i) => ({ seed: 9000 + i, size: 100 + i * 25 })),
];

/**
 * randomChainDag draws a DAG whose edges mostly lie on one path through a random subset of the
 * vertices (with some shortcuts along it), the rest left without edges: a family whose members
 * with edges are totally ordered, which autogroup handles without a matrix (autogroup-chain.ts).
 * Now and then a second, separate path makes the order partial.
 */
function randomChainDag(random: () => number, size: number): GraphDesc {
  const chainKinds = ['nooptest', 'nooptest', 'nooptest', 'plain', 'nooptestkind:foo', 'other'];
  const vertices: VertexDesc[] = [];
  for (let i = 0; i < size; i++) {
    vertices.push({
      name: `${'abc'[Math.floor(random() * 3)]}${i}`,
      kind: chainKinds[Math.floor(random() * chainKinds.length)]!,
      sema: ['s:1', 's:2'].filter(() => random() < 0.1),
      autogroup: random() >= 0.05,
    });
  }
  const order = shuffled(vertices, random);
  const onPath = order.slice(0, Math.floor(order.length * (0.3 + random() * 0.5)));
  const edges: EdgeDesc[] = [];
  const link = (from: VertexDesc, to: VertexDesc): void => void edges.push([from.name, to.name, random() < 0.2 ? '' : `e${edges.length}`, random() < 0.3]);
  for (let i = 1; i < onPath.length; i++) {
    link(onPath[i - 1]!, onPath[i]!);
    if (i >= 2 && random() < 0.2) link(onPath[i - 2]!, onPath[i]!);
  }
  const rest = order.slice(onPath.length);
  if (random() < 0.3 && rest.length >= 2) link(rest[0]!, rest[1]!);
  return { vertices, edges };
}

/** CHAIN_CASES are the random chain-shaped graphs. */
const CHAIN_CASES: { seed: number; size: number }[] = Array.from({ length: 120 }, (_, i) => ({ seed: 5000 + i, size: 4 + ((i * 29) % 70) }));

describe('autoGroup on random DAGs', () => {
  it.each(CASES.map((c) => [c.seed, c.size] as const))('GIVEN random DAG %i of %i vertices WHEN grouped THEN every property holds', (seed, size) => {
    const random = mulberry32(seed);
    everyPropertyHolds(randomDag(random, size), random);
  });

  it.each(CHAIN_CASES.map((c) => [c.seed, c.size] as const))('GIVEN random chain-shaped DAG %i of %i vertices WHEN grouped THEN every property holds', (seed, size) => {
    const random = mulberry32(seed);
    everyPropertyHolds(randomChainDag(random, size), random);
  });
});

/** everyPropertyHolds groups `desc` and checks it against the properties and the naive grouper. */
function everyPropertyHolds(desc: GraphDesc, random: () => number): void {
  const original = buildGraph(desc);
  const graph = buildGraph(desc);
  const merges: string[] = [];
  const stats = autoGroup(graph, {
    onMerge: (parent, child) => {
      // Every member pair is mutually unreachable when merged, in the graph as it is then.
      expect(reaches(graph, parent.id, child.id) || reaches(graph, child.id, parent.id)).toBe(false);
      expect(firstChunk(parent.kind)).toBe(firstChunk(child.kind));
      expect(rank(parent, child)).toBeLessThan(0);
      // A group runs with one meta: noop, poll, timeout, retry and the rest are its members' own.
      expect(sameRunMeta(parent, child), `${child.id} joins ${parent.id} with other meta`).toBe(true);
      merges.push(child.id);
    },
  });

  // The result is a DAG.
  expect(topoSort(graph.vertices.keys(), graph.edges()).cycles).toEqual([]);

  const holder = new Map<string, string>();
  for (const vertex of graph.vertices.values()) for (const member of vertex.members) holder.set(member.id, vertex.id);
  expect(holder.size).toBe(original.vertices.size);

  // Every original dependency survives as a path between its holders whose every edge carries
  // its name and, if it notified, notifies.
  for (const edge of original.edges()) {
    const from = holder.get(edge.from)!;
    const to = holder.get(edge.to)!;
    expect(from).not.toBe(to);
    const carries = (e: Edge): boolean => (edge.name === '' || e.name.split(',').includes(edge.name)) && (!edge.notify || e.notify);
    expect(reaches(graph, from, to, carries), `${edge.from} -> ${edge.to} (${edge.name})`).toBe(true);
  }

  // No group holds two members one of which reached the other in the original graph (a weaker
  // consequence of the merge-time check above, as merges only ever add paths), and the parent
  // comes first in the group order.
  for (const vertex of graph.vertices.values()) {
    const ids = vertex.members.map((m) => m.id);
    expect(vertex.id).toBe(ids[0]);
    for (const a of ids) for (const b of ids) if (a !== b) expect(reaches(original, a, b)).toBe(false);
    for (const member of ids.slice(1)) expect(rank(original.vertices.get(ids[0]!)!, original.vertices.get(member)!)).toBeLessThan(0);
  }

  // Maximality: no two vertices that could group (same family, compatible by the earlier one's
  // kind, as the grouper asks) are still mutually unreachable.
  const left = [...graph.vertices.values()].filter(mayGroup).sort(rank);
  for (let i = 0; i < left.length; i++) {
    for (let j = i + 1; j < left.length; j++) {
      const [p, q] = [left[i]!, left[j]!];
      if (firstChunk(p.kind) !== firstChunk(q.kind) || !p.def.group!.compatible(p.params, q.params) || !sameRunMeta(p, q)) continue;
      expect(reaches(graph, p.id, q.id) || reaches(graph, q.id, p.id), `${p.id} and ${q.id} could still group`).toBe(true);
    }
  }

  // The naive grouper agrees on everything: groups, edges, names, notify and semaphores.
  naiveAutoGroup(original);
  expect(shapeOf(graph)).toEqual(shapeOf(original));
  expect(merges.length).toBe(desc.vertices.length - graph.vertices.size);

  // Keys that agree with `compatible` (the first letter) change nothing but how often it is asked.
  const keyed = buildGraph(desc);
  const keyedStats = autoGroup(keyed, { groupKey: (v) => (v.params as { name: string }).name[0] });
  expect(shapeOf(keyed)).toEqual(shapeOf(graph));
  expect(keyedStats.compared).toBeLessThanOrEqual(stats.compared);

  // Determinism: the same graph inserted in another order groups the same.
  const again = buildGraph({ vertices: shuffled(desc.vertices, random), edges: shuffled(desc.edges, random) });
  autoGroup(again);
  expect(shapeOf(again)).toEqual(shapeOf(graph));
}
