import { DEFAULT_META, type Meta } from '../graph/spec.js';
import type { ParamType } from '../core/params.js';
import { quote, type ParseContext } from './context.js';
import { decodeValue, Mismatch } from './values.js';

/** MetaField is how one key of a `meta:` block is read: its type and any further rule. */
interface MetaField {
  readonly type: ParamType;
  /** check returns every reason a well-typed value is still wrong; empty when it is fine. */
  readonly check?: (value: never) => readonly string[];
}

/** META_FIELDS are the classic meta parameters plus `timeout`, which the engine honours. */
const META_FIELDS: Readonly<Record<keyof Meta, MetaField>> = {
  autoedge: { type: 'bool' },
  autogroup: { type: 'bool' },
  noop: { type: 'bool' },
  retry: { type: 'int', check: (v: number) => (v >= -1 ? [] : ['must be -1 (retry forever) or more']) },
  delay: { type: 'uint' },
  poll: { type: 'int' },
  limit: { type: 'number', check: (v: number) => (v >= 0 ? [] : ['must be >= 0 events per second, or .inf']) },
  burst: { type: 'uint' },
  // Every bad entry is reported, not only the first.
  sema: { type: 'stringList', check: (v: string[]) => v.map(semaProblem).filter((p) => p !== undefined) },
  timeout: { type: 'uint' },
};

/** UNSUPPORTED_META are meta keys that only newer upstream versions know; they are ignored. */
const UNSUPPORTED_META: ReadonlySet<string> = new Set([
  'retryreset',
  'reset',
  'rewatch',
  'realize',
  'dollar',
  'hidden',
  'export',
  'reverse',
]);

/**
 * parseMeta reads a resource's `meta:` block over DEFAULT_META, so a partial block keeps the
 * defaults for what it leaves out; problems go to `ctx` and the defaults stand in for bad values.
 */
export function parseMeta<N>(node: N | null, ctx: ParseContext<N>, resource: string): Meta {
  if (ctx.isNull(node)) return DEFAULT_META;
  if (!ctx.isMap(node)) {
    ctx.error(node, `\`meta\` must be a map of meta parameters, got ${ctx.describe(node)}`, resource);
    return DEFAULT_META;
  }
  const meta: Record<string, unknown> = { ...DEFAULT_META };
  let limitNode: N | null = null;
  for (const { key, keyNode, value } of ctx.entries(node)) {
    if (!Object.hasOwn(META_FIELDS, key)) {
      if (UNSUPPORTED_META.has(key)) ctx.warn(keyNode, `meta \`${key}\` is not supported by this version`, resource);
      else ctx.warn(keyNode, `unknown meta parameter \`${key}\` (known: ${Object.keys(META_FIELDS).join(', ')})`, resource);
      continue;
    }
    const field = META_FIELDS[key as keyof Meta];
    const decoded = decodeValue(value, field.type, ctx);
    if (decoded instanceof Mismatch) {
      ctx.error(value ?? keyNode, `meta \`${key}\`: ${decoded.reason}`, resource);
      continue;
    }
    if (decoded === undefined) continue;
    const problems = field.check?.(decoded as never) ?? [];
    for (const problem of problems) ctx.error(value ?? keyNode, `meta \`${key}\`: ${problem}`, resource);
    if (problems.length > 0) continue;
    meta[key] = decoded;
    if (key === 'limit') limitNode = value;
  }
  if (Number.isFinite(meta.limit) && meta.burst === 0) {
    ctx.error(
      limitNode ?? node,
      `meta \`limit\` is ${String(meta.limit)} (below .inf) with \`burst\` 0, so the resource would be permanently limited: set \`burst\` above 0 or \`limit: .inf\``,
      resource,
    );
  }
  return Object.freeze(meta) as unknown as Meta;
}

/** Semaphore is one `sema` entry split into its id and its size. */
export interface Semaphore {
  readonly id: string;
  readonly count: number;
}

/**
 * parseSemaphore splits a `sema` entry the way upstream sizes it: the size is the whole number
 * after the last `:` when it is above 0, else 1 (`"lock"` → 1, `"lock:42"` → 42, `":4"` → 4).
 */
export function parseSemaphore(entry: string): Semaphore {
  const at = entry.lastIndexOf(':');
  if (at >= 0) {
    const tail = entry.slice(at + 1);
    const count = /^[0-9]+$/.test(tail) ? Number(tail) : 0;
    if (Number.isSafeInteger(count) && count > 0) return { id: entry.slice(0, at), count };
  }
  return { id: entry, count: 1 };
}

/** semaProblem says why a `sema` entry written in YAML is invalid, or undefined when it is fine. */
export function semaProblem(entry: string): string | undefined {
  const where = `entry ${quote(entry)}`;
  if (entry === '') return `${where} is empty`;
  const at = entry.lastIndexOf(':');
  const id = at >= 0 ? entry.slice(0, at) : entry;
  if (at >= 0) {
    const tail = entry.slice(at + 1);
    const count = /^[0-9]+$/.test(tail) ? Number(tail) : Number.NaN;
    if (!(Number.isSafeInteger(count) && count > 0)) {
      return `${where}: the count after the last ':' must be a whole number above 0`;
    }
  }
  // `:N` (an empty id) is valid, as upstream: the pool of N that `--sema N` gives every resource.
  // A bare number would read as a size with no name; upstream rejects it too.
  if (/^[+-]?[0-9]+$/.test(id)) return `${where}: the id must not be a bare integer`;
  return undefined;
}
