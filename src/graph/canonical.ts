import { formatPos, resourceId, type Diagnostic } from '../errors.js';
import type { Member } from './graph.js';
import type { Meta, ResourceSpec } from './spec.js';

/**
 * stableStringify renders a value as JSON with object keys sorted at every level, so equal values
 * give equal strings whatever order their keys were written in. Non-finite numbers are written
 * bare (`Infinity`, `NaN`), which keeps them apart from the strings "Infinity" and "NaN"; keys
 * whose value is undefined are left out, as JSON does.
 */
export function stableStringify(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `${value}n`;
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : stableStringify(item))).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort(compareStrings);
      return `{${keys.map((key) => `${JSON.stringify(key)}:${stableStringify(record[key])}`).join(',')}}`;
    }
    default:
      // undefined, functions and symbols have no JSON form; they carry no resource state.
      return 'null';
  }
}

/**
 * MemberKey is how a member enters a vertex key: by id alone when its params and meta are already
 * in the key (the vertex itself), or whole when they are not (the other members of a group).
 */
export type MemberKey = string | Pick<Member, 'id' | 'params' | 'meta'>;

/**
 * canonicalKey is the equality key of a vertex: kind, name, params, meta and the members it
 * stands for (never source positions, so moving a declaration in the file changes nothing).
 * Two vertices with the same key are the same resource across a graph swap.
 */
export function canonicalKey(
  kind: string,
  name: string,
  params: Readonly<Record<string, unknown>>,
  meta: Meta,
  members: readonly MemberKey[],
): string {
  return stableStringify({
    kind,
    name,
    params,
    meta,
    members: members.map((m) => (typeof m === 'string' ? m : { id: m.id, params: m.params, meta: m.meta })),
  });
}

/** DuplicateConflict is two declarations of one resource that disagree on params or meta. */
export interface DuplicateConflict {
  readonly first: ResourceSpec;
  readonly second: ResourceSpec;
}

/**
 * lastUnique is the last list dedupeResources made, which holds each resource once; held weakly,
 * so that the list of a graph that was replaced is not kept.
 */
let lastUnique: WeakRef<readonly ResourceSpec[]> | undefined;

/**
 * dedupeResources collapses identical re-declarations of a resource (same kind, name, export flag,
 * params and meta: upstream does the same) and returns the ones that disagree as conflicts.
 */
export function dedupeResources(resources: readonly ResourceSpec[]): {
  resources: readonly ResourceSpec[];
  conflicts: DuplicateConflict[];
} {
  // compileGraph dedupes again the local resources of the list the parser deduped, as another
  // frontend or a collect may bring duplicates: a list found in order in that one has none
  // either, and an identity walk costs a fraction of the maps (10,000 files: ~0.1x).
  if (inOrderIn(resources, lastUnique?.deref())) return { resources, conflicts: [] };
  // By kind, then by name (exported ones apart): no `kind[name]` string is built for each of
  // thousands of resources only to be hashed once.
  const seen = new Map<string, Map<string, ResourceSpec>>();
  const seenExported = new Map<string, Map<string, ResourceSpec>>();
  const unique: ResourceSpec[] = [];
  const conflicts: DuplicateConflict[] = [];
  // Keys are built only for re-declared ids: at 10,000 resources, keying them all cost ~100 ms.
  const keyOf = (spec: ResourceSpec): string => canonicalKey(spec.kind, spec.name, spec.params, spec.meta, []);
  for (const spec of resources) {
    const byKind = spec.exported ? seenExported : seen;
    let names = byKind.get(spec.kind);
    if (names === undefined) byKind.set(spec.kind, (names = new Map()));
    const earlier = names.get(spec.name);
    if (!earlier) {
      names.set(spec.name, spec);
      unique.push(spec);
    } else if (keyOf(earlier) !== keyOf(spec)) {
      conflicts.push({ first: earlier, second: spec });
    }
  }
  lastUnique = new WeakRef(unique);
  return { resources: unique, conflicts };
}

/** inOrderIn says whether every item of `part` is one of `whole`, in the same order (a subsequence); linear in both. */
function inOrderIn<T>(part: readonly T[], whole: readonly T[] | undefined): boolean {
  if (whole === undefined || part.length > whole.length) return false;
  // Each search starts after the last item found, so the walk passes over `whole` once.
  let at = 0;
  for (const item of part) {
    at = whole.indexOf(item, at) + 1;
    if (at === 0) return false;
  }
  return true;
}

/** conflictDiagnostic explains a DuplicateConflict at the second declaration, naming what differs and where the first is. */
export function conflictDiagnostic(conflict: DuplicateConflict): Diagnostic {
  const { first, second } = conflict;
  const names = new Set([...Object.keys(first.params), ...Object.keys(second.params)]);
  const differing = [...names]
    .filter((name) => stableStringify(first.params[name]) !== stableStringify(second.params[name]))
    .sort(compareStrings);
  if (stableStringify(first.meta) !== stableStringify(second.meta)) differing.push('meta');
  const where = first.pos ? ` at ${formatPos(first.pos)}` : '';
  return {
    message: `declared twice with different ${differing.map((d) => `\`${d}\``).join(', ')}; the first declaration is${where}`,
    resource: resourceId(second.kind, second.name),
    ...(second.pos ? { pos: second.pos } : {}),
  };
}

/** compareStrings orders strings by UTF-16 code units: fast and the same in every locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * sameValue says whether two values would give the same stableStringify, without building the
 * strings: a graph swap compares every running vertex with its new version, and at 10,000
 * vertices the strings cost hundreds of milliseconds.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aIsArray = Array.isArray(a);
  if (aIsArray !== Array.isArray(b)) return false;
  if (aIsArray) {
    const left = a as unknown[];
    const right = b as unknown[];
    if (left.length !== right.length) return false;
    for (let i = 0; i < left.length; i++) if (!sameValue(left[i], right[i])) return false;
    return true;
  }
  // Plain loops, no key arrays: this runs for every param of every vertex on each swap.
  // Keys holding undefined count as absent, as in stableStringify.
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let leftCount = 0;
  for (const key in left) {
    if (!Object.hasOwn(left, key) || left[key] === undefined) continue;
    leftCount++;
    if (!sameValue(left[key], right[key])) return false;
  }
  let rightCount = 0;
  for (const key in right) if (Object.hasOwn(right, key) && right[key] !== undefined) rightCount++;
  return leftCount === rightCount;
}

/** sameVertex says whether two vertices are the same resource (equal canonical keys), cheaply. */
export function sameVertex(a: SameVertexFields, b: SameVertexFields): boolean {
  if (a.kind !== b.kind || a.name !== b.name || a.members.length !== b.members.length) return false;
  // A walk over the params, not a string of them (a fingerprint): a swap meets each new vertex once,
  // and building its string cost more than comparing (swap-10000: 33-35 ms, now 18-19.5 ms).
  if (!sameParams(a.params, b.params) || !sameValue(a.meta, b.meta)) return false;
  for (let i = 0; i < a.members.length; i++) {
    const member = a.members[i]!;
    const other = b.members[i]!;
    if (member.id !== other.id) return false;
    if (i > 0 && !(sameParams(member.params, other.params) && sameValue(member.meta, other.meta))) return false;
  }
  return true;
}

/**
 * sameParams is sameValue for two params objects, 3x faster for what compile builds (no key
 * holding undefined): one pass over each, counting keys, no own-property test. A key holding
 * undefined (which counts as absent) leaves the answer to sameValue.
 */
function sameParams(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  let count = 0;
  for (const key in a) {
    const value = a[key];
    if (value === undefined) return sameValue(a, b);
    const other = b[key];
    if (value !== other && !sameValue(value, other)) return false;
    count++;
  }
  for (const key in b) {
    if (b[key] === undefined) return sameValue(a, b);
    count--;
  }
  return count === 0;
}

/** SameVertexFields are the parts of a vertex that decide whether it is the same resource. */
export interface SameVertexFields {
  readonly kind: string;
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly meta: Meta;
  readonly members: readonly Pick<Member, 'id' | 'params' | 'meta'>[];
}
