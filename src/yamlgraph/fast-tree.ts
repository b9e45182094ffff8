import { FAILSAFE_SCHEMA, load, Type, type LoadOptions } from 'js-yaml';
import { isPlainString, resolvePlain, type Resolved } from './plain-scalars.js';
import type { Entry, Shape, YamlTree } from './tree.js';

// js-yaml builds plain JS values several times faster than the `yaml` package builds its nodes,
// but it knows no positions and resolves scalars by YAML 1.2 rules. Loaded with the failsafe
// schema plus one catch-all implicit type, every plain (unquoted) scalar passes through
// `plainScalar`, which resolves it by the exact path's YAML 1.1 rules (plain-scalars.ts), and
// every quoted or block scalar arrives as a string: implicit types never apply to those.

/** FAST_MAX_DEPTH bounds how deep js-yaml nests before it throws; real graphs nest about five levels. */
export const FAST_MAX_DEPTH = 32;

/** FastPathDeclined means the fast path cannot vouch for its reading of a file; the exact path reads it. */
export class FastPathDeclined extends Error {}

/**
 * PlainScalar is a plain scalar whose YAML 1.1 value is not its text (`yes`, `0644`, `~`, `.inf`,
 * a date), kept with its text because a string parameter takes the text as written.
 */
export class PlainScalar {
  constructor(
    readonly source: string,
    /** The YAML 1.1 value: null, a boolean, a number or a Date. */
    readonly value: unknown,
  ) {}

  /** Symbol.toStringTag makes js-yaml turn a PlainScalar map key into a string with toString, not "[object Object]". */
  get [Symbol.toStringTag](): string {
    return 'PlainScalar';
  }

  /** toString is the scalar as a map key: its text, or "" for a null key, as the exact path's entries read it. */
  toString(): string {
    return this.value === null ? '' : this.source;
  }
}

/** FastNode is what the fast path's js-yaml load produces; a string is a scalar whose value is its text. */
export type FastNode = string | PlainScalar | FastNode[] | { [key: string]: FastNode } | null;

/** MEMO_LIMIT bounds the memo of resolved map keys: a file has few distinct keys, used again and again. */
const MEMO_LIMIT = 4096;
const keyMemo = new Map<string, Resolved>();

/** resolveKey is resolvePlain remembered for the first MEMO_LIMIT distinct keys. */
function resolveKey(text: string): Resolved {
  let resolved = keyMemo.get(text);
  if (resolved === undefined) {
    resolved = resolvePlain(text);
    if (keyMemo.size < MEMO_LIMIT) keyMemo.set(text, resolved);
  }
  return resolved;
}

/**
 * plainScalar turns a plain scalar's text into a FastNode: the text itself when YAML 1.1 reads it
 * as a string (most scalars: no allocation), else a PlainScalar; it throws FastPathDeclined when
 * the exact path's resolver would report a problem.
 */
export function plainScalar(text: string): FastNode {
  if (isPlainString(text)) return text;
  const resolved = resolvePlain(text);
  if (resolved === 'unresolvable') throw new FastPathDeclined(`cannot resolve ${JSON.stringify(text)}`);
  return typeof resolved.value === 'string' ? resolved.value : new PlainScalar(text, resolved.value);
}

const PLAIN_SCALAR = new Type('tag:mgmt.invalid,2024:plain', { kind: 'scalar', resolve: () => true, construct: plainScalar });

const SCHEMA = FAILSAFE_SCHEMA.extend({ implicit: [PLAIN_SCALAR] });

/**
 * loadFast reads one YAML document with js-yaml into FastNodes; it throws on a syntax error,
 * a second document, a duplicate key or nesting deeper than FAST_MAX_DEPTH.
 */
export function loadFast(text: string): FastNode {
  const options: LoadOptions & { maxDepth: number } = {
    schema: SCHEMA,
    maxDepth: FAST_MAX_DEPTH,
    onWarning: (warning) => {
      throw new FastPathDeclined(`js-yaml warned: ${warning.message}`);
    },
  };
  return (load(text, options) ?? null) as FastNode;
}

/**
 * FastTree is a document loaded by loadFast: nodes without positions, scalars resolved by the
 * exact path's YAML 1.1 rules. It reports nothing itself: anything it cannot read as the exact
 * path would throws FastPathDeclined.
 */
export class FastTree implements YamlTree<FastNode> {
  constructor(private readonly contents: FastNode) {}

  root(): unknown {
    return this.contents;
  }

  deref(item: unknown): FastNode | null {
    return (item ?? null) as FastNode | null;
  }

  shape(node: FastNode | null): Shape {
    if (node === null) return 'null';
    if (typeof node === 'string') return 'scalar';
    if (node instanceof PlainScalar) return node.value === null ? 'null' : 'scalar';
    return Array.isArray(node) ? 'seq' : 'map';
  }

  value(scalar: FastNode): unknown {
    return scalar instanceof PlainScalar ? scalar.value : scalar;
  }

  text(scalar: FastNode): string {
    return scalar instanceof PlainScalar ? scalar.source : String(scalar);
  }

  items(seq: FastNode): readonly unknown[] {
    return Array.isArray(seq) ? seq : [];
  }

  /**
   * entries lists a map's keys in JS property order, which is source order except that keys
   * like "12" come first: no graph-format key looks like that, and `stringMap` values are JS
   * objects, which order their keys the same way whatever the source order.
   */
  entries(map: FastNode): Entry<FastNode>[] {
    if (map === null || typeof map !== 'object' || Array.isArray(map) || map instanceof PlainScalar) return [];
    let resolvedKeys: Map<unknown, string> | undefined;
    const keys = Object.keys(map);
    // Sized up front (a pushed-to array starts with room for 17) and filled by index (a for-of in
    // code V8 has not optimized yet makes an iterator result per key): ~0.75x the bytes per map.
    const out = new Array<Entry<FastNode>>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      // js-yaml names an empty key "null" (the exact path: "" for a plain null, "null" quoted) and
      // a map used as a key "[object Object]" (the exact path: an error); the gate keeps most out.
      if (key === 'null' || key === '[object Object]') throw new FastPathDeclined(`a key reads ${JSON.stringify(key)}`);
      const value = map[key]!;
      out[i] = { key, keyNode: map, value };
      // The exact path refuses keys that resolve to the same value (`yes` and `on`, `1` and `0x1`);
      // js-yaml compares the text. A quoted key is a string whatever it spells, so this may
      // decline a map the exact path accepts: that only costs speed.
      const resolved = resolveKey(key);
      if (resolved === 'unresolvable' || typeof resolved.value === 'string' || resolved.value === null) continue;
      if (typeof resolved.value !== 'number' && typeof resolved.value !== 'boolean') continue;
      resolvedKeys ??= new Map();
      const other = resolvedKeys.get(resolved.value);
      if (other !== undefined) throw new FastPathDeclined(`keys ${JSON.stringify(other)} and ${JSON.stringify(key)} may be one YAML 1.1 key`);
      resolvedKeys.set(resolved.value, key);
    }
    return out;
  }

  pos(): undefined {
    return undefined;
  }
}
