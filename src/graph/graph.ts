import type { SourcePos } from '../errors.js';
import type { AnyResourceKind } from '../core/kind.js';
import type { Meta } from './spec.js';

/** Member is one declared resource that a vertex stands for (a group has several). */
export interface Member {
  /** `kind[name]` */
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly meta: Meta;
  readonly pos?: SourcePos;
}

/** Vertex is one unit the engine runs: a resource, or a group of resources run as one. */
export interface Vertex {
  /** `kind[name]`, or `kind[autogroup:(a,b,c)]` for a group. */
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly meta: Meta;
  readonly def: AnyResourceKind;
  /** Every resource this vertex stands for, itself first. */
  readonly members: readonly Member[];
  /**
   * A canonical string of kind, name, params, meta and members: two vertices with the same key
   * are the same resource, so a graph swap keeps the running one untouched.
   */
  readonly key: string;
  readonly pos?: SourcePos;
}

/** Edge is a dependency: `to` runs only after `from` succeeded more recently than it. */
export interface Edge {
  /** Vertex id of the parent. */
  readonly from: string;
  /** Vertex id of the child. */
  readonly to: string;
  readonly name: string;
  /** Refresh `to` when `from` changed something. */
  readonly notify: boolean;
}

/** CompileTimings are the milliseconds each compile stage took. */
export interface CompileTimings {
  parse: number;
  autoedges: number;
  autogroup: number;
  toposort: number;
}

/** Graph is a compiled, acyclic resource graph ready for the engine. */
export interface Graph {
  readonly name: string;
  /** Vertices by id, in topological order (parents before children; ties by id). */
  readonly vertices: ReadonlyMap<string, Vertex>;
  /** Edges sorted by (from, to). At most one edge per ordered pair. */
  readonly edges: readonly Edge[];
  /** Incoming edges by child id. */
  readonly incoming: ReadonlyMap<string, readonly Edge[]>;
  /** Outgoing edges by parent id. */
  readonly outgoing: ReadonlyMap<string, readonly Edge[]>;
  readonly timings: CompileTimings;
}

/** edgeKey names an edge by its endpoints (one edge per ordered pair). */
export function edgeKey(from: string, to: string): string {
  return `${from} -> ${to}`;
}
