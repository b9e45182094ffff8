import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { of } from 'rxjs';
import { createRegistry, type Registry } from '../../src/core/registry.js';
import { noop } from '../../src/resources/noop.js';
import type { ResourceKind } from '../../src/core/kind.js';
import { defaultsOf, paramTable, type ParamsOf } from '../../src/core/params.js';

/** thingParams use every ParamType, so the frontend's type checks are tested independently of real kinds. */
export const thingParams = paramTable({
  path: { type: 'string', doc: 'an absolute path (default: the name)', default: (name) => name },
  mode: { type: 'string', doc: 'an octal mode, kept as written', default: '' },
  count: { type: 'int', doc: 'any integer', default: 0 },
  size: { type: 'uint', doc: 'a whole number >= 0', default: 0 },
  ratio: { type: 'number', doc: 'any number', default: 1 },
  enabled: { type: 'bool', doc: 'on or off', default: true },
  tags: { type: 'stringList', doc: 'labels', default: [] },
  labels: { type: 'stringMap', doc: 'key/value labels', default: {} },
  old: { type: 'int', doc: 'a key of an older version', deprecated: 'it was removed; nothing replaces it' },
});

/** ThingParams are the parameters of a thing. */
export type ThingParams = ParamsOf<typeof thingParams>;

/** thing is a test-only kind: `path` defaults to the name and must be absolute; `old` is a dead key. */
export const thing: ResourceKind<ThingParams> = {
  kind: 'thing',
  doc: 'a test kind with one parameter of each type',
  params: thingParams,
  defaults: defaultsOf(thingParams),
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
