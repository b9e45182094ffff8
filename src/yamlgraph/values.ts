import type { ParamType } from '../core/params.js';
import { quote, type ParseContext } from './context.js';

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

/** KEEP_DEFAULT is what a YAML null decodes to: one shared result. */
const KEEP_DEFAULT: Decoded = Object.freeze({ ok: true, value: undefined });

/** mismatch says that a node is not of the type wanted. */
function mismatch<N>(node: N | null, type: ParamType, ctx: ParseContext<N>): Decoded {
  return { ok: false, reason: `expected ${EXPECTED[type]}, got ${ctx.describe(node)}` };
}

/**
 * decodeValue checks one YAML value against a ParamType and converts it. A YAML null decodes to
 * `undefined`, meaning "keep the default": upstream examples write `shell: ''` and bare `edges:`
 * and expect nothing to change.
 */
export function decodeValue<N>(node: N | null, type: ParamType, ctx: ParseContext<N>): Decoded {
  // The shape is asked once for a string, the type of most values (three per resource in a big graph).
  const shape = ctx.tree.shape(node);
  if (shape === 'null') return KEEP_DEFAULT;
  switch (type) {
    case 'string':
      return shape === 'scalar' ? { ok: true, value: ctx.text(node!) } : mismatch(node, type, ctx);
    case 'bool': {
      const value = ctx.isScalar(node) ? ctx.value(node) : undefined;
      return typeof value === 'boolean' ? { ok: true, value } : mismatch(node, type, ctx);
    }
    case 'int':
    case 'uint': {
      const value = ctx.isScalar(node) ? ctx.value(node) : undefined;
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return mismatch(node, type, ctx);
      if (type === 'uint' && value < 0) return mismatch(node, type, ctx);
      return { ok: true, value };
    }
    case 'number': {
      const value = ctx.isScalar(node) ? ctx.value(node) : undefined;
      return typeof value === 'number' && !Number.isNaN(value) ? { ok: true, value } : mismatch(node, type, ctx);
    }
    case 'stringList': {
      if (!ctx.isSeq(node)) return mismatch(node, type, ctx);
      const out: string[] = [];
      for (const item of ctx.items(node)) {
        const text = itemText(ctx.deref(item), ctx);
        if (text === null) return { ok: false, reason: `expected ${EXPECTED[type]}, but an item is ${ctx.describe(ctx.deref(item))}` };
        out.push(text);
      }
      return { ok: true, value: out };
    }
    case 'stringMap': {
      if (!ctx.isMap(node)) return mismatch(node, type, ctx);
      const pairs: [string, string][] = [];
      for (const entry of ctx.entries(node)) {
        const text = itemText(entry.value, ctx);
        if (text === null) return { ok: false, reason: `expected ${EXPECTED[type]}, but key ${quote(entry.key)} holds ${ctx.describe(entry.value)}` };
        pairs.push([entry.key, text]);
      }
      // fromEntries defines own properties, so a key such as `__proto__` stays an ordinary key.
      return { ok: true, value: Object.fromEntries(pairs) };
    }
  }
}

/** itemText is the text of one list item or map value; null when it is not a non-null scalar. */
function itemText<N>(node: N | null, ctx: ParseContext<N>): string | null {
  return ctx.isScalar(node) ? ctx.text(node) : null;
}
