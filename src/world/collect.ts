import { posix } from 'node:path';
import { resourceId } from '../errors.js';
import { canonicalKey } from '../graph/canonical.js';
import { DEFAULT_META, type CollectSpec, type GraphSpec, type ResourceSpec } from '../graph/spec.js';
import { filePath, type FileParams } from '../resources/file.js';
import type { Registry } from '../resources/index.js';
import type { AnyResourceKind, ParamType } from '../resources/types.js';
import { validateResource } from '../resources/validate.js';
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
 * into the pattern directory under the base name of its path (so `../x` lands as `x`), and a path
 * with no base name to re-home (`..`, `/`) is refused, and so is a `source` (another host must
 * not make this one copy its local files).
 * A collected resource may not take the name of a different resource already in the graph (the
 * compile would fail on the duplicate) nor, for a file, the path of another file (the two would
 * undo each other forever): this host's own resources come first, then exports in host order.
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
  const claims = new Claims();
  for (const own of spec.resources) if (!own.exported) claims.claim(own);
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
    const problems = validateResource(def, resource.name, params);
    if (problems.length > 0) {
      refuse(problems.map((problem) => `\`${problem.param}\`: ${problem.reason}`).join('; '));
      continue;
    }
    const collectedSpec: ResourceSpec = { kind: resource.kind, name: resource.name, params, meta: DEFAULT_META, exported: false };
    const clash = claims.clash(collectedSpec);
    if (clash !== undefined) {
      refuse(clash);
      continue;
    }
    claims.claim(collectedSpec);
    added.push(collectedSpec);
  }
  return { ...spec, resources: [...spec.resources, ...added] };
}

/** Claims are the names and file paths the graph's resources hold so far, for spotting a collected one that clashes. */
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
