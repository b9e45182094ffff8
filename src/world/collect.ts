import type { Claim, CollectAllowance } from '../core/collect.js';
import type { Registry } from '../core/registry.js';
import { resourceId } from '../errors.js';
import { canonicalKey } from '../graph/canonical.js';
import { DEFAULT_META, type CollectSpec, type GraphSpec, type ResourceSpec } from '../graph/spec.js';
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
 * withCollected adds the collected resources to a spec: every export of a kind the
 * spec collects, from every host including this one. Another host's export is hostile input:
 * - it is typed and validated like YAML;
 * - a kind that writes somewhere (its collect trait's `rehome`: a file) is re-homed under its
 *   entry's pattern; without a pattern (only with `allow: [anypath]`) it keeps its place;
 * - a field that needs a privilege the entry does not `allow` (collect-policy.ts) refuses it.
 * A collected resource may not take the name or the claim (a file's path) of one of this host's
 * own resources. Two exports that clash with each other (the same name declared differently, or
 * the same claim) are both refused, naming both hosts: no host can displace another's by sorting
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
  for (const resource of spec.resources) if (!resource.exported) own.claim(resource, claimOf(registry, resource));
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
    const typed = typedParams(resource.params, def, resource.name);
    if (typeof typed === 'string') {
      refuse(typed);
      continue;
    }
    const params = confine(def, { ...def.defaults(resource.name), ...typed }, entry, refuse);
    if (!params) continue;
    const refused = refusedPrivileges(def, params, entry.allow);
    for (const use of refused) refuse(`\`${use.field}\` refused: ${use.reason} (the collect entry may \`allow: [${use.allowance}]\`)`, { field: use.field, allow: use.allowance });
    if (refused.length > 0) continue;
    const problems = validateResource(def, resource.name, params);
    if (problems.length > 0) {
      refuse(problems.map((problem) => `\`${problem.param}\`: ${problem.reason}`).join('; '), { field: problems[0]!.param });
      continue;
    }
    const candidate: Candidate = {
      from,
      refuse,
      spec: { kind: resource.kind, name: resource.name, params, meta: DEFAULT_META, exported: false },
      claim: def.collect?.claim?.(params),
    };
    const clash = own.clash(candidate.spec, candidate.claim);
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
  readonly claim: Claim | undefined;
  readonly refuse: (reason: string) => void;
}

/**
 * withoutClashes keeps the candidates that clash with no other (identical duplicates do not
 * clash: the compile collapses them) and refuses the rest, each naming every export it clashes
 * with. Which host sorts first never matters.
 */
function withoutClashes(candidates: readonly Candidate[]): ResourceSpec[] {
  // key -> what it is, for messages, and the candidates that hold it
  const groups = new Map<string, { what: string; group: Candidate[] }>();
  const join = (key: string, what: string, candidate: Candidate): void => {
    const entry = groups.get(key);
    if (entry) entry.group.push(candidate);
    else groups.set(key, { what, group: [candidate] });
  };
  for (const candidate of candidates) {
    const id = resourceId(candidate.spec.kind, candidate.spec.name);
    join(`id ${id}`, `${id} is`, candidate);
    const claim = candidate.claim;
    if (claim !== undefined) join(claimKey(claim), `the ${claim.what} "${claim.key}" is`, candidate);
  }
  const refused = new Set<Candidate>();
  for (const { what, group } of groups.values()) {
    // Only differing declarations clash: alike exports are one resource.
    if (new Set(group.map((c) => keyOf(c.spec))).size < 2) continue;
    for (const candidate of group) {
      if (refused.has(candidate)) continue;
      refused.add(candidate);
      const others = [...new Set(group.filter((c) => c.from !== candidate.from).map((c) => c.from))];
      candidate.refuse(`${what} also exported differently as ${others.join(', ')}: none of them is collected`);
    }
  }
  return candidates.filter((c) => !refused.has(c)).map((c) => c.spec);
}

/** Claims are the names and claims (file paths) this host's own resources hold, for spotting a collected one that takes one. */
class Claims {
  // resource id -> equality key (as the compile's dedupe compares them)
  private readonly ids = new Map<string, string>();
  // claimKey -> id of the resource that holds it
  private readonly claims = new Map<string, string>();

  claim(spec: ResourceSpec, claim: Claim | undefined): void {
    const id = resourceId(spec.kind, spec.name);
    if (!this.ids.has(id)) this.ids.set(id, keyOf(spec));
    if (claim !== undefined && !this.claims.has(claimKey(claim))) this.claims.set(claimKey(claim), id);
  }

  /** clash says why `spec` may not join the graph, or undefined when it may (an identical duplicate may: the compile collapses it). */
  clash(spec: ResourceSpec, claim: Claim | undefined): string | undefined {
    const id = resourceId(spec.kind, spec.name);
    const key = this.ids.get(id);
    if (key !== undefined) return key === keyOf(spec) ? undefined : `${id} is already in the graph, declared differently`;
    if (claim === undefined) return undefined;
    const holder = this.claims.get(claimKey(claim));
    return holder === undefined ? undefined : `its ${claim.what} "${claim.key}" is already managed by ${holder}`;
  }
}

function keyOf(spec: ResourceSpec): string {
  return canonicalKey(spec.kind, spec.name, spec.params, spec.meta, []);
}

function claimKey(claim: Claim): string {
  return `${claim.what} ${claim.key}`;
}

/** claimOf is what one of this host's own resources claims; a kind unknown here claims nothing. */
function claimOf(registry: Registry, spec: ResourceSpec): Claim | undefined {
  return registry.get(spec.kind)?.collect?.claim?.(spec.params);
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

/**
 * typedParams keeps the params the kind declares, each of its declared type; a string says what is
 * wrong. A field the kind derives from the name (svc's `unit`), which an export carries, is passed
 * over when it is exactly what this host derives itself: the defaults put it back.
 */
function typedParams(params: unknown, def: AnyResourceKind, name: string): Record<string, unknown> | string {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return 'its params are not a map';
  const out: Record<string, unknown> = {};
  let derived: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(params)) {
    const spec = Object.hasOwn(def.params, key) ? def.params[key] : undefined;
    if (!spec) {
      derived ??= def.defaults(name) as Record<string, unknown>;
      if (Object.hasOwn(derived, key) && typeof value !== 'object' && Object.is(derived[key], value)) continue;
      return `unknown parameter \`${key}\``;
    }
    if (value === undefined || value === null || spec.deprecated !== undefined) continue;
    if (!TYPE_CHECKS[spec.type](value)) return `parameter \`${key}\` is not a ${spec.type}`;
    out[key] = value;
  }
  return out;
}

/**
 * confine places a collected resource where its collect entry allows: a kind with a rehome rule
 * (a file) lands under the entry's pattern, or keeps its own place only with `allow: [anypath]`
 * (the parser refuses a pattern-less collect of it without that; this refuses it again for a spec
 * made elsewhere). Other kinds are unchanged.
 */
function confine(
  def: AnyResourceKind,
  params: Readonly<Record<string, unknown>>,
  entry: CollectSpec,
  refuse: (reason: string, detail?: Pick<CollectProblem, 'field'>) => void,
): Readonly<Record<string, unknown>> | undefined {
  const rehome = def.collect?.rehome;
  if (rehome === undefined) return params;
  if (entry.pattern === '') {
    if (entry.allow.includes('anypath')) return params;
    refuse(`a \`${def.kind}\` collect without a \`pattern\` would let it write anywhere (the collect entry may \`allow: [anypath]\`)`, { field: rehome.field });
    return undefined;
  }
  // Typed and merged over the defaults: the rule reads its own parameters with their types.
  const placed = rehome.place(params, entry.pattern);
  if ('refused' in placed) {
    refuse(placed.refused, { field: placed.field });
    return undefined;
  }
  return placed.params;
}
