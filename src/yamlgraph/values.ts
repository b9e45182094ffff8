import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { ParamType } from '../resources/types.js';
import { describe, isNull, quote, scalarText, type ParseContext } from './context.js';

/** Decoded is a YAML value checked against a ParamType: the value, or why it does not fit. */
export type Decoded = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

/** EXPECTED says in words what each ParamType accepts, for messages. */
export const EXPECTED: Readonly<Record<ParamType, string>> = {
  string: 'a string',
  bool: 'true or false',
  int: 'an integer',
  uint: 'a whole number >= 0',
  number: 'a number (or .inf)',
  stringList: 'a list of strings',
  stringMap: 'a map of strings',
};

/**
 * decodeValue checks one YAML value against a ParamType and converts it. A YAML null decodes to
 * `undefined`, meaning "keep the default": upstream examples write `shell: ''` and bare `edges:`
 * and expect nothing to change.
 */
export function decodeValue(node: Node | null, type: ParamType, ctx: ParseContext): Decoded {
  if (isNull(node)) return { ok: true, value: undefined };
  const fail = (): Decoded => ({ ok: false, reason: `expected ${EXPECTED[type]}, got ${describe(node)}` });
  switch (type) {
    case 'string':
      return isScalar(node) ? { ok: true, value: scalarText(node) } : fail();
    case 'bool':
      return isScalar(node) && typeof node.value === 'boolean' ? { ok: true, value: node.value } : fail();
    case 'int':
    case 'uint': {
      if (!isScalar(node) || typeof node.value !== 'number' || !Number.isSafeInteger(node.value)) return fail();
      if (type === 'uint' && node.value < 0) return fail();
      return { ok: true, value: node.value };
    }
    case 'number':
      return isScalar(node) && typeof node.value === 'number' && !Number.isNaN(node.value)
        ? { ok: true, value: node.value }
        : fail();
    case 'stringList': {
      if (!isSeq(node)) return fail();
      const out: string[] = [];
      for (const item of node.items) {
        const text = itemText(ctx.deref(item));
        if (text === null) return { ok: false, reason: `expected ${EXPECTED[type]}, but an item is ${describe(ctx.deref(item))}` };
        out.push(text);
      }
      return { ok: true, value: out };
    }
    case 'stringMap': {
      if (!isMap(node)) return fail();
      const pairs: [string, string][] = [];
      for (const entry of ctx.entries(node)) {
        const text = itemText(entry.value);
        if (text === null) return { ok: false, reason: `expected ${EXPECTED[type]}, but key ${quote(entry.key)} holds ${describe(entry.value)}` };
        pairs.push([entry.key, text]);
      }
      // fromEntries defines own properties, so a key such as `__proto__` stays an ordinary key.
      return { ok: true, value: Object.fromEntries(pairs) };
    }
  }
}

/** itemText is the text of one list item or map value; null when it is not a non-null scalar. */
function itemText(node: Node | null): string | null {
  if (!isScalar(node)) return null;
  return scalarText(node);
}
