import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeManifest, toYaml } from '../bench/lib/manifest.js';
import { SHAPES, shapeGraph } from '../bench/lib/shape-graphs.js';

// The YAML the readers are checked against: every file of the repository's examples and
// fixtures, upstream mgmt's examples where a checkout has them, and the bench's generated graphs.

/** attempt runs a parse and returns what it returned or threw. */
export function attempt<T>(parse: () => T): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** yamlFiles lists the .yaml files of a directory, recursively; none when it is not there. */
function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** ROOT is the repository's root directory, with a trailing slash. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** CORPUS lists the YAML files of test/fixtures, examples and upstream's examples (read where they are, when present). */
export const CORPUS: readonly string[] = [
  ...yamlFiles(join(ROOT, 'test/fixtures')),
  ...yamlFiles(join(ROOT, 'examples')),
  ...yamlFiles(join(ROOT, '../shared/compat/mgmt-examples')),
];

/** BENCH_GRAPHS are the bench's generated graphs at a small size: its file scenarios' and each growth shape's. */
export const BENCH_GRAPHS: readonly (readonly [string, string])[] = [
  ['files-100', toYaml('bench-100', makeManifest('/tmp/bench/files100', 100))],
  ...SHAPES.map((shape) => [`${shape}-50`, shapeGraph(shape, 50).yaml] as const),
];
