import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { of } from 'rxjs';
import { createRegistry, type Registry } from '../../src/core/registry.js';
import { noop } from '../../src/resources/noop.js';
import type { ResourceKind } from '../../src/core/kind.js';

/** ThingParams use every ParamType, so the frontend's type checks are tested independently of real kinds. */
export interface ThingParams {
  readonly path: string;
  readonly mode: string;
  readonly count: number;
  readonly size: number;
  readonly ratio: number;
  readonly enabled: boolean;
  readonly tags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** thing is a test-only kind: `path` defaults to the name and must be absolute; `old` is a dead key. */
export const thing: ResourceKind<ThingParams> = {
  kind: 'thing',
  doc: 'a test kind with one parameter of each type',
  params: {
    path: { type: 'string', doc: 'an absolute path (default: the name)' },
    mode: { type: 'string', doc: 'an octal mode, kept as written' },
    count: { type: 'int', doc: 'any integer' },
    size: { type: 'uint', doc: 'a whole number >= 0' },
    ratio: { type: 'number', doc: 'any number' },
    enabled: { type: 'bool', doc: 'on or off' },
    tags: { type: 'stringList', doc: 'labels' },
    labels: { type: 'stringMap', doc: 'key/value labels' },
    old: { type: 'int', doc: 'a key of an older version', deprecated: 'it was removed; nothing replaces it' },
  },
  defaults: (name) => ({ path: name, mode: '', count: 0, size: 0, ratio: 1, enabled: true, tags: [], labels: {} }),
  validate(params) {
    const problems = [];
    if (!params.path.startsWith('/')) problems.push({ param: 'path', reason: `must be absolute, got "${params.path}"` });
    if (params.mode !== '' && !/^[0-7]{3,4}$/.test(params.mode)) problems.push({ param: 'mode', reason: 'must be octal digits' });
    return problems;
  },
  init: () => ({ watch: () => of(undefined), checkApply: async () => true }),
};

/** testRegistry holds `noop` and `thing`. */
export const testRegistry: Registry = createRegistry([noop, thing]);

/** writeYaml writes `text` as `name` into `dir` and returns its path. */
export async function writeYaml(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}
