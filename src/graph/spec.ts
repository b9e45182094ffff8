import type { CollectAllowance } from '../core/collect.js';
import type { Diagnostic, SourcePos } from '../errors.js';

/** Meta holds the meta parameters every resource has (classic mgmt defaults in DEFAULT_META). */
export interface Meta {
  /** Take part in automatic edges. */
  readonly autoedge: boolean;
  /** Take part in automatic grouping. */
  readonly autogroup: boolean;
  /** Check only: never change the system. */
  readonly noop: boolean;
  /** How many times a failed checkApply or watch is retried; -1 = forever. */
  readonly retry: number;
  /** Milliseconds between retries. */
  readonly delay: number;
  /** Seconds between polls replacing the watch; 0 = use the watch; < 0 = one event, never again. */
  readonly poll: number;
  /** Watch events per second allowed through (token bucket); Infinity = unlimited. */
  readonly limit: number;
  /** Token bucket size for `limit`. */
  readonly burst: number;
  /** Semaphores `id` or `id:count` held while checkApply runs. */
  readonly sema: readonly string[];
  /** Milliseconds a checkApply may take before it is aborted; 0 = no limit. */
  readonly timeout: number;
}

/** DEFAULT_META is the classic mgmt default for every meta parameter. */
export const DEFAULT_META: Meta = Object.freeze({
  autoedge: true,
  autogroup: true,
  noop: false,
  retry: 0,
  delay: 0,
  poll: 0,
  limit: Number.POSITIVE_INFINITY,
  burst: 0,
  sema: Object.freeze([]) as readonly string[],
  timeout: 0,
});

/** ResourceSpec is one resource as the input declares it, before compiling. */
export interface ResourceSpec {
  readonly kind: string;
  /** The name without a leading `@@`. */
  readonly name: string;
  /** Parameters decoded from YAML and merged over the kind's defaults. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly meta: Meta;
  /** Declared as `@@name`: exported to other hosts, not applied here. */
  readonly exported: boolean;
  readonly pos?: SourcePos;
}

/** VertexRef names a resource by kind and name, as edge endpoints do. */
export interface VertexRef {
  readonly kind: string;
  readonly name: string;
}

/** EdgeSpec is one edge as the input declares it. */
export interface EdgeSpec {
  readonly name: string;
  readonly from: VertexRef;
  readonly to: VertexRef;
  /** Send a refresh notification to `to` when `from` changed something. */
  readonly notify: boolean;
  readonly pos?: SourcePos;
}

/** CollectSpec asks for every host's exported resources of one kind. */
export interface CollectSpec {
  readonly kind: string;
  /** For kinds that are re-homed (files): where collected ones land ("" = keep their place, only with `allow: [anypath]`). */
  readonly pattern: string;
  /** Privileges the collected resources may use (see COLLECT_ALLOWANCES); none by default. */
  readonly allow: readonly CollectAllowance[];
  readonly pos?: SourcePos;
}

/** GraphSpec is what a frontend produces: a validated, not yet compiled graph. */
export interface GraphSpec {
  readonly name: string;
  /** The input file it came from (for messages). */
  readonly file: string;
  readonly comment?: string;
  readonly resources: readonly ResourceSpec[];
  readonly edges: readonly EdgeSpec[];
  readonly collect: readonly CollectSpec[];
  /** Non-fatal problems (unknown keys, dead upstream parameters). */
  readonly warnings: readonly Diagnostic[];
}
