import type { BuildVertex } from './mutable.js';
import type { Adjacency, Direction } from './reachability.js';

// The reachability between the members of one autogroup family (the vertices whose kinds share
// a first `:` chunk), as two bit matrices: row p of `down` holds the family positions that member
// p reaches, row p of `up` those that reach it. Paths may run through any vertex of the graph,
// but only members are ever compared, so only member columns are kept: a family of F members
// costs F/32 words per row, and a candidate test is one bit.
//
// Merging two mutually unreachable vertices v and w makes everything that reached either reach
// both and everything either reached, and nothing else: the new pairs are exactly
// (up(v) + up(w) + {v}) x (down(v) + down(w) + {v}). Restricting that to members needs only member
// rows, so the matrices stay exact through every merge inside the family. A merge in another
// family can also add pairs between these members, so the owner rebuilds the matrices each time
// it comes back to the family.

/** wordsFor returns how many 32-bit words hold `size` bits. */
export function wordsFor(size: number): number {
  return (size + 31) >>> 5;
}

/** orInto sets in `target` every bit set in `source`. */
export function orInto(target: Uint32Array, source: Uint32Array): void {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! | source[i]!;
}

/** setBit sets bit `position` of `bits`. */
export function setBit(bits: Uint32Array, position: number): void {
  bits[position >>> 5] = bits[position >>> 5]! | (1 << (position & 31));
}

/** clearBit clears bit `position` of `bits`. */
export function clearBit(bits: Uint32Array, position: number): void {
  bits[position >>> 5] = bits[position >>> 5]! & ~(1 << (position & 31));
}

/** isSet says whether bit `position` of `bits` is set. */
export function isSet(bits: Uint32Array, position: number): boolean {
  return (bits[position >>> 5]! & (1 << (position & 31))) !== 0;
}

/** forEachBit calls `visit` with the position of every bit set in both `bits` and `mask`, lowest first. */
export function forEachBit(bits: Uint32Array, mask: Uint32Array, visit: (position: number) => void): void {
  for (let k = 0; k < bits.length; k++) {
    let word = bits[k]! & mask[k]!;
    while (word !== 0) {
      const low = word & -word;
      word ^= low;
      visit((k << 5) | (31 - Math.clz32(low)));
    }
  }
}

/**
 * RowSlab hands out zeroed rows carved from large shared buffers: thousands of small typed arrays
 * would each need their own buffer, which costs far more to allocate and collect than the bits.
 */
class RowSlab {
  private slab = new Uint32Array(0);
  private used = 0;

  constructor(private readonly words: number) {}

  /** row returns a new zeroed row. */
  row(): Uint32Array {
    if (this.used + this.words > this.slab.length) {
      this.slab = new Uint32Array(Math.max(this.words, 1 << 16));
      this.used = 0;
    }
    const row = this.slab.subarray(this.used, this.used + this.words);
    this.used += this.words;
    return row;
  }

  /** copy returns a new row holding the bits of `bits`. */
  copy(bits: Uint32Array): Uint32Array {
    const row = this.row();
    row.set(bits);
    return row;
  }
}

function isEmpty(bits: Uint32Array): boolean {
  for (let i = 0; i < bits.length; i++) if (bits[i] !== 0) return false;
  return true;
}

/** Closure is what the grouper asks of the reachability between the members of one family. */
export interface Closure {
  /** words is the length of every row: one bit per member position. */
  readonly words: number;
  /** below returns the positions the member at `p` reaches (undefined = none). Do not modify it. */
  below(p: number): Uint32Array | undefined;
  /** above returns the positions that reach the member at `p` (undefined = none). Do not modify it. */
  above(p: number): Uint32Array | undefined;
  /** join records that the member at `p` absorbed others and now reaches `below` and is reached from `above`. */
  join(p: number, below: Uint32Array, above: Uint32Array, alive: Uint32Array): void;
  /** settled says, when it can tell without a scan, that the member at `p` is related to every live member after it. */
  settled(p: number): boolean;
}

/** FamilyClosure is the reachability between the members of one family, kept exact through merges inside it. */
export class FamilyClosure implements Closure {
  /** words is the length of every row: one bit per member position. */
  readonly words: number;
  private readonly down: (Uint32Array | undefined)[];
  private readonly up: (Uint32Array | undefined)[];
  private readonly slab: RowSlab;
  /** The rows several members share (memberRows' one-bit rows): copied before they are changed. */
  private readonly shared: ReadonlySet<Uint32Array>;

  private constructor(size: number, slab: RowSlab, down?: (Uint32Array | undefined)[], up?: (Uint32Array | undefined)[], shared?: ReadonlySet<Uint32Array>) {
    this.words = wordsFor(size);
    this.slab = slab;
    this.down = down ?? new Array<Uint32Array | undefined>(size).fill(undefined);
    this.up = up ?? new Array<Uint32Array | undefined>(size).fill(undefined);
    this.shared = shared ?? new Set();
  }

  /**
   * build computes the closure of the members still in the graph (bit p of `alive` set) from the
   * graph as it is now. Members without any edge reach nothing and cost nothing, so a family of
   * isolated vertices is free whatever its size.
   */
  static build(adjacency: Adjacency, members: readonly BuildVertex[], alive: Uint32Array): FamilyClosure {
    const position = new Int32Array(adjacency.size).fill(-1);
    const connected: number[] = [];
    for (let p = 0; p < members.length; p++) {
      if (!isSet(alive, p)) continue;
      const number = adjacency.of(members[p]!.id);
      position[number] = p;
      if (!adjacency.isolated(number)) connected.push(number);
    }
    // Two members can only reach each other if both have an edge.
    const slab = new RowSlab(wordsFor(members.length));
    if (connected.length < 2) return new FamilyClosure(members.length, slab);
    const single = new OneBitRows(slab);
    return new FamilyClosure(
      members.length,
      slab,
      memberRows(adjacency, position, connected, slab, single, 'down', members.length),
      memberRows(adjacency, position, connected, slab, single, 'up', members.length),
      single.rows,
    );
  }

  /** below returns the positions the member at `p` reaches (undefined = none). Do not modify it. */
  below(p: number): Uint32Array | undefined {
    return this.down[p];
  }

  /** above returns the positions that reach the member at `p` (undefined = none). Do not modify it. */
  above(p: number): Uint32Array | undefined {
    return this.up[p];
  }

  /** settled is false: only a scan of the rows can tell. */
  settled(): boolean {
    return false;
  }

  /**
   * join records that the member at `p` absorbed others and now reaches `below` and is reached
   * from `above` (the unions over its whole group); every live member above it now reaches it and
   * all it reaches, and symmetrically below.
   */
  join(p: number, below: Uint32Array, above: Uint32Array, alive: Uint32Array): void {
    this.down[p] = isEmpty(below) ? undefined : this.slab.copy(below);
    this.up[p] = isEmpty(above) ? undefined : this.slab.copy(above);
    forEachBit(above, alive, (x) => {
      const row = this.own(this.down, x);
      orInto(row, below);
      setBit(row, p);
    });
    forEachBit(below, alive, (y) => {
      const row = this.own(this.up, y);
      orInto(row, above);
      setBit(row, p);
    });
  }

  /** own returns row `x` of `rows` to change in place: a new one for none, a copy of a shared one. */
  private own(rows: (Uint32Array | undefined)[], x: number): Uint32Array {
    const row = rows[x];
    if (row === undefined) return (rows[x] = this.slab.row());
    return this.shared.has(row) ? (rows[x] = this.slab.copy(row)) : row;
  }
}

/**
 * OneBitRows hands out the row holding one member's bit, one row per member: a vertex whose only
 * contribution is one member that reaches no other (the children of a hub) shares it, where a
 * row each made the matrix of an N-noop fan-out N^2 bits (loading a 40,000-noop fan-out peaked at
 * 394 MB, now 230 MB).
 */
class OneBitRows {
  private readonly byPosition = new Map<number, Uint32Array>();
  /** rows holds every row handed out. */
  readonly rows = new Set<Uint32Array>();

  constructor(private readonly slab: RowSlab) {}

  /** of returns the row holding only bit `p`. */
  of(p: number): Uint32Array {
    let row = this.byPosition.get(p);
    if (row === undefined) {
      row = this.slab.row();
      setBit(row, p);
      this.byPosition.set(p, row);
      this.rows.add(row);
    }
    return row;
  }
}

/**
 * memberRows computes, for each member in `starts`, the member positions it reaches walking
 * `direction`. A depth-first walk in post-order (iterative: chains of 10,000 vertices would
 * overflow the stack) gives each vertex the union of its neighbours' rows plus the neighbours
 * that are members. A vertex that reaches no member keeps no row; a non-member whose only
 * contribution is one non-member's row shares that row instead of copying it (a long path of
 * plain vertices costs one row, not one each), and a vertex whose only contribution is one member
 * without a row shares that member's one-bit row (OneBitRows). Every other member row is its own;
 * the closure copies a shared one before it changes it.
 */
function memberRows(
  adjacency: Adjacency,
  position: Int32Array,
  starts: readonly number[],
  slab: RowSlab,
  single: OneBitRows,
  direction: Direction,
  size: number,
): (Uint32Array | undefined)[] {
  const OPEN = 1;
  const DONE = 2;
  const state = new Uint8Array(adjacency.size);
  const rowOf: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(adjacency.size);
  const nodes: number[] = [];
  const pending: Iterator<number>[] = [];
  const contributors: number[] = [];

  const rowAt = (at: number): Uint32Array | undefined => {
    contributors.length = 0;
    for (const next of adjacency.next(at, direction)) {
      if (position[next]! >= 0 || rowOf[next] !== undefined) contributors.push(next);
    }
    if (contributors.length === 0) return undefined;
    const only = contributors[0]!;
    if (contributors.length === 1 && position[at]! < 0 && position[only]! < 0) return rowOf[only];
    if (contributors.length === 1 && position[only]! >= 0 && rowOf[only] === undefined) return single.of(position[only]!);
    const row = slab.row();
    for (const number of contributors) {
      const below = rowOf[number];
      if (below !== undefined) orInto(row, below);
      const p = position[number]!;
      if (p >= 0) setBit(row, p);
    }
    return row;
  };

  for (const start of starts) {
    if (state[start] !== 0) continue;
    state[start] = OPEN;
    nodes.push(start);
    pending.push(adjacency.next(start, direction).values());
    while (nodes.length > 0) {
      const step = pending[pending.length - 1]!.next();
      if (!step.done) {
        const next = step.value;
        if (state[next] === 0) {
          state[next] = OPEN;
          nodes.push(next);
          pending.push(adjacency.next(next, direction).values());
        } else if (state[next] === OPEN) {
          throw new Error(`autogroup: dependency cycle through ${adjacency.ids[next]!} (the caller checks for cycles first)`);
        }
        continue;
      }
      const at = nodes.pop()!;
      pending.pop();
      state[at] = DONE;
      rowOf[at] = rowAt(at);
    }
  }

  const rows = new Array<Uint32Array | undefined>(size).fill(undefined);
  for (const start of starts) rows[position[start]!] = rowOf[start];
  return rows;
}
