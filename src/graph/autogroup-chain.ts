import { isSet, setBit, wordsFor, type Closure } from './autogroup-closure.js';
import type { BuildVertex } from './mutable.js';
import { Marks, topologicalRanks, type Adjacency } from './reachability.js';

// A family whose members with edges all lie on one path (a chain of noops, of execs) has every
// such member related to every other: none of them can ever group with another, and the only
// candidates are the members without edges. Its reachability matrix would say just that in F^2
// bits (a 100,000-noop chain: 34 s of autogroup and a 2.8 GB peak for `mgmt check`; with this
// closure 0.9 s and 0.57 GB), so such a family gets this closure instead, one row for the whole
// family, found in O(V + E).

/**
 * ChainClosure is the reachability of a family whose linked members (those with an edge) are
 * totally ordered: each relates to all the others, the rest to none. Relations have no direction
 * here, as the grouper only asks whether two members are related.
 */
export class ChainClosure implements Closure {
  readonly words: number;

  private constructor(
    private readonly linked: Uint32Array,
    /** The last position that was live and unlinked when built (-1: none): no later member is a candidate for a linked one. */
    private readonly lastUnlinked: number,
  ) {
    this.words = linked.length;
  }

  /**
   * build returns the closure of the live members (bit p of `alive` set) when those with an edge
   * are at least two and totally ordered by reachability, else undefined (the family needs its
   * matrix).
   */
  static build(adjacency: Adjacency, members: readonly BuildVertex[], alive: Uint32Array): ChainClosure | undefined {
    const linked = new Uint32Array(wordsFor(members.length));
    const numbers: number[] = [];
    let lastUnlinked = -1;
    for (let p = 0; p < members.length; p++) {
      if (!isSet(alive, p)) continue;
      const number = adjacency.of(members[p]!.id);
      if (adjacency.isolated(number)) {
        lastUnlinked = p;
        continue;
      }
      numbers.push(number);
      setBit(linked, p);
    }
    if (numbers.length < 2) return undefined;
    const rank = topologicalRanks(adjacency);
    if (rank === undefined) return undefined;
    numbers.sort((a, b) => rank[a]! - rank[b]!);
    // Members are totally ordered when each reaches the next by rank.
    const seen = new Marks(adjacency.size);
    const stack = new Int32Array(adjacency.size);
    for (let i = 1; i < numbers.length; i++) {
      if (!reachesWithin(adjacency, rank, numbers[i - 1]!, numbers[i]!, seen, stack)) return undefined;
    }
    return new ChainClosure(linked, lastUnlinked);
  }

  /** below returns every linked member for a linked `p` (undefined = none). Do not modify it. */
  below(p: number): Uint32Array | undefined {
    return isSet(this.linked, p) ? this.linked : undefined;
  }

  /** above returns undefined: below already holds every member related to `p`. */
  above(): Uint32Array | undefined {
    return undefined;
  }

  /** join records that the member at `p` took in a linked member, and so its place in the order. */
  join(p: number): void {
    setBit(this.linked, p);
  }

  /**
   * settled says whether the member at `p` is linked with no unlinked member after it: its turn
   * then has no candidate, and skipping it spares the chain's turns a row copy and a row scan
   * each (at 100,000 noops those were what stayed quadratic: autogroup took 2.2 s with them, 0.9 s without).
   */
  settled(p: number): boolean {
    return p > this.lastUnlinked && isSet(this.linked, p);
  }
}

/**
 * reachesWithin says whether `from` reaches `to`, walking only vertices ranked below `to`. The
 * checks of consecutive members walk disjoint rank ranges, so `seen` is never cleared and all of
 * them together visit each vertex at most once.
 */
function reachesWithin(adjacency: Adjacency, rank: Int32Array, from: number, to: number, seen: Marks, stack: Int32Array): boolean {
  const limit = rank[to]!;
  let top = 0;
  stack[top++] = from;
  while (top > 0) {
    const at = stack[--top]!;
    for (const next of adjacency.next(at, 'down')) {
      if (next === to) return true;
      if (rank[next]! > limit || seen.has(next)) continue;
      seen.add(next);
      stack[top++] = next;
    }
  }
  return false;
}
