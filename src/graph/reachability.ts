import { compareStrings } from './canonical.js';
import type { MutableGraph } from './mutable.js';

// Walks over a graph's structure by dense vertex numbers: autogroup walks the graph thousands of
// times, so the walks keep their state in typed arrays, never hash an id, allocate nothing per
// step and never clear an array the size of the graph.

/** Direction says which way a walk follows edges: `down` from parent to child, `up` from child to parent. */
export type Direction = 'down' | 'up';

/** opposite is the other direction. */
export function opposite(direction: Direction): Direction {
  return direction === 'down' ? 'up' : 'down';
}

/**
 * Adjacency is the structure of a MutableGraph as sets of vertex numbers, both ways. It is a copy
 * taken when it is made: whoever changes the graph's edges afterwards mirrors each change here.
 */
export class Adjacency {
  /** ids holds the id of each vertex number. */
  readonly ids: readonly string[];
  private readonly numbers = new Map<string, number>();
  private readonly down: Set<number>[] = [];
  private readonly up: Set<number>[] = [];

  constructor(graph: MutableGraph) {
    const ids: string[] = [];
    for (const id of graph.vertices.keys()) {
      this.numbers.set(id, ids.length);
      ids.push(id);
      this.down.push(new Set());
      this.up.push(new Set());
    }
    this.ids = ids;
    for (let from = 0; from < ids.length; from++) for (const child of graph.children(ids[from]!)) this.link(from, this.of(child));
  }

  /** size is how many vertices were numbered. */
  get size(): number {
    return this.ids.length;
  }

  /** of returns the number of `id`; an id the graph did not have is a bug. */
  of(id: string): number {
    const number = this.numbers.get(id);
    if (number === undefined) throw new Error(`reachability: vertex ${id} was not in the graph when it was numbered`);
    return number;
  }

  /** next returns the vertices one edge away from `number` in `direction`. Do not modify it. */
  next(number: number, direction: Direction): ReadonlySet<number> {
    return direction === 'down' ? this.down[number]! : this.up[number]!;
  }

  /** link records the edge from → to. */
  link(from: number, to: number): void {
    this.down[from]!.add(to);
    this.up[to]!.add(from);
  }

  /** unlink forgets the edge from → to. */
  unlink(from: number, to: number): void {
    this.down[from]!.delete(to);
    this.up[to]!.delete(from);
  }

  /** isolated says whether `number` has no edge at all. */
  isolated(number: number): boolean {
    return this.down[number]!.size === 0 && this.up[number]!.size === 0;
  }
}

/** Marks is a set of vertex numbers that empties in O(1): a mark is a stamp of the current generation. */
export class Marks {
  private readonly stamps: Uint32Array;
  private generation = 1;

  constructor(size: number) {
    this.stamps = new Uint32Array(size);
  }

  /** has says whether `number` is marked. */
  has(number: number): boolean {
    return this.stamps[number] === this.generation;
  }

  /** add marks `number`. */
  add(number: number): void {
    this.stamps[number] = this.generation;
  }

  /** clear unmarks everything. */
  clear(): void {
    this.generation += 1;
    // After 2^32 - 1 generations the stamps would start to repeat: start over from zeroed stamps.
    if (this.generation === 0xffffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }
}

/**
 * Reach is what one root vertex reaches walking one direction (its descendants, or its
 * ancestors), each with its distance from the root, kept exact while edges are added at the root.
 * It answers "is x related to the root" with one lookup and gives a shortest path in time
 * proportional to the path, where a breadth-first search per question would walk the whole
 * region between the two each time.
 */
export class Reach {
  private readonly marks: Marks;
  private readonly distance: Int32Array;
  private readonly queue: Int32Array;
  private root = -1;

  constructor(
    private readonly adjacency: Adjacency,
    private readonly direction: Direction,
  ) {
    this.marks = new Marks(adjacency.size);
    this.distance = new Int32Array(adjacency.size);
    this.queue = new Int32Array(adjacency.size);
  }

  /** reset makes `root` the root and walks everything it reaches. */
  reset(root: number): void {
    this.marks.clear();
    this.root = root;
    this.relax([root], 0);
  }

  /** has says whether the root reaches `number` (or is it). */
  has(number: number): boolean {
    return this.marks.has(number);
  }

  /**
   * extend records that the root now has edges to `next` (in its direction): vertices it did not
   * reach are added, and distances shrink where the new edges make shorter paths.
   */
  extend(next: Iterable<number>): void {
    this.relax(next, 1);
  }

  /**
   * pathFrom returns a shortest path from `far` (which the root reaches) to the root, listed from
   * `far`. Of all shortest paths it is the one whose ids, read from `far`, are smallest, so the
   * choice never depends on the order edges were added in.
   */
  pathFrom(far: number): number[] {
    const { adjacency, marks, distance } = this;
    if (!marks.has(far)) throw new Error(`reachability: ${adjacency.ids[far]!} is not reached from ${adjacency.ids[this.root]!}`);
    // One step away is a direct edge: no neighbour needs looking at (a hub with thousands of them).
    if (distance[far] === 1) return [far, this.root];
    const back = opposite(this.direction);
    const path = [far];
    for (let at = far; at !== this.root; ) {
      const want = distance[at]! - 1;
      let best = -1;
      for (const next of adjacency.next(at, back)) {
        if (!marks.has(next) || distance[next] !== want) continue;
        if (best < 0 || compareStrings(adjacency.ids[next]!, adjacency.ids[best]!) < 0) best = next;
      }
      // Distances are exact, so a vertex one step closer to the root always exists.
      at = best;
      path.push(best);
    }
    return path;
  }

  // relax is a breadth-first walk from `starts`, all at distance `from`, that only enters a vertex
  // it improves. With every start at the same distance, the first improvement of a vertex is its
  // final distance, so each vertex enters the queue at most once.
  private relax(starts: Iterable<number>, from: number): void {
    const { adjacency, marks, distance, queue, direction } = this;
    let tail = 0;
    for (const start of starts) {
      if (marks.has(start) && distance[start]! <= from) continue;
      marks.add(start);
      distance[start] = from;
      queue[tail++] = start;
    }
    for (let head = 0; head < tail; head++) {
      const at = queue[head]!;
      const step = distance[at]! + 1;
      for (const next of adjacency.next(at, direction)) {
        if (marks.has(next) && distance[next]! <= step) continue;
        marks.add(next);
        distance[next] = step;
        queue[tail++] = next;
      }
    }
  }
}

/** hasCycle says whether the graph has a dependency cycle (Kahn's algorithm). */
export function hasCycle(adjacency: Adjacency): boolean {
  return topologicalRanks(adjacency) === undefined;
}

/**
 * topologicalRanks numbers the vertices so that every edge goes from a lower rank to a higher one
 * (Kahn's algorithm), indexed by vertex number; undefined when the graph has a cycle.
 */
export function topologicalRanks(adjacency: Adjacency): Int32Array | undefined {
  const indegree = new Int32Array(adjacency.size);
  const rank = new Int32Array(adjacency.size);
  const ready: number[] = [];
  for (let number = 0; number < adjacency.size; number++) {
    indegree[number] = adjacency.next(number, 'up').size;
    if (indegree[number] === 0) ready.push(number);
  }
  let ordered = 0;
  while (ready.length > 0) {
    const at = ready.pop()!;
    rank[at] = ordered++;
    for (const child of adjacency.next(at, 'down')) {
      indegree[child] -= 1;
      if (indegree[child] === 0) ready.push(child);
    }
  }
  return ordered === adjacency.size ? rank : undefined;
}
