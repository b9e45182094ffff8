import type { ParamType } from '../core/params.js';
import { quote, type ParseContext } from './context.js';

/** Mismatch is why a YAML value does not fit a ParamType. */
export class Mismatch {
  constructor(readonly reason: string) {}
}

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

/** mismatch says that a node is not of the type wanted. */
function mismatch<N>(node: N | null, type: ParamType, ctx: ParseContext<N>): Mismatch {
  return new Mismatch(`expected ${EXPECTED[type]}, got ${ctx.describe(node)}`);
}

/**
 * decodeValue checks one YAML value against a ParamType and converts it: the value, or a Mismatch
 * saying why it does not fit. A YAML null decodes to `undefined`, meaning "keep the default":
 * upstream examples write `shell: ''` and bare `edges:` and expect nothing to change. A value is
 * returned as it is, in no wrapper: a big graph decodes three per resource.
 */
export function decodeValue<N>(node: N | null, type: ParamType, ctx: ParseContext<N>): unknown {
  // The shape is asked once for a string, the type of most values.
  const shape = ctx.tree.shape(node);
  if (shape === 'null') return undefined;
  switch (type) {
    case 'string':
      return shape === 'scalar' ? ctx.text(node!) : mismatch(node, type, ctx);
    case 'bool': {
      const value = shape === 'scalar' ? ctx.value(node!) : undefined;
      return typeof value === 'boolean' ? value : mismatch(node, type, ctx);
    }
    case 'int':
    case 'uint': {
      const value = shape === 'scalar' ? ctx.value(node!) : undefined;
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return mismatch(node, type, ctx);
      if (type === 'uint' && value < 0) return mismatch(node, type, ctx);
      return value;
    }
    case 'number': {
      const value = shape === 'scalar' ? ctx.value(node!) : undefined;
      return typeof value === 'number' && !Number.isNaN(value) ? value : mismatch(node, type, ctx);
    }
    case 'stringList': {
      if (shape !== 'seq') return mismatch(node, type, ctx);
      const out: string[] = [];
      for (const item of ctx.items(node!)) {
        const text = itemText(ctx.deref(item), ctx);
        if (text === null) return new Mismatch(`expected ${EXPECTED[type]}, but an item is ${ctx.describe(ctx.deref(item))}`);
        out.push(text);
      }
      return out;
    }
    case 'stringMap': {
      if (shape !== 'map') return mismatch(node, type, ctx);
      const pairs: [string, string][] = [];
      for (const entry of ctx.entries(node!)) {
        const text = itemText(entry.value, ctx);
        if (text === null) return new Mismatch(`expected ${EXPECTED[type]}, but key ${quote(entry.key)} holds ${ctx.describe(entry.value)}`);
        pairs.push([entry.key, text]);
      }
      // fromEntries defines own properties, so a key such as `__proto__` stays an ordinary key.
      return Object.fromEntries(pairs);
    }
  }
}

/** itemText is the text of one list item or map value; null when it is not a non-null scalar. */
function itemText<N>(node: N | null, ctx: ParseContext<N>): string | null {
  return ctx.isScalar(node) ? ctx.text(node) : null;
}
