import type { SourcePos } from '../errors.js';
import type { AnyResourceKind } from '../core/kind.js';
import type { Edge, Member } from './graph.js';
import type { Meta } from './spec.js';

/**
 * BuildVertex is a vertex while the graph is being compiled. Its `id` stays the `kind[name]` of
 * the group's parent through autoedges and autogroup; the final id of a group
 * (`kind[autogroup:(a,b,c)]`) is given when the graph is frozen.
 */
export interface BuildVertex {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** The group's meta: the parent's, with every member's semaphores unioned in. */
  meta: Meta;
  readonly def: AnyResourceKind;
  /** Every resource this vertex stands for, the parent first, then the others as merged. */
  readonly members: Member[];
  readonly pos?: SourcePos;
}

/** BuildEdge is an edge while the graph is being compiled; `refresh` is a pending refresh flag. */
export type BuildEdge = Edge;

/** NO_EDGES stands for the edges of a vertex that has none; it is never written to. */
const NO_EDGES: ReadonlyMap<string, BuildEdge> = new Map();

/**
 * MutableGraph is the compiler's working graph: vertices by id and one edge per ordered pair,
 * indexed both ways so autoedge and autogroup can add, find and move edges in O(1). A vertex gets
 * its edge maps with its first edge: two empty Maps are ~200 bytes, 4 MB of garbage for a graph
 * of 10,000 files without edges.
 */
export class MutableGraph {
  readonly vertices = new Map<string, BuildVertex>();
  private readonly out = new Map<string, Map<string, BuildEdge>>();
  private readonly in = new Map<string, Map<string, BuildEdge>>();
  /** The highest id added so far. */
  private highest: string | undefined;
  #idOrdered = true;

  /**
   * idOrdered says whether every vertex was added in ascending id order, so that `vertices`
   * iterates in id order (removing vertices keeps it so): the stages that want that order then
   * need not sort the ids.
   */
  get idOrdered(): boolean {
    return this.#idOrdered;
  }

  /** addVertex adds a vertex with no edges; its id must be new. */
  addVertex(vertex: BuildVertex): void {
    const id = vertex.id;
    // An id above every one added cannot be taken: only one out of order is looked up (10,000
    // files compiled in id order skip 10,000 lookups).
    if (this.highest === undefined || this.highest < id) this.highest = id;
    else {
      if (this.vertices.has(id)) throw new Error(`graph: vertex ${id} added twice`);
      this.#idOrdered = false;
    }
    this.vertices.set(id, vertex);
  }

  /** removeVertex deletes a vertex and every edge touching it. */
  removeVertex(id: string): void {
    for (const to of [...this.children(id)]) this.removeEdge(id, to);
    for (const from of [...this.parents(id)]) this.removeEdge(from, id);
    this.vertices.delete(id);
    this.out.delete(id);
    this.in.delete(id);
  }

  /** setEdge adds the edge from → to, replacing the one the pair already had. */
  setEdge(edge: BuildEdge): void {
    if (!this.vertices.has(edge.from) || !this.vertices.has(edge.to)) throw new Error(`graph: edge ${edge.from} -> ${edge.to} names a missing vertex`);
    edgesOf(this.out, edge.from).set(edge.to, edge);
    edgesOf(this.in, edge.to).set(edge.from, edge);
  }

  /** edge returns the edge from → to, if any. */
  edge(from: string, to: string): BuildEdge | undefined {
    return this.out.get(from)?.get(to);
  }

  /** removeEdge deletes the edge from → to, if any. */
  removeEdge(from: string, to: string): void {
    this.out.get(from)?.delete(to);
    this.in.get(to)?.delete(from);
  }

  /** children lists the ids `id` has edges to. */
  children(id: string): IterableIterator<string> {
    return (this.out.get(id) ?? NO_EDGES).keys();
  }

  /** parents lists the ids with edges to `id`. */
  parents(id: string): IterableIterator<string> {
    return (this.in.get(id) ?? NO_EDGES).keys();
  }

  /** outgoing lists the edges leaving `id`. */
  outgoing(id: string): IterableIterator<BuildEdge> {
    return (this.out.get(id) ?? NO_EDGES).values();
  }

  /** incoming lists the edges arriving at `id`. */
  incoming(id: string): IterableIterator<BuildEdge> {
    return (this.in.get(id) ?? NO_EDGES).values();
  }

  /** edges lists every edge. */
  *edges(): IterableIterator<BuildEdge> {
    for (const targets of this.out.values()) yield* targets.values();
  }

  /** edgeCount counts the edges. */
  edgeCount(): number {
    let count = 0;
    for (const targets of this.out.values()) count += targets.size;
    return count;
  }
}

/** edgesOf returns the edge map of `id` in `index`, made on first use. */
function edgesOf(index: Map<string, Map<string, BuildEdge>>, id: string): Map<string, BuildEdge> {
  let edges = index.get(id);
  if (edges === undefined) index.set(id, (edges = new Map()));
  return edges;
}
