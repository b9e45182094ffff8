// autogroup-*: the autogroup stage on upstream's BenchmarkAutoGroup shapes
// (engine/graph/autogroup/autogroup_bench_test.go), each against the figure mgmt 1.1.0 published
// for it, plus a 10,000-vertex mixed graph against the compile target (< 1 s). Like upstream's benchmark, a shape's figure includes building its graph
// (upstream rebuilds the graph each iteration and times both); the grouping alone is a detail.
//
//   group/1000     1,000 isolated vertices that all group together           published 1,310 ms
//   letters/1000   1,000 isolated vertices in 26 families by first letter   published 41 ms
//   chain/1000     a 1,000-long chain of groupable vertices (none may merge) published 460 ms
//   disabled/1000  1,000 vertices with `autogroup: false`                   published 179 ms
//   mixed/10000    a deep tree of 4,000 real `file` resources (not groupable, their edges made by
//                  the autoedge stage) + 5,000 noops, a third each isolated, after a file and before
//                  a file + a 1,000-long chain of prints; figure = the compile stages after parsing
//                  (autoedges + autogroup + topological sort), target < 1,000 ms

import { addAutoEdges } from '../../../src/graph/autoedge.js';
import { autoGroup, type AutoGroupStats } from '../../../src/graph/autogroup.js';
import { MutableGraph } from '../../../src/graph/mutable.js';
import { topoSort } from '../../../src/graph/toposort.js';
import { file } from '../../../src/resources/file.js';
import { makeVertex, mulberry32, type VertexDesc } from '../../graph/fixtures/autogroup-graphs.js';
import { makeResult, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { median, repeat, round } from '../lib/stats.js';
import { autoedgeVertex } from './autoedge.js';

const BASELINE_NAME = 'mgmt 1.1.0 published';
const WARMUP = 3;

// The vertices are the autogroup tests' `nooptest`-style kinds: two resources group iff their
// names start with the same letter (so all `n...` noops, and all `p...` prints, are compatible).

function isolated(count: number, vertex: (i: number) => VertexDesc): MutableGraph {
  const graph = new MutableGraph();
  for (let i = 0; i < count; i++) graph.addVertex(makeVertex(vertex(i)));
  return graph;
}

function chain(graph: MutableGraph, kind: string, count: number, name: (i: number) => string): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const v = makeVertex({ name: name(i), kind });
    graph.addVertex(v);
    if (i > 0) graph.setEdge({ from: ids[i - 1]!, to: v.id, name: `e${i}`, notify: false });
    ids.push(v.id);
  }
  return ids;
}

/** mixedGraph builds the 10,000-vertex graph: a file tree (edges left to autoedges), 5,000 noops hung on it, a 1,000 chain. */
function mixedGraph(): MutableGraph {
  const graph = new MutableGraph();
  const random = mulberry32(0x5eed);
  // A tree of directories, 6 wide and 4 deep below the root (1,555 directories), then files under
  // the deepest ones up to 4,000.
  const files: string[] = [];
  const add = (path: string): string => {
    const v = autoedgeVertex(file, path);
    graph.addVertex(v);
    files.push(v.id);
    return path;
  };
  let level = [add('/srv/')];
  for (let depth = 0; depth < 4; depth++) level = level.flatMap((dir) => Array.from({ length: 6 }, (_, i) => add(`${dir}d${i}/`)));
  for (let i = 0; files.length < 4000; i++) add(`${level[i % level.length]!}f${Math.floor(i / level.length)}`);
  for (let i = 0; i < 5000; i++) {
    const v = makeVertex({ name: `n${String(i).padStart(4, '0')}`, kind: 'noop' });
    graph.addVertex(v);
    const target = files[Math.floor(random() * files.length)]!;
    if (i % 3 === 1) graph.setEdge({ from: target, to: v.id, name: `after${i}`, notify: random() < 0.5 });
    if (i % 3 === 2) graph.setEdge({ from: v.id, to: target, name: `before${i}`, notify: false });
  }
  const prints = chain(graph, 'print', 1000, (i) => `p${String(i).padStart(4, '0')}`);
  graph.setEdge({ from: files[0]!, to: prints[0]!, name: 'start', notify: false });
  return graph;
}

/** Shape is one benchmark: how to build its graph, what 1.1.0 published, and whether to time the sort too. */
interface Shape {
  readonly scenario: string;
  readonly doc: string;
  readonly build: () => MutableGraph;
  readonly baseline: number;
  readonly baselineName: string;
  readonly target: string;
  /** What the figure times: `build+autogroup` (upstream's way) or `compile` (autoedges + autogroup + toposort). */
  readonly figure: 'build+autogroup' | 'compile';
  /** Checks the result, so a fast wrong answer never passes. */
  readonly expect: (graph: MutableGraph, stats: AutoGroupStats) => string | undefined;
}

const SHAPES: readonly Shape[] = [
  {
    scenario: 'autogroup-group-1000',
    doc: 'autogroup of 1,000 isolated groupable vertices vs mgmt 1.1.0 (1,310 ms)',
    build: () => isolated(1000, (i) => ({ name: `a${i}` })),
    baseline: 1310,
    baselineName: BASELINE_NAME,
    target: 'ratio < 1',
    figure: 'build+autogroup',
    expect: (graph) => (graph.vertices.size === 1 ? undefined : `expected 1 group, got ${graph.vertices.size} vertices`),
  },
  {
    scenario: 'autogroup-letters-1000',
    doc: 'autogroup of 1,000 vertices in 26 families vs mgmt 1.1.0 (41 ms)',
    build: () => isolated(1000, (i) => ({ name: `${String.fromCharCode(97 + (i % 26))}${i}` })),
    baseline: 41,
    baselineName: BASELINE_NAME,
    target: 'ratio < 1',
    figure: 'build+autogroup',
    expect: (graph) => (graph.vertices.size === 26 ? undefined : `expected 26 groups, got ${graph.vertices.size} vertices`),
  },
  {
    scenario: 'autogroup-chain-1000',
    doc: 'autogroup of a 1,000-long groupable chain (no merge possible) vs mgmt 1.1.0 (460 ms)',
    build: () => {
      const graph = new MutableGraph();
      chain(graph, 'nooptest', 1000, (i) => `a${i}`);
      return graph;
    },
    baseline: 460,
    baselineName: BASELINE_NAME,
    target: 'ratio < 1',
    figure: 'build+autogroup',
    expect: (graph, stats) => (stats.merged === 0 && graph.vertices.size === 1000 ? undefined : `a chain merged ${stats.merged} vertices`),
  },
  {
    scenario: 'autogroup-disabled-1000',
    doc: 'autogroup of 1,000 vertices with autogroup: false vs mgmt 1.1.0 (179 ms)',
    build: () => isolated(1000, (i) => ({ name: `a${i}`, autogroup: false })),
    baseline: 179,
    baselineName: BASELINE_NAME,
    target: 'ratio < 1',
    figure: 'build+autogroup',
    expect: (graph) => (graph.vertices.size === 1000 ? undefined : `disabled vertices merged: ${graph.vertices.size} left`),
  },
  {
    scenario: 'autogroup-mixed-10000',
    doc: 'autoedges + autogroup + toposort of 10,000 vertices (file tree, grouped noops, 1,000 chain) vs the 1 s compile target',
    build: mixedGraph,
    baseline: 1000,
    baselineName: 'DESIGN 8 compile target (< 1 s, autoedges + autogroup + toposort)',
    target: 'ratio < 1',
    figure: 'compile',
    expect: (graph, stats) => {
      const sorted = topoSort(graph.vertices.keys(), graph.edges());
      if (sorted.cycles.length > 0) return 'the grouped graph has a cycle';
      if (stats.merged === 0) return 'nothing merged';
      if (![...graph.edges()].some((edge) => edge.from === 'file[/srv/]' && edge.to === 'file[/srv/d0/]')) return 'autoedges made no tree';
      const prints = [...graph.vertices.values()].filter((v) => v.kind === 'print').length;
      return prints === 1000 ? undefined : `the print chain merged (${prints} left)`;
    },
  },
];

/** Sample is one timed run. */
interface Sample {
  readonly buildMs: number;
  readonly autoedgesMs: number;
  readonly autogroupMs: number;
  readonly toposortMs: number;
  readonly stats: AutoGroupStats;
  readonly vertices: number;
  readonly edges: number;
}

function runOnce(shape: Shape): Sample {
  const buildStart = performance.now();
  const graph = shape.build();
  const edgeStart = performance.now();
  if (shape.figure === 'compile') addAutoEdges(graph);
  const groupStart = performance.now();
  const stats = autoGroup(graph);
  const sortStart = performance.now();
  topoSort(graph.vertices.keys(), graph.edges());
  const end = performance.now();
  const problem = shape.expect(graph, stats);
  if (problem) throw new Error(`${shape.scenario}: wrong result: ${problem}`);
  return {
    buildMs: edgeStart - buildStart,
    autoedgesMs: groupStart - edgeStart,
    autogroupMs: sortStart - groupStart,
    toposortMs: end - sortStart,
    stats,
    vertices: graph.vertices.size,
    edges: graph.edgeCount(),
  };
}

async function measure(shape: Shape, progress: (message: string) => void): Promise<ScenarioResult> {
  for (let i = 0; i < WARMUP; i++) runOnce(shape);
  const samples = await repeat({ min: 10, max: 60, budgetMs: 6_000 }, async () => runOnce(shape));
  const figureOf = (s: Sample): number => (shape.figure === 'build+autogroup' ? s.buildMs + s.autogroupMs : s.autoedgesMs + s.autogroupMs + s.toposortMs);
  const figure = median(samples.map(figureOf));
  const last = samples[samples.length - 1]!;
  progress(`${figure.toFixed(2)} ms (${shape.figure}) vs ${shape.baseline} ms`);
  return makeResult(
    {
      scenario: shape.scenario,
      figure,
      baseline: shape.baseline,
      baselineName: shape.baselineName,
      target: shape.target,
      pass: figure < shape.baseline,
      runs: samples.length,
    },
    {
      measures: shape.figure,
      buildMs: round(median(samples.map((s) => s.buildMs))),
      ...(shape.figure === 'compile' ? { autoedgesMs: round(median(samples.map((s) => s.autoedgesMs))) } : {}),
      autogroupMs: round(median(samples.map((s) => s.autogroupMs))),
      toposortMs: round(median(samples.map((s) => s.toposortMs))),
      autogroupMaxMs: round(Math.max(...samples.map((s) => s.autogroupMs))),
      result: { vertices: last.vertices, edges: last.edges, ...last.stats },
    },
  );
}

/** autogroupScenarios are the autogroup benchmarks, one JSON line each. */
export const autogroupScenarios: readonly Scenario[] = SHAPES.map((shape) => ({
  name: shape.scenario,
  doc: shape.doc,
  run: (ctx) => measure(shape, ctx.progress),
}));
