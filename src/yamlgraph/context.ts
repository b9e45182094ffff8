import type { Diagnostic, SourcePos } from '../errors.js';
import type { Entry, Reporter, YamlTree } from './tree.js';

/**
 * ParseContext is one document being read: it asks its tree about nodes (shapes, values, items,
 * entries, positions) and collects every problem, so the frontend can throw once with all of them.
 */
export class ParseContext<N> implements Reporter<N> {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];

  constructor(
    readonly file: string,
    readonly tree: YamlTree<N>,
    /** strict turns every warning (an input that is ignored) into an error. */
    readonly strict: boolean,
    /** nulFree says the text can put no NUL into any scalar (see mayHoldNul), so no resource needs looking for one. */
    readonly nulFree = false,
  ) {}

  /** pos converts a node or offset into a 1-based file position, when the tree knows it. */
  pos(at: N | number | null): SourcePos | undefined {
    return this.tree.pos(at);
  }

  /** error records a problem that makes the input invalid. */
  error(at: N | number | null, message: string, resource?: string): void {
    this.errors.push(diagnostic(this.pos(at), message, resource));
  }

  /** warn records input that is ignored; with `strict` it is an error instead. */
  warn(at: N | number | null, message: string, resource?: string): void {
    (this.strict ? this.errors : this.warnings).push(diagnostic(this.pos(at), message, resource));
  }

  /** deref follows an alias to the node its anchor names (null, reported, for an unknown anchor). */
  deref(item: unknown): N | null {
    return this.tree.deref(item, this);
  }

  /** entries lists the pairs of a map in source order with merge keys expanded (see YamlTree.entries). */
  entries(map: N): Entry<N>[] {
    return this.tree.entries(map, this);
  }

  /** items lists a sequence's items as stored; pass each through `deref`. */
  items(seq: N): readonly unknown[] {
    return this.tree.items(seq);
  }

  /** isNull says whether a node is absent or a YAML null (`~`, `null`, or nothing after the colon). */
  isNull(node: N | null): boolean {
    return this.tree.shape(node) === 'null';
  }

  /** isMap says whether a node is a YAML map. */
  isMap(node: N | null): node is N {
    return this.tree.shape(node) === 'map';
  }

  /** isSeq says whether a node is a YAML sequence. */
  isSeq(node: N | null): node is N {
    return this.tree.shape(node) === 'seq';
  }

  /** isScalar says whether a node is a scalar other than null. */
  isScalar(node: N | null): node is N {
    return this.tree.shape(node) === 'scalar';
  }

  /** value is a non-null scalar's YAML 1.1 value. */
  value(scalar: N): unknown {
    return this.tree.value(scalar);
  }

  /** text is a non-null scalar as text: strings as they are, other scalars as written (`0644` stays "0644"). */
  text(scalar: N): string {
    return this.tree.text(scalar);
  }

  /** describe renders a node for a message: the value quoted, then its YAML type (`"abc" (a string)`). */
  describe(node: N | null): string {
    switch (this.tree.shape(node)) {
      case 'null':
        return 'nothing (null)';
      case 'map':
        return 'a map';
      case 'seq':
        return 'a list';
      case 'other':
        return 'an unknown YAML node';
      case 'scalar':
        break;
    }
    const scalar = node as N;
    const value = this.value(scalar);
    if (typeof value === 'string') return `${quote(value)} (a string)`;
    if (typeof value === 'number') return `${this.text(scalar)} (a number)`;
    if (typeof value === 'boolean') return `${this.text(scalar)} (a bool)`;
    if (value instanceof Date) return `${this.text(scalar)} (a timestamp)`;
    return `${quote(this.text(scalar))} (${typeof value})`;
  }
}

/** quote renders a string for a message with JSON escapes, shortened when it is long. */
export function quote(text: string): string {
  const max = 60;
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);
}

function diagnostic(pos: SourcePos | undefined, message: string, resource: string | undefined): Diagnostic {
  return { message, ...(pos ? { pos } : {}), ...(resource ? { resource } : {}) };
}
