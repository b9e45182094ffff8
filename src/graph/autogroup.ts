import type { GroupTrait } from '../core/group.js';
import { ChainClosure } from './autogroup-chain.js';
import { clearBit, FamilyClosure, isSet, orInto, type Closure } from './autogroup-closure.js';
import { groupOrder, type Family, type GroupKey } from './autogroup-families.js';
import { GroupSurgery } from './autogroup-merge.js';
import type { BuildVertex, MutableGraph } from './mutable.js';
import { Adjacency, hasCycle } from './reachability.js';

// Automatic grouping: the non-reachability grouper. Vertices whose kinds
// can group are taken in a fixed order (autogroup-families.ts); each in turn becomes a group
// parent and takes in every later vertex of its family that its kind calls compatible and that
// is, at that moment, neither reachable from the group nor able to reach it. Merging such a pair
// never makes a cycle, and groups stay flat: a vertex that took others in never joins another.
//
// Cost: candidates are only looked for inside a family (same first `:` chunk of the kind, and the
// same key when the caller gives keys), and a candidate test is one bit of the family's
// reachability matrix (autogroup-closure.ts), built in O((V + E) * F / 32) each time the order
// enters the family and updated once per parent that took in a connected vertex; a turn scans its
// candidates 32 at a time. Isolated vertices cost no reachability work at all, and a family whose
// members with edges lie on one path (a chain) costs one row (autogroup-chain.ts). Edge surgery walks
// a group's ancestors and descendants once per turn that moves edges and reads each fold's path
// off their distances (autogroup-merge.ts). What remains quadratic is asking `compatible` about
// every unrelated pair of a family that mostly does not group: that is what keys are for.

/** AutoGroupOptions tunes one autogroup run. */
export interface AutoGroupOptions {
  /** onMerge hears each merge just before it happens, in order: `child` is about to join `parent`'s group. */
  readonly onMerge?: (parent: BuildVertex, child: BuildVertex) => void;
  /**
   * groupKey names a vertex's compatibility bucket, when the caller knows one: a kind's
   * `compatible` is then only asked about pairs with equal keys, so a family of resources that
   * mostly do not group costs O(F) checks instead of O(F^2). A key must never separate two vertices
   * `compatible` would group; undefined means the vertex never groups.
   */
  readonly groupKey?: GroupKey;
}

/** AutoGroupStats says what one autogroup run did. */
export interface AutoGroupStats {
  /** How many vertices took in at least one other (the groups formed). */
  readonly groups: number;
  /** How many vertices were merged into a group and left the graph. */
  readonly merged: number;
  /** How many pairs were handed to a kind's `compatible` (the reachability test goes first). */
  readonly compared: number;
  /** true when the graph has a dependency cycle: it was left untouched so the sort reports the cycle as declared. */
  readonly cyclic: boolean;
}

/**
 * autoGroup merges groupable vertices of `graph` in place: only vertices
 * whose meta agree but for semaphores group (runMetaKey); a merged
 * vertex's members follow its parent's, its semaphores are added to the parent's meta, and its
 * edges are re-attached to the parent or folded into an existing path, so the graph stays acyclic
 * and every dependency survives as a path.
 */
export function autoGroup(graph: MutableGraph, options: AutoGroupOptions = {}): AutoGroupStats {
  const order = groupOrder(graph, options.groupKey);
  if (order.length === 0) return { groups: 0, merged: 0, compared: 0, cyclic: false };
  const adjacency = new Adjacency(graph);
  // Reachability is only defined on a DAG; a cyclic graph fails the sort that follows anyway,
  // and should fail it on the resources as the user declared them.
  if (hasCycle(adjacency)) return { groups: 0, merged: 0, compared: 0, cyclic: true };
  const grouper = new Grouper(new GroupSurgery(graph, adjacency), adjacency, options);
  for (const { family, position } of order) grouper.turn(family, position);
  return grouper.finish();
}

/**
 * Grouper runs the turns. The candidate scans are the hot loops (fifty million candidates for ten
 * thousand resources that never group); they live in small methods of their own, which the
 * engine optimises once and keeps, where a loop inside one long function kept being deoptimised.
 */
class Grouper {
  private groups = 0;
  private merged = 0;
  private compared = 0;
  private family: Family | undefined;
  private closure: Closure | undefined;
  /** What the current group reaches and what reaches it, over its family, as members join. */
  private below = new Uint32Array(0);
  private above = new Uint32Array(0);
  /** Whether the current group's reach grew this turn (its matrix rows then need a join). */
  private grew = false;
  private joined = 0;
  /**
   * The rows last joined into `below` and `above` this turn. Rows change only between turns, so
   * joining one again changes nothing: the children of a hub share one row, and joining it for
   * each of them made a 100,000-noop fan-out's one turn quadratic (its scan 0.95 s, now < 0.05 s).
   */
  private lastBelow: Uint32Array | undefined;
  private lastAbove: Uint32Array | undefined;

  constructor(
    private readonly surgery: GroupSurgery,
    private readonly adjacency: Adjacency,
    private readonly options: AutoGroupOptions,
  ) {}

  /** turn makes the member at `position` of `family` a parent and takes in every candidate it can, in order. */
  turn(family: Family, position: number): void {
    if (!isSet(family.alive, position)) return;
    const closure = this.enter(family);
    if (closure.settled(position)) return;
    const parent = family.members[position]!;
    copyInto(this.below, closure.below(position));
    copyInto(this.above, closure.above(position));
    this.surgery.begin(parent);
    this.grew = false;
    this.joined = 0;
    this.lastBelow = undefined;
    this.lastAbove = undefined;
    const bucket = family.buckets[family.bucketOf ? family.bucketOf[position]! : 0]!;
    const group = parent.def.group!;
    if (bucket.list) this.scanList(family, closure, parent, group, position, bucket.list);
    else this.scanMask(family, closure, parent, group, position, bucket.mask);
    if (this.grew) closure.join(position, this.below, this.above, family.alive);
    if (this.joined > 0) this.groups += 1;
    this.merged += this.joined;
  }

  /** finish settles the merged edges' names and returns the stats. */
  finish(): AutoGroupStats {
    this.surgery.settle();
    return { groups: this.groups, merged: this.merged, compared: this.compared, cyclic: false };
  }

  /** enter returns the closure of `family`, built afresh when the order comes to it from another family. */
  private enter(family: Family): Closure {
    if (family !== this.family || !this.closure) {
      // Merges in other families may have added paths between this family's members since its
      // matrix was last built, so it is rebuilt each time the order comes back to the family.
      this.family = family;
      this.closure = ChainClosure.build(this.adjacency, family.members, family.alive) ?? FamilyClosure.build(this.adjacency, family.members, family.alive);
      this.below = new Uint32Array(this.closure.words);
      this.above = new Uint32Array(this.closure.words);
    }
    return this.closure;
  }

  /** scanMask offers the group every live, unrelated member after `position` (in `mask`, if given), 32 at a time. */
  private scanMask(
    family: Family,
    closure: Closure,
    parent: BuildVertex,
    group: GroupTrait<unknown>,
    position: number,
    mask: Uint32Array | undefined,
  ): void {
    const { alive } = family;
    const { below, above } = this;
    const first = position + 1;
    for (let k = first >>> 5; k < closure.words; k++) {
      let candidates = alive[k]! & ~(below[k]! | above[k]!);
      if (mask) candidates &= mask[k]!;
      if (k === first >>> 5) candidates &= ~0 << (first & 31);
      while (candidates !== 0) {
        const low = candidates & -candidates;
        candidates ^= low;
        // A merge that grew the group's reach may have made later candidates in this word related.
        if (this.offer(family, closure, parent, group, (k << 5) | (31 - Math.clz32(low)))) candidates &= ~(below[k]! | above[k]!);
      }
    }
  }

  /** scanList offers the group every live, unrelated member of a small bucket after `position`. */
  private scanList(family: Family, closure: Closure, parent: BuildVertex, group: GroupTrait<unknown>, position: number, list: Int32Array): void {
    for (let i = firstAfter(list, position); i < list.length; i++) {
      const at = list[i]!;
      if (!isSet(family.alive, at) || isSet(this.below, at) || isSet(this.above, at)) continue;
      this.offer(family, closure, parent, group, at);
    }
  }

  /** offer merges the member at `at` into the group if its kind says they are compatible; says whether the group's reach grew. */
  private offer(family: Family, closure: Closure, parent: BuildVertex, group: GroupTrait<unknown>, at: number): boolean {
    const child = family.members[at]!;
    this.compared += 1;
    if (!group.compatible(parent.params, child.params)) return false;
    clearBit(family.alive, at);
    this.joined += 1;
    this.options.onMerge?.(parent, child);
    this.surgery.merge(parent, child);
    let grew = false;
    const childBelow = closure.below(at);
    if (childBelow !== undefined && childBelow !== this.lastBelow) {
      orInto(this.below, childBelow);
      this.lastBelow = childBelow;
      grew = true;
    }
    const childAbove = closure.above(at);
    if (childAbove !== undefined && childAbove !== this.lastAbove) {
      orInto(this.above, childAbove);
      this.lastAbove = childAbove;
      grew = true;
    }
    if (grew) this.grew = true;
    return grew;
  }
}

/** firstAfter returns the index of the first entry of the sorted `list` greater than `position`. */
function firstAfter(list: Int32Array, position: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! <= position) low = mid + 1;
    else high = mid;
  }
  return low;
}

function copyInto(target: Uint32Array, source: Uint32Array | undefined): void {
  if (source) target.set(source);
  else target.fill(0);
}
