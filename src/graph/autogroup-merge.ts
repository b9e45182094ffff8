import { compareStrings } from './canonical.js';
import type { Edge } from './graph.js';
import type { BuildVertex, MutableGraph } from './mutable.js';
import { Reach, type Adjacency } from './reachability.js';
import type { Meta } from './spec.js';

// The edge surgery of one merge: the child's edges move to the group, except
// those that an existing path already implies, which are folded into every edge of that path
// instead of becoming a shortcut. Which edges are implied is decided on the graph as it was
// before the merge, so the result does not depend on the order the child's edges are visited in.
// Of several shortest paths the one whose ids, read from the edge's far end, are smallest is taken.
//
// A merged edge is named by the sorted union of the names folded into it. A hub edge can take
// thousands of folds (a fan-in of 5,000 merges into one edge), so the unions are kept as sets while
// the merges run and written as names once, by `settle`: joining strings at every fold would be
// quadratic.

/** edgeNames splits an edge name into the names folded into it (comma-separated, empty ones dropped). */
function edgeNames(name: string): string[] {
  return name.split(',').filter((part) => part !== '');
}

/** PendingName is the set of names an edge will carry once autogroup settles it. */
interface PendingName {
  readonly from: string;
  readonly to: string;
  readonly names: Set<string>;
}

/** joinSemas appends the semaphores of `more` that `meta` lacks, keeping the order of first appearance. */
function joinSemas(meta: Meta, more: readonly string[]): Meta {
  const missing = more.filter((sema, i) => !meta.sema.includes(sema) && more.indexOf(sema) === i);
  if (missing.length === 0) return meta;
  return Object.freeze({ ...meta, sema: Object.freeze([...meta.sema, ...missing]) });
}

/**
 * GroupSurgery merges vertices into one group parent at a time. While a parent takes its turn it
 * keeps the group's ancestors and descendants with their distances (walked on the first merge
 * that moves an edge, then extended by each merge's new edges), so deciding whether an edge is
 * implied is one lookup and its path is read off the distances.
 */
export class GroupSurgery {
  private readonly above: Reach;
  private readonly below: Reach;
  /** Pending names by edge, keyed `from * size + to` over vertex numbers. */
  private readonly pending = new Map<number, PendingName>();
  private group: BuildVertex | undefined;
  private groupNumber = -1;
  private marked = false;

  constructor(
    private readonly graph: MutableGraph,
    private readonly adjacency: Adjacency,
  ) {
    this.above = new Reach(adjacency, 'up');
    this.below = new Reach(adjacency, 'down');
  }

  /** begin starts the turn of `parent`: the merges that follow all go into it. */
  begin(parent: BuildVertex): void {
    this.group = parent;
    this.groupNumber = this.adjacency.of(parent.id);
    this.marked = false;
  }

  /**
   * merge moves `child` into the group of `parent` (which must be mutually unreachable with it):
   * its edges move or fold into paths, its members follow the parent's, its semaphores are added,
   * and it leaves the graph. Names of merged edges are only right after `settle`.
   */
  merge(parent: BuildVertex, child: BuildVertex): void {
    if (parent !== this.group) throw new Error(`autogroup: merge into ${parent.id} during the turn of ${this.group?.id ?? 'nobody'}`);
    const { graph, adjacency } = this;
    const childNumber = adjacency.of(child.id);
    if (!adjacency.isolated(childNumber)) {
      this.markGroup();
      const group = this.groupNumber;
      // Every decision is taken on the graph as it was before this merge: the child's edges are
      // all detached first, and the group's reach is only extended once they have all moved.
      const incoming = [...graph.incoming(child.id)].map((edge) => ({ edge, end: adjacency.of(edge.from) }));
      const outgoing = [...graph.outgoing(child.id)].map((edge) => ({ edge, end: adjacency.of(edge.to) }));
      for (const { edge, end } of incoming) this.detach(edge, end, childNumber);
      for (const { edge, end } of outgoing) this.detach(edge, childNumber, end);
      const newParents: number[] = [];
      const newChildren: number[] = [];
      for (const { edge, end } of incoming) {
        const was = [end, childNumber] as const;
        if (this.above.has(end)) this.fold(edge, was, this.above.pathFrom(end), 'down');
        else {
          this.attach({ from: edge.from, to: parent.id, name: edge.name, notify: edge.notify }, was, end, group);
          newParents.push(end);
        }
      }
      for (const { edge, end } of outgoing) {
        const was = [childNumber, end] as const;
        if (this.below.has(end)) this.fold(edge, was, this.below.pathFrom(end), 'up');
        else {
          this.attach({ from: parent.id, to: edge.to, name: edge.name, notify: edge.notify }, was, group, end);
          newChildren.push(end);
        }
      }
      // The group now also reaches (and is reached from) what the child was: through its new edges.
      this.above.extend(newParents);
      this.below.extend(newChildren);
    }
    graph.removeVertex(child.id);
    parent.members.push(...child.members);
    parent.meta = joinSemas(parent.meta, child.meta.sema);
  }

  /** markGroup walks the group's ancestors and descendants, once per turn, before its first edge moves. */
  private markGroup(): void {
    if (this.marked) return;
    this.above.reset(this.groupNumber);
    this.below.reset(this.groupNumber);
    this.marked = true;
  }

  /** settle writes the name of every edge that took folds: the sorted union of the names folded into it. */
  settle(): void {
    for (const { from, to, names } of this.pending.values()) {
      const edge = this.graph.edge(from, to);
      if (edge) this.graph.setEdge({ ...edge, name: [...names].sort(compareStrings).join(',') });
    }
    this.pending.clear();
  }

  /** detach removes `edge` (numbered from → to) from the graph and its adjacency. */
  private detach(edge: Edge, from: number, to: number): void {
    this.graph.removeEdge(edge.from, edge.to);
    this.adjacency.unlink(from, to);
  }

  /** attach adds `edge` (numbered from → to) in place of the detached edge `was` (numbered too), taking its pending names along. */
  private attach(edge: Edge, was: readonly [number, number], from: number, to: number): void {
    this.graph.setEdge(edge);
    this.adjacency.link(from, to);
    const names = this.take(was[0], was[1]);
    if (names) this.pending.set(this.key(from, to), { from: edge.from, to: edge.to, names });
  }

  /** take removes and returns the pending names of the detached edge from → to, if it has any. */
  private take(from: number, to: number): Set<string> | undefined {
    const key = this.key(from, to);
    const entry = this.pending.get(key);
    if (!entry) return undefined;
    this.pending.delete(key);
    return entry.names;
  }

  private key(from: number, to: number): number {
    return from * this.adjacency.size + to;
  }

  /**
   * fold merges the detached edge `edge` (numbered from → to, for its pending names) into every
   * edge of `path`, a shortest path between its far end and the group listed from the far end;
   * `direction` is the way the path's edges point along it.
   */
  private fold(edge: Edge, was: readonly [number, number], path: readonly number[], direction: 'down' | 'up'): void {
    const { adjacency, graph } = this;
    const names = this.take(was[0], was[1]) ?? edgeNames(edge.name);
    for (let i = 0; i + 1 < path.length; i++) {
      const [from, to] = direction === 'down' ? [path[i]!, path[i + 1]!] : [path[i + 1]!, path[i]!];
      const key = this.key(from, to);
      let entry = this.pending.get(key);
      // The edge object is only needed to start its name set and to turn its notify on.
      if (!entry || edge.notify) {
        const onPath = graph.edge(adjacency.ids[from]!, adjacency.ids[to]!)!;
        if (edge.notify && !onPath.notify) graph.setEdge({ ...onPath, notify: true });
        if (!entry) this.pending.set(key, (entry = { from: onPath.from, to: onPath.to, names: new Set(edgeNames(onPath.name)) }));
      }
      for (const name of names) entry.names.add(name);
    }
  }
}
