import type { Edge, Graph } from '../graph/graph.js';
import type { VertexWorker } from './worker.js';

const NO_EDGES: readonly Edge[] = Object.freeze([]);
const NO_WORKERS: readonly VertexWorker[] = Object.freeze([]);

/**
 * linkWorkers gives the workers of a swap their parents' and children's edges and workers, so that
 * the run loop, the parent gate and pokeReadyChildren look nothing up by id: a Map lookup per edge
 * and per pass was 1.4 s of a 100,000-noop chain's 8.3 s profile. Linked are the new workers, the
 * kept neighbours of removed ones (their lists name a stopped worker), and, when the edges changed,
 * every worker whose own edge lists did. It returns the kept workers whose parents changed (their
 * parent ids, as listed before and after): the swap pokes them, as their gate must be asked anew.
 */
export function linkWorkers(
  graph: Graph,
  workers: ReadonlyMap<string, VertexWorker>,
  generation: number,
  fresh: readonly VertexWorker[],
  removed: readonly VertexWorker[],
  edgesChanged: boolean,
): VertexWorker[] {
  const reparented: VertexWorker[] = [];
  const link = (worker: VertexWorker, kept: boolean): void => {
    if (worker.linkedIn === generation) return;
    worker.linkedIn = generation;
    const parentEdges = graph.incoming.get(worker.vertex.id) ?? NO_EDGES;
    const childEdges = graph.outgoing.get(worker.vertex.id) ?? NO_EDGES;
    if (kept && !sameParents(worker.parentEdges, parentEdges)) reparented.push(worker);
    worker.link(parentEdges, workersOf(parentEdges, 'from', workers), childEdges, workersOf(childEdges, 'to', workers));
  };
  for (const worker of fresh) link(worker, false);
  for (const gone of removed) {
    for (const worker of gone.parents) if (worker.generation === generation) link(worker, true);
    for (const worker of gone.children) if (worker.generation === generation) link(worker, true);
  }
  if (!edgesChanged) return reparented;
  for (const worker of workers.values()) {
    if (worker.linkedIn === generation) continue;
    const { id } = worker.vertex;
    if (!sameEdges(worker.parentEdges, graph.incoming.get(id) ?? NO_EDGES) || !sameEdges(worker.childEdges, graph.outgoing.get(id) ?? NO_EDGES)) {
      link(worker, true);
    }
  }
  return reparented;
}

/** sameParents says whether two lists of incoming edges come from the same vertices, in order. */
function sameParents(before: readonly Edge[], after: readonly Edge[]): boolean {
  if (before.length !== after.length) return false;
  for (let i = 0; i < before.length; i++) if (before[i]!.from !== after[i]!.from) return false;
  return true;
}

/** workersOf lists the worker at the `end` of each edge, index by index. */
function workersOf(edges: readonly Edge[], end: 'from' | 'to', workers: ReadonlyMap<string, VertexWorker>): readonly VertexWorker[] {
  // Most vertices of a large graph have no edges: they share one empty list.
  if (edges.length === 0) return NO_WORKERS;
  const out = new Array<VertexWorker>(edges.length);
  for (let i = 0; i < edges.length; i++) {
    const worker = workers.get(edges[i]![end]);
    // A graph's edges join its vertices: a missing end is a bug of the graph's builder.
    if (!worker) throw new Error(`engine: edge ${edges[i]!.from} -> ${edges[i]!.to} names no vertex of the graph`);
    out[i] = worker;
  }
  return out;
}

/** sameEdges compares two edge lists by their ends and notify flags. */
export function sameEdges(before: readonly Edge[], after: readonly Edge[]): boolean {
  if (before.length !== after.length) return false;
  for (let i = 0; i < before.length; i++) {
    const a = before[i]!;
    const b = after[i]!;
    if (a.from !== b.from || a.to !== b.to || a.notify !== b.notify) return false;
  }
  return true;
}
