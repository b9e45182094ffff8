import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The floors of docs/architecture.md and what each may import besides its own files. A floor is a
// directory (src/agent.ts belongs to the agent floor with src/agent/). Packages from npm are
// checked only where the floor promises to use none but these.
const REPO = join(import.meta.dirname, '..');
const BELOW_WORLD = ['src/core', 'src/os', 'src/errors', 'src/log', 'src/dbus', 'src/watchers', 'src/pkg', 'src/resources', 'src/graph', 'streams'];
const WORLD_FLOOR = ['src/world', 'src/cluster', 'src/etcd', 'src/tls'];

interface Floor {
  readonly may: readonly string[];
  /** The npm packages it may import; undefined = not checked. */
  readonly packages?: readonly string[];
}

const FLOORS: Readonly<Record<string, Floor>> = {
  streams: { may: [], packages: ['rxjs'] },
  'src/core': { may: [], packages: ['rxjs'] },
  'src/os': { may: [], packages: [] },
  'src/errors': { may: [], packages: [] },
  'src/log': { may: ['src/core', 'src/errors'] },
  'src/dbus': { may: ['src/os', 'src/errors'] },
  'src/watchers': { may: ['src/core', 'src/os', 'src/errors', 'streams'] },
  'src/pkg': { may: ['src/core', 'src/os', 'src/errors', 'src/dbus', 'src/watchers', 'streams'] },
  'src/resources': { may: ['src/core', 'src/os', 'src/errors', 'src/log', 'src/dbus', 'src/watchers', 'src/pkg', 'streams'] },
  'src/graph': { may: ['src/core', 'src/errors'] },
  'src/yamlgraph': { may: ['src/core', 'src/errors', 'src/graph', 'src/resources'] },
  ...Object.fromEntries(WORLD_FLOOR.map((floor) => [floor, { may: [...BELOW_WORLD, ...WORLD_FLOOR] }])),
  'src/engine': { may: ['src/core', 'src/os', 'src/errors', 'src/log', 'src/graph', 'src/world', 'src/watchers', 'streams'] },
  'src/frontend': { may: [...BELOW_WORLD, 'src/yamlgraph', 'src/world'] },
  // The agent knows no input format: of src/frontend/ it sees only the contract, types.ts.
  'src/agent': { may: [...BELOW_WORLD, ...WORLD_FLOOR, 'src/engine', 'src/frontend/types', 'graphviz'] },
  'src/cli': { may: [...BELOW_WORLD, ...WORLD_FLOOR, 'src/yamlgraph', 'src/engine', 'src/frontend', 'src/agent', 'graphviz'] },
  graphviz: { may: ['src/graph', 'src/os'] },
};

// Imports the floors above forbid that the tree has today, each with its reason; fixing them is
// outside the documentation's change (docs/architecture.md, "Known exceptions"). A new one fails.
const KNOWN_EXCEPTIONS: ReadonlyArray<readonly [from: string, to: string]> = [
  // The exec kind caps its running commands with the engine's counting semaphore.
  ['src/resources/exec-process.ts', 'src/engine/semaphores.ts'],
];

/** floorOf names the floor of a repository path: its directory under src/, or its top directory. */
function floorOf(path: string): string {
  const parts = path.replace(/\.ts$/, '').split('/');
  if (parts[0] !== 'src') return parts[0]!;
  return `src/${parts[1]}`;
}

/** allowed says whether a file of `floor` may import the repository file `target`. */
function allowed(floor: string, target: string): boolean {
  const withoutExt = target.replace(/\.ts$/, '');
  return floorOf(target) === floor || FLOORS[floor]!.may.some((may) => floorOf(target) === may || withoutExt === may);
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

/** importsOf lists what a file imports, statically or lazily, as written. */
function importsOf(path: string): string[] {
  const text = readFileSync(join(REPO, path), 'utf8');
  const statics = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '([^']+)'/gms)].map((match) => match[1]!);
  const lazy = [...text.matchAll(/\bimport\('([^']+)'\)/g)].map((match) => match[1]!);
  return [...statics, ...lazy];
}

const FILES = [...sourcesUnder('src'), ...sourcesUnder('streams'), ...sourcesUnder('graphviz')];

describe('the floors of docs/architecture.md', () => {
  it('GIVEN the table THEN it names every floor of the tree, and every floor it names exists', () => {
    expect([...new Set(FILES.map(floorOf))].sort()).toEqual(Object.keys(FLOORS).sort());
  });

  it.each(FILES)('GIVEN %s THEN it imports only its own floor and those below it', (path) => {
    const floor = floorOf(path);
    const wrong: string[] = [];
    for (const source of importsOf(path)) {
      if (source.startsWith('.')) {
        const target = relative(REPO, resolve(REPO, dirname(path), source)).replace(/\.js$/, '.ts');
        const known = KNOWN_EXCEPTIONS.some(([from, to]) => from === path && to === target);
        if (!allowed(floor, target) && !known) wrong.push(target);
      } else {
        const name = source.startsWith('@') ? source.split('/').slice(0, 2).join('/') : source.split('/')[0]!;
        const packages = FLOORS[floor]!.packages;
        if (packages !== undefined && !builtinModules.includes(name.replace(/^node:/, '')) && !packages.includes(name)) wrong.push(source);
        // streams/ and src/core/ are pure: not even Node's modules.
        if ((floor === 'streams' || floor === 'src/core') && name.startsWith('node:')) wrong.push(source);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('GIVEN the known exceptions THEN each still exists (a fixed one is taken off the list)', () => {
    for (const [from, to] of KNOWN_EXCEPTIONS) {
      const targets = importsOf(from).map((source) => relative(REPO, resolve(REPO, dirname(from), source)).replace(/\.js$/, '.ts'));
      expect(targets, from).toContain(to);
    }
  });
});
