import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type LineCounter, type Node, type Scalar } from 'yaml';
import type { SourcePos } from '../errors.js';
import { resolveAliases } from './aliases.js';
import type { Entry, Reporter, Shape, YamlTree } from './tree.js';

/**
 * ExactTree is a document parsed by the `yaml` package: it knows every node's position, resolves
 * aliases and YAML 1.1 merge keys, and so can explain any problem at its file:line:column.
 */
export class ExactTree implements YamlTree<Node> {
  private anchored: Map<Alias, Node> | undefined;

  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** anchors maps each alias to the node it names; built once, because Alias.resolve rescans the whole document per call. */
  get anchors(): ReadonlyMap<Alias, Node> {
    this.anchored ??= resolveAliases(this.doc);
    return this.anchored;
  }

  root(): unknown {
    return this.doc.contents;
  }

  deref(item: unknown, report: Reporter<Node>): Node | null {
    if (item === null || item === undefined) return null;
    if (isAlias(item)) {
      const target = this.anchors.get(item);
      if (target) return target;
      report.error(item, `unknown alias \`*${item.source}\`: its anchor \`&${item.source}\` must come before it`);
      return null;
    }
    return item as Node;
  }

  shape(node: Node | null): Shape {
    if (node === null) return 'null';
    if (isMap(node)) return 'map';
    if (isSeq(node)) return 'seq';
    if (!isScalar(node)) return 'other';
    return node.value === null || node.value === undefined ? 'null' : 'scalar';
  }

  value(scalar: Node): unknown {
    return (scalar as Scalar).value;
  }

  text(scalar: Node): string {
    return scalarText(scalar as Scalar) ?? '';
  }

  items(seq: Node): readonly unknown[] {
    return isSeq(seq) ? seq.items : [];
  }

  /**
   * entries expands YAML 1.1 merge keys the way the spec says: keys written in the map win over
   * merged ones, earlier merged maps over later. A key that is not a scalar is reported and
   * skipped: no mgmt key is a collection.
   */
  entries(map: Node, report: Reporter<Node>): Entry<Node>[] {
    const own: Entry<Node>[] = [];
    const merged: Entry<Node>[] = [];
    if (!isMap(map)) return own;
    for (const pair of map.items) {
      const keyNode = this.deref(pair.key, report);
      const value = this.deref(pair.value, report);
      if (!isScalar(keyNode)) {
        report.error(keyNode ?? map, 'a map key must be a plain string, not a list or a map');
        continue;
      }
      if (isMergeKey(keyNode)) {
        merged.push(...this.mergeSources(value, keyNode, report));
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

  pos(at: Node | number | null): SourcePos | undefined {
    const offset = typeof at === 'number' ? at : at?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  private mergeSources(value: Node | null, at: Node, report: Reporter<Node>): Entry<Node>[] {
    const sources = isSeq(value) ? value.items.map((item) => this.deref(item, report)) : [value];
    const out: Entry<Node>[] = [];
    for (const source of sources) {
      if (!isMap(source)) {
        report.error(source ?? at, 'a merge key `<<` takes a map or a list of maps');
        continue;
      }
      out.push(...this.entries(source, report));
    }
    return out;
  }
}

/** scalarText is a scalar as text: strings as they are, other scalars as written (`0644` stays "0644"); null for a YAML null. */
function scalarText(node: Scalar): string | null {
  const value: unknown = node.value;
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return null;
  // `source` is the text as written for plain scalars; numbers and booleans keep their spelling.
  const source = (node as Scalar & { source?: unknown }).source;
  return typeof source === 'string' ? source : String(value);
}

function isMergeKey(key: Scalar): boolean {
  // With the YAML 1.1 schema the parser resolves `<<` to a symbol; a quoted "<<" is a plain key.
  return typeof key.value === 'symbol' && key.value.description === '<<';
}
