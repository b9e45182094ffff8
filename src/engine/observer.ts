import type { Graph, Vertex } from '../graph/graph.js';

/** Failure is how a resource failed: `soft` a retry of its meta `retry` follows, `hard` none does. */
export type Failure = 'soft' | 'hard';

/**
 * EngineObserver is told what the engine does, for metrics (--prometheus). The engine holds at
 * most one and checks for it at each call site, so a run without one pays a field read per event.
 */
export interface EngineObserver {
  /** swapped is told each graph the engine has just swapped in. */
  swapped(graph: Graph): void;
  /** watched is told each watch event of a vertex that ran successfully before: it may be a drift from what it made. */
  watched(vertex: Vertex): void;
  /**
   * checked is told each checkApply the resource ran (a cached skip is none): `results` holds each
   * member's "was already OK", undefined when it threw.
   */
  checked(vertex: Vertex, apply: boolean, results: readonly boolean[] | undefined): void;
  /** failed is told each failure: a checkApply that threw, or an init or watch that failed (hard). */
  failed(vertex: Vertex, failure: Failure): void;
  /** stopped is told when a vertex's worker stopped (removed by a swap, or at the end of the run). */
  stopped(vertex: Vertex): void;
}
