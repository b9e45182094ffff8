import { posix } from 'node:path';
import { resourceId } from '../errors.js';
import { DEFAULT_META, type CollectSpec, type GraphSpec, type ResourceSpec } from '../graph/spec.js';
import type { Registry } from '../resources/index.js';
import type { AnyResourceKind, ParamType } from '../resources/types.js';
import type { ExportedResource, ExportSpec } from './types.js';

/** CollectProblem is a collected resource that was refused, with why. */
export interface CollectProblem {
  /** `host:kind[name]` of the refused export. */
  readonly from: string;
  readonly reason: string;
}

/** exportsOf lists the resources a graph exports (`@@name`), for World.exportResources. */
export function exportsOf(spec: GraphSpec): ExportSpec[] {
  return spec.resources.filter((r) => r.exported).map((r) => ({ kind: r.kind, name: r.name, params: r.params }));
}

/**
 * withCollected adds the collected resources to a spec (reference 1.6): every export of a kind the
 * spec collects, from every host including this one. A `file` collected with a pattern is re-homed
 * into the pattern directory, and confined to it: a name that would leave it (`..`, `/`, empty)
 * is refused, and so is a `source` (another host must not make this one copy its local files).
 * Refusals go to `onProblem`; they never fail the graph.
 */
export function withCollected(
  spec: GraphSpec,
  collected: readonly ExportedResource[],
  registry: Registry,
  onProblem: (problem: CollectProblem) => void,
): GraphSpec {
  if (spec.collect.length === 0) return spec;
  const added: ResourceSpec[] = [];
  for (const resource of collected) {
    const entries = spec.collect.filter((entry) => entry.kind === resource.kind);
    if (entries.length === 0) continue;
    const from = `${resource.host}:${resourceId(resource.kind, resource.name)}`;
    const refuse = (reason: string): void => onProblem({ from, reason });
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
    const params = rehome({ ...resource, params: { ...def.defaults(resource.name), ...typed } }, entries, refuse);
    if (!params) continue;
    const problems = def.validate(params);
    if (problems.length > 0) {
      refuse(problems.map((problem) => `\`${problem.param}\`: ${problem.reason}`).join('; '));
      continue;
    }
    added.push({ kind: resource.kind, name: resource.name, params, meta: DEFAULT_META, exported: false });
  }
  return { ...spec, resources: [...spec.resources, ...added] };
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

function rehome(
  resource: ExportedResource,
  entries: readonly CollectSpec[],
  refuse: (reason: string) => void,
): Readonly<Record<string, unknown>> | undefined {
  const pattern = entries.find((entry) => entry.pattern !== '')?.pattern;
  if (resource.kind !== 'file' || pattern === undefined) return resource.params;
  if (resource.params.source !== undefined && resource.params.source !== '') {
    refuse('a collected file may not copy a `source` from this host');
    return undefined;
  }
  const path = typeof resource.params.path === 'string' && resource.params.path !== '' ? resource.params.path : resource.name;
  const isDirectory = path.endsWith('/');
  const base = posix.basename(path);
  if (base === '' || base === '.' || base === '..' || base.includes('\0')) {
    refuse(`its path "${path}" has no file name to re-home into ${pattern}`);
    return undefined;
  }
  const directory = pattern.endsWith('/') ? pattern : `${pattern}/`;
  const rehomed = posix.normalize(directory + base + (isDirectory ? '/' : ''));
  // normalize cannot climb out with a plain basename, but the check keeps the promise explicit.
  if (!rehomed.startsWith(posix.normalize(directory))) {
    refuse(`its path "${path}" would leave ${pattern}`);
    return undefined;
  }
  return { ...resource.params, path: rehomed, dirname: '', basename: '' };
}
