import type { Failure, EngineObserver } from '../engine/observer.js';
import type { Graph, Vertex } from '../graph/graph.js';

/** CHECK_COMBINATIONS is how many label sets mgmt_checkapply_total has per kind (apply, eventful, errorful). */
export const CHECK_COMBINATIONS = 8;

/** checkIndex is the slot of one (apply, eventful, errorful) combination in KindTally.checks. */
export function checkIndex(apply: boolean, eventful: boolean, errorful: boolean): number {
  return (apply ? 4 : 0) + (eventful ? 2 : 0) + (errorful ? 1 : 0);
}

/** KindTally is what the observer counted for one kind: running totals, read by the registry's collect. */
export interface KindTally {
  /** checkApply runs by checkIndex. */
  readonly checks: number[];
  /** Failures since the start: soft, hard. */
  readonly failures: { soft: number; hard: number };
  /** Drift repairs since the start. */
  repairs: number;
  /** Resources of this kind in the running graph. */
  resources: number;
}

/** Repair is one drift repair: a watch event on a resource that was in order, then a checkApply that fixed it. */
export interface Repair {
  readonly kind: string;
  /** From the first watch event since the resource was in order to the end of the repairing checkApply. */
  readonly seconds: number;
}

/**
 * MetricsObserver counts what the engine does in plain numbers (the engine calls it per event: no
 * label hashing there); the registry turns them into metrics when scraped. Each drift repair's
 * time is also handed to `onRepair` at once (for the histogram). It keeps per-vertex state only for the few vertices
 * failing or drifted now: a map entry per vertex made 10,000 files' first converge 1% slower.
 */
export class MetricsObserver implements EngineObserver {
  /** kinds holds a tally per kind: every registered kind from the start, others as they appear. */
  readonly kinds = new Map<string, KindTally>();
  /** Graph swaps so far. */
  swaps = 0;
  /** When the running graph was swapped in (Unix seconds); 0 before the first. */
  graphStartSeconds = 0;
  // Keyed by vertex id, not by the vertex: a string keeps its hash, while an object key has one
  // added to the (frozen) vertex itself.
  /** Vertices failing now, and how. */
  private readonly failing = new Map<string, { readonly vertex: Vertex; readonly failure: Failure }>();
  /** Vertices that had run, dirtied by a watch event since, with when (performance.now). */
  private readonly dirtySince = new Map<string, number>();
  /** The tally of the kind last counted: most graphs hold long runs of one kind. */
  private last: { kind: string; tally: KindTally } | undefined;
  private readonly onRepair: (repair: Repair) => void;
  private readonly now: () => number;

  constructor(kinds: readonly string[], onRepair: (repair: Repair) => void, now: () => number = () => performance.now()) {
    for (const kind of kinds) this.tally(kind);
    this.onRepair = onRepair;
    this.now = now;
  }

  /** tally is a kind's tally, made on first use. */
  tally(kind: string): KindTally {
    if (this.last?.kind === kind) return this.last.tally;
    let tally = this.kinds.get(kind);
    if (!tally) {
      tally = { checks: new Array<number>(CHECK_COMBINATIONS).fill(0), failures: { soft: 0, hard: 0 }, repairs: 0, resources: 0 };
      this.kinds.set(kind, tally);
    }
    this.last = { kind, tally };
    return tally;
  }

  /** failingNow counts the resources failing now by kind and failure (a group counts each member). */
  failingNow(): Map<string, { soft: number; hard: number }> {
    const out = new Map<string, { soft: number; hard: number }>();
    for (const { vertex, failure } of this.failing.values()) {
      for (const member of vertex.members) {
        let counts = out.get(member.kind);
        if (!counts) out.set(member.kind, (counts = { soft: 0, hard: 0 }));
        counts[failure]++;
      }
    }
    return out;
  }

  swapped(graph: Graph): void {
    for (const tally of this.kinds.values()) tally.resources = 0;
    for (const vertex of graph.vertices.values()) for (const member of vertex.members) this.tally(member.kind).resources++;
    this.swaps++;
    this.graphStartSeconds = Date.now() / 1000;
  }

  watched(vertex: Vertex): void {
    // The first event since the resource was in order starts the clock.
    if (!this.dirtySince.has(vertex.id)) this.dirtySince.set(vertex.id, this.now());
  }

  checked(vertex: Vertex, apply: boolean, results: readonly boolean[] | undefined): void {
    const { members } = vertex;
    for (let i = 0; i < members.length; i++) {
      // As upstream: eventful = the check found something to change; a throw counts as both.
      const ok = results?.[i] === true;
      this.tally(members[i]!.kind).checks[checkIndex(apply, !ok, results === undefined)]++;
    }
    if (results === undefined) return;
    if (this.failing.size > 0) this.failing.delete(vertex.id);
    if (!apply || this.dirtySince.size === 0) return;
    const since = this.dirtySince.get(vertex.id);
    if (since === undefined) return;
    this.dirtySince.delete(vertex.id);
    const seconds = (this.now() - since) / 1000;
    for (let i = 0; i < members.length; i++) {
      if (results[i] === true) continue;
      const { kind } = members[i]!;
      this.tally(kind).repairs++;
      this.onRepair({ kind, seconds });
    }
  }

  failed(vertex: Vertex, failure: Failure): void {
    for (const member of vertex.members) this.tally(member.kind).failures[failure]++;
    this.failing.set(vertex.id, { vertex, failure });
  }

  stopped(vertex: Vertex): void {
    if (this.failing.size > 0) this.failing.delete(vertex.id);
    if (this.dirtySince.size > 0) this.dirtySince.delete(vertex.id);
  }
}
