import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type LineCounter, type Node, type Scalar } from 'yaml';
import type { Diagnostic, SourcePos } from '../errors.js';
import { resolveAliases } from './aliases.js';

/** Located is something a diagnostic can point at: a YAML node, a source offset, or nothing known. */
export type Located = { readonly range?: readonly [number, number, number] | null } | number | null | undefined;

/** Entry is one key/value pair of a YAML map, with merge keys (`<<: *anchor`) already expanded. */
export interface Entry {
  /** The key as text (`0644` stays "0644", `yes` stays "yes"). */
  readonly key: string;
  readonly keyNode: Node;
  /** The value with aliases resolved; null when the YAML leaves it empty and nothing else is known. */
  readonly value: Node | null;
}

/**
 * ParseContext is one document being read: it turns nodes into file positions, resolves aliases
 * and merge keys, and collects every problem so the frontend can throw once with all of them.
 */
export class ParseContext {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  private anchored: Map<Alias, Node> | undefined;

  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    /** strict turns every warning (an input that is ignored) into an error. */
    readonly strict: boolean,
  ) {}

  /** pos converts a node or offset into a 1-based file position. */
  pos(at: Located): SourcePos | undefined {
    const offset = typeof at === 'number' ? at : at?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /** error records a problem that makes the input invalid. */
  error(at: Located, message: string, resource?: string): void {
    this.errors.push(diagnostic(this.pos(at), message, resource));
  }

  /** warn records input that is ignored; with `strict` it is an error instead. */
  warn(at: Located, message: string, resource?: string): void {
    (this.strict ? this.errors : this.warnings).push(diagnostic(this.pos(at), message, resource));
  }

  /** anchors maps each alias to the node it names; built once, because Alias.resolve rescans the whole document per call. */
  get anchors(): ReadonlyMap<Alias, Node> {
    this.anchored ??= resolveAliases(this.doc);
    return this.anchored;
  }

  /** deref follows an alias to the node its anchor names (null, reported, for an unknown anchor). */
  deref(node: unknown): Node | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = this.anchors.get(node);
      if (target) return target;
      this.error(node, `unknown alias \`*${node.source}\`: its anchor \`&${node.source}\` must come before it`);
      return null;
    }
    return node as Node;
  }

  /**
   * entries lists the pairs of a map in source order, with YAML 1.1 merge keys expanded the way
   * the spec says: keys written in the map win over merged ones, earlier merged maps over later.
   * A key that is not a scalar is reported and skipped: no mgmt key is a collection.
   */
  entries(map: Node): Entry[] {
    const own: Entry[] = [];
    const merged: Entry[] = [];
    if (!isMap(map)) return own;
    for (const pair of map.items) {
      const keyNode = this.deref(pair.key);
      const value = this.deref(pair.value);
      if (!isScalar(keyNode)) {
        this.error(keyNode ?? map, 'a map key must be a plain string, not a list or a map');
        continue;
      }
      if (isMergeKey(keyNode)) {
        merged.push(...this.mergeSources(value, keyNode));
        continue;
      }
      own.push({ key: scalarText(keyNode) ?? '', keyNode, value });
    }
    const seen = new Set(own.map((e) => e.key));
    for (const entry of merged) {
      if (seen.has(entry.key)) continue;
      seen.add(entry.key);
      own.push(entry);
    }
    return own;
  }

  private mergeSources(value: Node | null, at: Node): Entry[] {
    const sources = isSeq(value) ? value.items.map((item) => this.deref(item)) : [value];
    const out: Entry[] = [];
    for (const source of sources) {
      if (!isMap(source)) {
        this.error(source ?? at, 'a merge key `<<` takes a map or a list of maps');
        continue;
      }
      out.push(...this.entries(source));
    }
    return out;
  }
}

/** scalarText is a scalar as text: strings as they are, other scalars as written (`0644` stays "0644"); null for a YAML null. */
export function scalarText(node: Scalar): string | null {
  const value: unknown = node.value;
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return null;
  // `source` is the text as written for plain scalars; numbers and booleans keep their spelling.
  const source = (node as Scalar & { source?: unknown }).source;
  return typeof source === 'string' ? source : String(value);
}

/** describe renders a node for a message: the value quoted, then its YAML type (`"abc" (a string)`). */
export function describe(node: Node | null): string {
  if (node === null) return 'nothing (null)';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (!isScalar(node)) return 'an unknown YAML node';
  const value: unknown = node.value;
  if (value === null || value === undefined) return 'nothing (null)';
  if (typeof value === 'string') return `${quote(value)} (a string)`;
  if (typeof value === 'number') return `${scalarText(node)} (a number)`;
  if (typeof value === 'boolean') return `${scalarText(node)} (a bool)`;
  if (value instanceof Date) return `${scalarText(node)} (a timestamp)`;
  return `${quote(scalarText(node) ?? '')} (${typeof value})`;
}

/** quote renders a string for a message with JSON escapes, shortened when it is long. */
export function quote(text: string): string {
  const max = 60;
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}...` : text);
}

/** isNull says whether a node is absent or a YAML null (`~`, `null`, or nothing after the colon). */
export function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && (node.value === null || node.value === undefined));
}

function isMergeKey(key: Scalar): boolean {
  // With the YAML 1.1 schema the parser resolves `<<` to a symbol; a quoted "<<" is a plain key.
  return typeof key.value === 'symbol' && key.value.description === '<<';
}

function diagnostic(pos: SourcePos | undefined, message: string, resource: string | undefined): Diagnostic {
  return { message, ...(pos ? { pos } : {}), ...(resource ? { resource } : {}) };
}
