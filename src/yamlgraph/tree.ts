import type { SourcePos } from '../errors.js';

// The graph-format rules (parse.ts, meta.ts, values.ts) are written once, against this small view
// of a YAML document. Two trees implement it: ExactTree over the `yaml` package's nodes, which
// knows every node's position, and FastTree over js-yaml's plain output, which knows none and
// only ever reads files that need no diagnostic (see fast-tree.ts).

/** Shape is what a YAML node is, as far as the graph format cares; a YAML null is its own shape. */
export type Shape = 'null' | 'scalar' | 'seq' | 'map' | 'other';

/** Entry is one key/value pair of a YAML map, with merge keys (`<<: *anchor`) already expanded. */
export interface Entry<N> {
  /** The key as text (`0644` stays "0644", `yes` stays "yes", a null key is ""). */
  readonly key: string;
  /** Where the key is, for diagnostics about it. */
  readonly keyNode: N;
  /** The value with aliases resolved; null when the YAML leaves it empty and nothing else is known. */
  readonly value: N | null;
}

/** Reporter is where a tree reports what it finds wrong while it is read (a bad alias or key). */
export interface Reporter<N> {
  /** error records a problem that makes the input invalid. */
  error(at: N | number | null, message: string): void;
}

/**
 * YamlTree is one parsed YAML document seen as nodes of type N: their shapes, their YAML 1.1
 * scalar values, their items and entries, and (when known) their positions.
 */
export interface YamlTree<N> {
  /** root is the document's top node as stored, still to be passed through `deref`. */
  root(): unknown;
  /** deref turns a stored item into a node, following an alias to its anchor (null, reported, when it names none). */
  deref(item: unknown, report: Reporter<N>): N | null;
  /** shape says what a node is; absent nodes and YAML nulls are both 'null'. */
  shape(node: N | null): Shape;
  /** value is a scalar's YAML 1.1 value: a string, number, boolean or Date. */
  value(scalar: N): unknown;
  /** text is a scalar as text: strings as they are, other scalars as written (`0644` stays "0644"). */
  text(scalar: N): string;
  /** items lists a sequence's items as stored, each still to be passed through `deref`. */
  items(seq: N): readonly unknown[];
  /** entries lists a map's pairs in source order, merge keys expanded; bad keys are reported and skipped. */
  entries(map: N, report: Reporter<N>): Entry<N>[];
  /** pos is the 1-based position of a node or source offset, or undefined when the tree has none. */
  pos(at: N | number | null): SourcePos | undefined;
}
