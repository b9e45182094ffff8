// autoedge-<shape>-<n>: the autoedge stage on the shapes of upstream's BenchmarkAutoEdge
// (engine/resources/autoedge_bench_test.go), in process, against the figures mgmt 1.1.0 published
// for them. Like upstream, one run builds a fresh graph of the prepared
// vertices and adds the automatic edges; the figure is the median run. Target: ratio < 1.
//
// tree/N: N files /tmp/bench/dX/dY/fZ (ten per dY, a hundred per dX) plus a resource for every
// dX/ and dY/ directory, so every file and every dY/ finds its parent. flat/N: N files in one
// directory that has no resource, so every parent-directory question up to `/` is a miss.

import { addAutoEdges } from '../../../src/graph/autoedge.js';
import { MutableGraph, type BuildVertex } from '../../../src/graph/mutable.js';
import { DEFAULT_META, type Meta } from '../../../src/graph/spec.js';
import { file } from '../../../src/resources/file.js';
import type { AnyResourceKind } from '../../../src/core/kind.js';
import { makeResult, type Scenario, type ScenarioResult } from '../lib/scenario.js';
import { median, percentile, repeat, round } from '../lib/stats.js';

const BASELINE_NAME = 'mgmt 1.1.0 published';
// Untimed runs first, so the figure is the optimised code's, as Go's benchmark loop measures.
const WARMUP_RUNS = 5;

/** autoedgeVertex builds a compiler vertex of kind `def` named `name`, its params over the kind's defaults. */
export function autoedgeVertex(
  def: AnyResourceKind,
  name: string,
  params: Record<string, unknown> = {},
  meta: Partial<Meta> = {},
): BuildVertex {
  const id = `${def.kind}[${name}]`;
  const member = { id, kind: def.kind, name, params: { ...def.defaults(name), ...params }, meta: { ...DEFAULT_META, ...meta } };
  return { ...member, def, members: [member] };
}

/** treePaths lists upstream's tree shape: `n` files three levels down and every directory above them up to /tmp/bench/. */
export function treePaths(n: number): string[] {
  const files: string[] = [];
  const dirs = new Set<string>();
  for (let i = 0; i < n; i++) {
    const d1 = `/tmp/bench/d${Math.floor(i / 100)}/`;
    const d2 = `${d1}d${Math.floor(i / 10) % 10}/`;
    dirs.add(d1);
    dirs.add(d2);
    files.push(`${d2}f${i}`);
  }
  return [...files, ...dirs];
}

/** flatPaths lists upstream's flat shape: `n` files in one directory that is not itself managed. */
export function flatPaths(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `/tmp/bench/flat/f${i}`);
}

/** fileGraph builds a compiler graph of the given file vertices and no edges. */
export function fileGraph(vertices: readonly BuildVertex[]): MutableGraph {
  const graph = new MutableGraph();
  for (const vertex of vertices) graph.addVertex(vertex);
  return graph;
}

/** Shape is one benchmark case and the figure mgmt 1.1.0 published for it. */
interface Shape {
  readonly shape: 'tree' | 'flat';
  readonly n: number;
  readonly publishedMs: number;
}

const SHAPES: readonly Shape[] = [
  { shape: 'tree', n: 100, publishedMs: 0.41 },
  { shape: 'tree', n: 1000, publishedMs: 4.7 },
  { shape: 'tree', n: 10000, publishedMs: 53 },
  { shape: 'flat', n: 1000, publishedMs: 3.1 },
];

async function runShape({ shape, n, publishedMs }: Shape, name: string, progress: (message: string) => void): Promise<ScenarioResult> {
  const paths = shape === 'tree' ? treePaths(n) : flatPaths(n);
  const vertices = paths.map((path) => autoedgeVertex(file, path));
  const once = (): { total: number; stage: number; edges: number } => {
    const started = performance.now();
    const graph = fileGraph(vertices);
    const stageStarted = performance.now();
    const stats = addAutoEdges(graph);
    const ended = performance.now();
    return { total: ended - started, stage: ended - stageStarted, edges: stats.added };
  };
  for (let i = 0; i < WARMUP_RUNS; i++) once();
  const runs = await repeat({ min: 20, max: 1000, budgetMs: 3_000 }, async () => once());
  const totals = runs.map((run) => run.total);
  const figure = median(totals);
  progress(`${shape}/${n}: ${figure.toFixed(2)} ms (published ${publishedMs} ms), ${runs[0]!.edges} edges, ${runs.length} runs`);
  return makeResult(
    {
      scenario: name,
      figure,
      baseline: publishedMs,
      baselineName: BASELINE_NAME,
      target: 'ratio < 1',
      pass: figure < publishedMs,
      runs: runs.length,
    },
    {
      shape: `${shape}/${n}`,
      vertices: vertices.length,
      edges: runs[0]!.edges,
      stageMs: round(median(runs.map((run) => run.stage))),
      p90: round(percentile(totals, 90)),
      measures: 'new graph + add vertices + addAutoEdges, like upstream BenchmarkAutoEdge',
    },
  );
}

/** autoedgeScenarios are the autoedge benchmarks, one JSON line per shape of upstream's BenchmarkAutoEdge. */
export const autoedgeScenarios: readonly Scenario[] = SHAPES.map((shape) => {
  const name = `autoedge-${shape.shape}-${shape.n}`;
  return {
    name,
    doc: `autoedges on ${shape.shape}/${shape.n} files vs mgmt 1.1.0's published ${shape.publishedMs} ms (target ratio < 1)`,
    run: (ctx) => runShape(shape, name, ctx.progress),
  };
});
