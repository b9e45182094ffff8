import { compareStrings } from './canonical.js';

/** TopoEdge is a dependency between two node ids: `from` must come before `to`. */
export interface TopoEdge {
  readonly from: string;
  readonly to: string;
}

/** TopoResult is the dependency order of a graph, or the cycles that prevent one. */
export interface TopoResult {
  /** Every node, parents before children, ties by id; when there are cycles, only the nodes that could be ordered. */
  readonly order: readonly string[];
  /** Each cycle as a path from its smallest id back to it (`[a, b, a]`); empty when the graph is acyclic. */
  readonly cycles: readonly (readonly string[])[];
}

/** TopoOptions say what the caller knows of its nodes already. */
export interface TopoOptions {
  /** The nodes come in strictly ascending order (a MutableGraph's when idOrdered): they are not sorted again. */
  readonly ascending?: boolean;
}

/**
 * topoSort orders nodes so every edge points forward (Kahn's algorithm). Among nodes that are
 * ready at the same time the smallest id goes first, so the order depends only on the graph,
 * never on the order nodes or edges were given in. Edges naming unknown nodes are a bug.
 *
 * The ids are sorted once and the sort runs on their ranks, in typed arrays: a node's rank is
 * its id's place in that order, so the ready heap compares numbers, and no Map or Set is made per
 * node (at 100,000 nodes the maps and string comparisons were 0.6 s of a 0.7 s sort).
 */
export function topoSort(nodes: Iterable<string>, edges: Iterable<TopoEdge>, options: TopoOptions = {}): TopoResult {
  const ids = options.ascending ? [...nodes] : sortedIds(nodes);
  const given = Array.isArray(edges) ? (edges as readonly TopoEdge[]) : [...edges];
  // Without edges every node is ready at once: the order is the ids' (10,000 files: no heap, no ranks).
  if (given.length === 0) return { order: ids, cycles: [] };
  const rankOf = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) rankOf.set(ids[i]!, i);
  const froms: number[] = [];
  const tos: number[] = [];
  for (const { from, to } of given) {
    const f = rankOf.get(from);
    const t = rankOf.get(to);
    if (f === undefined || t === undefined) throw new Error(`toposort: edge ${from} -> ${to} names a node that is not in the graph`);
    froms.push(f);
    tos.push(t);
  }
  const { start, targets } = compressed(ids.length, froms, tos);
  // A repeated edge adds to its target's indegree twice and takes it off twice: it counts once.
  const indegree = new Int32Array(ids.length);
  for (const to of tos) indegree[to]! += 1;
  const ready = new RankHeap(ids.length);
  for (let rank = 0; rank < ids.length; rank++) if (indegree[rank] === 0) ready.push(rank);
  const order: string[] = [];
  while (ready.size > 0) {
    const rank = ready.pop();
    order.push(ids[rank]!);
    for (let k = start[rank]!; k < start[rank + 1]!; k++) {
      const to = targets[k]!;
      indegree[to]! -= 1;
      if (indegree[to] === 0) ready.push(to);
    }
  }
  if (order.length === ids.length) return { order, cycles: [] };
  const successors = new Map<string, string[]>();
  for (let rank = 0; rank < ids.length; rank++) {
    const next = [...new Set(targets.subarray(start[rank]!, start[rank + 1]!))].sort((a, b) => a - b);
    successors.set(ids[rank]!, next.map((to) => ids[to]!));
  }
  return { order, cycles: cyclesOf(ids, successors) };
}

/** sortedIds lists the distinct nodes in id order; nodes given in strictly ascending order are taken as they are. */
function sortedIds(nodes: Iterable<string>): string[] {
  const ids = [...nodes];
  for (let i = 1; i < ids.length; i++) if (!(ids[i - 1]! < ids[i]!)) return [...new Set(ids)].sort(compareStrings);
  return ids;
}

/** compressed lays the edges out by source: the targets of rank r are targets[start[r]] to targets[start[r + 1] - 1]. */
function compressed(size: number, froms: readonly number[], tos: readonly number[]): { start: Int32Array; targets: Int32Array } {
  const start = new Int32Array(size + 1);
  for (const from of froms) start[from + 1]! += 1;
  for (let rank = 0; rank < size; rank++) start[rank + 1]! += start[rank]!;
  const fill = start.slice(0, size);
  const targets = new Int32Array(froms.length);
  for (let k = 0; k < froms.length; k++) targets[fill[froms[k]!]!++] = tos[k]!;
  return { start, targets };
}

/** findCycles returns one shortest cycle per strongly connected component that has one, ordered by smallest id. */
export function findCycles(nodes: Iterable<string>, edges: Iterable<TopoEdge>): string[][] {
  const { ids, successors } = adjacency(nodes, edges);
  return cyclesOf(ids, successors);
}

/** formatCycle renders a cycle as a readable path: `exec[a] => exec[b] => exec[a]`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' => ');
}

/** adjacency builds sorted, de-duplicated successor lists so every walk below is deterministic. */
function adjacency(
  nodes: Iterable<string>,
  edges: Iterable<TopoEdge>,
): { ids: string[]; successors: Map<string, string[]> } {
  const sets = new Map<string, Set<string>>();
  for (const id of nodes) sets.set(id, new Set());
  for (const { from, to } of edges) {
    const targets = sets.get(from);
    if (!targets || !sets.has(to)) throw new Error(`toposort: edge ${from} -> ${to} names a node that is not in the graph`);
    targets.add(to);
  }
  const ids = [...sets.keys()].sort(compareStrings);
  const successors = new Map<string, string[]>();
  for (const id of ids) successors.set(id, [...sets.get(id)!].sort(compareStrings));
  return { ids, successors };
}

/** cyclesOf finds the strongly connected components (Tarjan, iterative) and a shortest cycle in each. */
function cyclesOf(ids: readonly string[], successors: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  // An explicit stack of (node, next successor to visit): graphs of 10k vertices would overflow recursion.
  for (const root of ids) {
    if (index.has(root)) continue;
    const work: { id: string; next: number }[] = [{ id: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter);
    counter += 1;
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const targets = successors.get(frame.id)!;
      if (frame.next < targets.length) {
        const to = targets[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter);
          counter += 1;
          stack.push(to);
          onStack.add(to);
          work.push({ id: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        components.push(component);
      }
    }
  }
  const cycles: string[][] = [];
  for (const component of components) {
    const start = component.reduce((a, b) => (compareStrings(a, b) <= 0 ? a : b));
    if (component.length === 1 && !successors.get(start)!.includes(start)) continue;
    cycles.push(shortestCycle(start, new Set(component), successors));
  }
  return cycles.sort((a, b) => compareStrings(a[0]!, b[0]!));
}

/** shortestCycle walks breadth-first from `start` inside its component back to `start`. */
function shortestCycle(
  start: string,
  component: ReadonlySet<string>,
  successors: ReadonlyMap<string, readonly string[]>,
): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const to of successors.get(id)!) {
      if (to === start) {
        const path = [start];
        for (let at: string | undefined = id; at !== start && at !== undefined; at = parent.get(at)) path.push(at);
        // path is start, id, ..., (back towards start); reverse the inner part to read forward.
        return [start, ...path.slice(1).reverse(), start];
      }
      if (!component.has(to) || parent.has(to)) continue;
      parent.set(to, id);
      queue.push(to);
    }
  }
  throw new Error(`toposort: no cycle through ${start} although its component has one`);
}

/** RankHeap is a binary heap of ranks, smallest first (Kahn's ready set); it holds at most `capacity`. */
class RankHeap {
  private readonly items: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Int32Array(capacity);
  }

  push(item: number): void {
    const items = this.items;
    let at = this.size++;
    while (at > 0) {
      const up = (at - 1) >> 1;
      if (items[up]! <= item) break;
      items[at] = items[up]!;
      at = up;
    }
    items[at] = item;
  }

  /** pop removes and returns the smallest rank; the heap must not be empty. */
  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items[--this.size]!;
    const size = this.size;
    let at = 0;
    for (;;) {
      const left = at * 2 + 1;
      if (left >= size) break;
      const right = left + 1;
      const child = right < size && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[at] = items[child]!;
      at = child;
    }
    items[at] = last;
    return top;
  }
}
