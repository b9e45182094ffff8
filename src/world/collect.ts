import { posix } from 'node:path';
import { resourceId } from '../errors.js';
import { canonicalKey } from '../graph/canonical.js';
import { DEFAULT_META, type CollectAllowance, type CollectSpec, type GraphSpec, type ResourceSpec } from '../graph/spec.js';
import { filePath, type FileParams } from '../resources/file.js';
import type { Registry } from '../core/registry.js';
import type { AnyResourceKind } from '../core/kind.js';
import type { ParamType } from '../core/params.js';
import { validateResource } from '../resources/validate.js';
import { refusedPrivileges } from './collect-policy.js';
import type { ExportedResource, ExportSpec } from './types.js';

/** CollectProblem is a collected resource that was refused, with why. */
export interface CollectProblem {
  /** `host:kind[name]` of the refused export. */
  readonly from: string;
  readonly reason: string;
  /** The parameter that was refused, when one was (`source`, `mode`, `owner`, ...). */
  readonly field?: string;
  /** The collect entry's allowance that would let it through, when one would. */
  readonly allow?: CollectAllowance;
}

/** exportsOf lists the resources a graph exports (`@@name`), for World.exportResources. */
export function exportsOf(spec: GraphSpec): ExportSpec[] {
  return spec.resources.filter((r) => r.exported).map((r) => ({ kind: r.kind, name: r.name, params: r.params }));
}

/**
 * withCollected adds the collected resources to a spec (reference 1.6): every export of a kind the
 * spec collects, from every host including this one. Another host's export is hostile input:
 * - it is typed and validated like YAML;
 * - a `file` is re-homed into its entry's pattern directory under the base name of the path it
 *   names (`path`, `dirname` and `basename` together), so no field can place it elsewhere; a path
 *   with no base name (`..`, `/`) is refused; without a pattern (only with `allow: [anypath]`) it
 *   keeps its path;
 * - a field that needs a privilege the entry does not `allow` (collect-policy.ts) refuses it.
 * A collected resource may not take the name or (for a file) the path of one of this host's own
 * resources. Two exports that clash with each other (the same name declared differently, or the
 * same path) are both refused, naming both hosts: no host can displace another's by sorting
 * earlier. Exports identical to each other are kept for the compile to collapse.
 * Refusals go to `onProblem`; they never fail the graph.
 */
export function withCollected(
  spec: GraphSpec,
  collected: readonly ExportedResource[],
  registry: Registry,
  onProblem: (problem: CollectProblem) => void,
): GraphSpec {
  if (spec.collect.length === 0) return spec;
  const own = new Claims();
  for (const resource of spec.resources) if (!resource.exported) own.claim(resource);
  const candidates: Candidate[] = [];
  for (const resource of collected) {
    const entry = spec.collect.find((e) => e.kind === resource.kind);
    if (entry === undefined) continue;
    const from = `${resource.host}:${resourceId(resource.kind, resource.name)}`;
    const refuse = (reason: string, detail: Pick<CollectProblem, 'field' | 'allow'> = {}): void => onProblem({ from, reason, ...detail });
    if (typeof resource.name !== 'string' || resource.name === '' || resource.name.startsWith('@@')) {
      refuse('the export has no usable name');
      continue;
    }
    const def = registry.get(resource.kind);
    if (!def) {
      refuse(`kind \`${resource.kind}\` is not supported here`);
      continue;
    }
    // Another host's data is input like any other: typed and validated before it can run here.
    const typed = typedParams(resource.params, def);
    if (typeof typed === 'string') {
      refuse(typed);
      continue;
    }
    const params = confine(resource.kind, { ...def.defaults(resource.name), ...typed }, entry, refuse);
    if (!params) continue;
    const refused = refusedPrivileges(resource.kind, params, entry.allow);
    for (const use of refused) refuse(`\`${use.field}\` refused: ${use.reason} (the collect entry may \`allow: [${use.allowance}]\`)`, { field: use.field, allow: use.allowance });
    if (refused.length > 0) continue;
    const problems = validateResource(def, resource.name, params);
    if (problems.length > 0) {
      refuse(problems.map((problem) => `\`${problem.param}\`: ${problem.reason}`).join('; '), { field: problems[0]!.param });
      continue;
    }
    const candidate: Candidate = { from, refuse, spec: { kind: resource.kind, name: resource.name, params, meta: DEFAULT_META, exported: false } };
    const clash = own.clash(candidate.spec);
    if (clash !== undefined) refuse(clash);
    else candidates.push(candidate);
  }
  return { ...spec, resources: [...spec.resources, ...withoutClashes(candidates)] };
}

/** Candidate is a collected resource that passed its own checks, before clashes between exports are settled. */
interface Candidate {
  /** `host:kind[name]` of the export. */
  readonly from: string;
  readonly spec: ResourceSpec;
  readonly refuse: (reason: string) => void;
}

/**
 * withoutClashes keeps the candidates that clash with no other (identical duplicates do not
 * clash: the compile collapses them) and refuses the rest, each naming every export it clashes
 * with. Which host sorts first never matters.
 */
function withoutClashes(candidates: readonly Candidate[]): ResourceSpec[] {
  const groups = new Map<string, Candidate[]>();
  const join = (key: string, candidate: Candidate): void => {
    const group = groups.get(key);
    if (group) group.push(candidate);
    else groups.set(key, [candidate]);
  };
  for (const candidate of candidates) {
    join(`id ${resourceId(candidate.spec.kind, candidate.spec.name)}`, candidate);
    const path = pathOf(candidate.spec);
    if (path !== undefined) join(`path ${path}`, candidate);
  }
  const refused = new Set<Candidate>();
  for (const [key, group] of groups) {
    // Only differing declarations clash: alike exports are one resource.
    if (new Set(group.map((c) => keyOf(c.spec))).size < 2) continue;
    const what = key.startsWith('id ') ? `${key.slice(3)} is` : `the path "${key.slice(5)}" is`;
    for (const candidate of group) {
      if (refused.has(candidate)) continue;
      refused.add(candidate);
      const others = [...new Set(group.filter((c) => c.from !== candidate.from).map((c) => c.from))];
      candidate.refuse(`${what} also exported differently as ${others.join(', ')}: none of them is collected`);
    }
  }
  return candidates.filter((c) => !refused.has(c)).map((c) => c.spec);
}

/** Claims are the names and file paths this host's own resources hold, for spotting a collected one that takes one. */
class Claims {
  // resource id -> equality key (as the compile's dedupe compares them)
  private readonly ids = new Map<string, string>();
  // file path (without a trailing `/`) -> id of the file resource that manages it
  private readonly paths = new Map<string, string>();

  claim(spec: ResourceSpec): void {
    const id = resourceId(spec.kind, spec.name);
    if (!this.ids.has(id)) this.ids.set(id, keyOf(spec));
    const path = pathOf(spec);
    if (path !== undefined && !this.paths.has(path)) this.paths.set(path, id);
  }

  /** clash says why `spec` may not join the graph, or undefined when it may (an identical duplicate may: the compile collapses it). */
  clash(spec: ResourceSpec): string | undefined {
    const id = resourceId(spec.kind, spec.name);
    const key = this.ids.get(id);
    if (key !== undefined) return key === keyOf(spec) ? undefined : `${id} is already in the graph, declared differently`;
    const path = pathOf(spec);
    const holder = path === undefined ? undefined : this.paths.get(path);
    return holder === undefined ? undefined : `its path "${path}" is already managed by ${holder}`;
  }
}

function keyOf(spec: ResourceSpec): string {
  return canonicalKey(spec.kind, spec.name, spec.params, spec.meta, []);
}

function pathOf(spec: ResourceSpec): string | undefined {
  if (spec.kind !== 'file') return undefined;
  const path = filePath(spec.params as unknown as FileParams);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

const TYPE_CHECKS: Record<ParamType, (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string',
  bool: (value) => typeof value === 'boolean',
  int: (value) => Number.isInteger(value),
  uint: (value) => Number.isInteger(value) && (value as number) >= 0,
  number: (value) => typeof value === 'number' && !Number.isNaN(value),
  stringList: (value) => Array.isArray(value) && value.every((item) => typeof item === 'string'),
  stringMap: (value) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string'),
};

/** typedParams keeps the params the kind declares, each of its declared type; a string says what is wrong. */
function typedParams(params: unknown, def: AnyResourceKind): Record<string, unknown> | string {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return 'its params are not a map';
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const spec = Object.hasOwn(def.params, key) ? def.params[key] : undefined;
    if (!spec) return `unknown parameter \`${key}\``;
    if (value === undefined || value === null || spec.deprecated !== undefined) continue;
    if (!TYPE_CHECKS[spec.type](value)) return `parameter \`${key}\` is not a ${spec.type}`;
    out[key] = value;
  }
  return out;
}

/**
 * confine places a collected resource where its collect entry allows: a `file` lands in the
 * entry's pattern directory under the base name of the path its fields name together, or keeps
 * that path only with `allow: [anypath]` (the parser refuses a pattern-less file collect without
 * it; this refuses it again for a spec made elsewhere). Other kinds are unchanged.
 */
function confine(
  kind: string,
  params: Readonly<Record<string, unknown>>,
  entry: CollectSpec,
  refuse: (reason: string, detail?: Pick<CollectProblem, 'field'>) => void,
): Readonly<Record<string, unknown>> | undefined {
  if (kind !== 'file') return params;
  // Typed and merged over the defaults: path, dirname and basename are strings.
  const path = filePath(params as unknown as FileParams);
  if (entry.pattern === '') {
    if (entry.allow.includes('anypath')) return params;
    refuse('a `file` collect without a `pattern` would let it write anywhere (the collect entry may `allow: [anypath]`)', { field: 'path' });
    return undefined;
  }
  const isDirectory = path.endsWith('/');
  const base = posix.basename(path);
  if (base === '' || base === '.' || base === '..' || base.includes('\0')) {
    refuse(`its path "${path}" has no file name to re-home into ${entry.pattern}`, { field: 'path' });
    return undefined;
  }
  const directory = posix.normalize(entry.pattern.endsWith('/') ? entry.pattern : `${entry.pattern}/`);
  const rehomed = posix.normalize(directory + base + (isDirectory ? '/' : ''));
  // normalize cannot climb out with a plain base name, but the check keeps the promise explicit.
  if (!rehomed.startsWith(directory) || rehomed === directory) {
    refuse(`its path "${path}" would leave ${entry.pattern}`, { field: 'path' });
    return undefined;
  }
  return { ...params, path: rehomed, dirname: '', basename: '' };
}
