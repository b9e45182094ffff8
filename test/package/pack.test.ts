// The npm package, as a user gets it: packed from the build, installed with `npm install -g` into
// a prefix of its own, and run from there. It ships what runs (bin/, the bundle and its code
// caches, the examples) and installs only what the bundle requires at run time.
//
// The test packs with --ignore-scripts, so never rebuilds: other tests run bin/mgmt.js from the
// same dist/ meanwhile. CI builds before the tests; npm's cache, filled by CI's `npm ci`, keeps the
// install mostly offline.

import { execFile } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { LogEvent } from '../../src/log/events.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const run = promisify(execFile);
const tempDir = useTempDirs();

interface PackageJson {
  readonly version: string;
  readonly files: readonly string[];
  readonly scripts: Readonly<Record<string, string>>;
  readonly dependencies: Readonly<Record<string, string>>;
}

/** packageJson is the repository's package.json. */
async function packageJson(): Promise<PackageJson> {
  return JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
}

/** npm runs the npm client in the repository and returns its stdout. */
async function npm(args: readonly string[]): Promise<string> {
  const { stdout } = await run('npm', args, { cwd: REPO_ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** snapshot lists every file under `dir` with its size and mtime, to see that nothing changed. */
async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return Promise.all(files.sort().map(async (file) => `${relative(dir, file)} ${(await stat(file)).size} ${(await stat(file)).mtimeMs}`));
}

describe('the npm package', () => {
  it('GIVEN package.json THEN packing builds first (prepack), and installing the package runs no build', async () => {
    const { scripts } = await packageJson();
    expect(scripts.prepack).toBe('npm run --silent build');
    expect(scripts.build).toContain('npm run --silent bundle');
    // A user's install has no devDependencies to build with; and npm 11 counts `prepare` in a
    // packed package.json among the install scripts it asks the user to allow.
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts[hook], hook).toBeUndefined();
  });

  it('GIVEN the bundle THEN the dependencies are exactly the packages it requires at run time (the rest it inlines)', async () => {
    const bundle = await readFile(join(REPO_ROOT, 'dist', 'bundle', 'mgmt.cjs'), 'utf8');
    const required = new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!));
    const packages = [...required].filter((name) => !name.startsWith('node:') && !builtinModules.includes(name));
    expect(packages.sort()).toEqual(Object.keys((await packageJson()).dependencies).sort());
  });

  it('GIVEN the packed tarball WHEN installed with npm install -g into a prefix THEN mgmt runs the quick start from there, with its code cache', async () => {
    const dir = await tempDir();
    const pkg = await packageJson();

    // GIVEN the tarball: only what runs.
    const [packed] = JSON.parse(await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir])) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed!.files.map((file) => file.path).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'package.json',
        'bin/mgmt.js',
        'bin/package.json',
        'dist/bundle/mgmt.cjs',
        'dist/bundle/mgmt.cjs.cache',
        'dist/bundle/mgmt.cjs.max_semi_space_size=4.cache',
        'examples/hello.yaml',
      ]),
    );
    for (const file of files) expect(file).toMatch(/^(README\.md|LICENSE|package\.json|bin\/[^/]+\.(js|json)|dist\/bundle\/mgmt\.cjs(\.[^/]+\.cache|\.cache)?|examples\/[^/]+\.yaml)$/);

    // WHEN installed as a user would (no build: the installed package has no compiled sources).
    const prefix = join(dir, 'prefix');
    await npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed!.filename)]);
    const installed = join(prefix, 'lib', 'node_modules', 'mgmt');
    const top = await readdir(join(installed, 'node_modules'));
    for (const dev of ['typescript', 'esbuild', 'vitest', 'rxjs', 'yaml']) expect(top, `${dev} (a devDependency) installed`).not.toContain(dev);
    expect(await readdir(join(installed, 'dist'))).toEqual(['bundle']);

    // THEN the command answers --version ...
    const mgmt = join(prefix, 'bin', 'mgmt');
    expect((await run(mgmt, ['--version'], { timeout: 60_000 })).stdout).toBe(`mgmt ${pkg.version}\n`);

    // ... and runs the quick start (its file moved into the temp dir), using the shipped code cache
    // (npm pack reset the files' dates: the cache's stamp does not depend on them), writing nothing
    // into the installed package.
    const example = await readFile(join(installed, 'examples', 'hello.yaml'), 'utf8');
    const target = join(dir, 'hello');
    expect(example).toContain('/tmp/mgmt-hello-world');
    const yaml = join(dir, 'hello.yaml');
    await writeFile(yaml, example.replace('/tmp/mgmt-hello-world', target));
    const before = await snapshot(installed);
    // --no-server: with etcd installed the agent would start one on the default port, which
    // agents of other tests running at the same time would share.
    const args = ['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-server', '--log-format', 'json'];
    const { stdout, stderr } = await run(mgmt, args, { timeout: 60_000, env: { ...process.env, MGMT_DEBUG_CODE_CACHE: '1' } });
    const events = stdout.trim().split('\n').map((line) => JSON.parse(line) as LogEvent);
    expect(events.map((event) => event.event)).toContain('converged');
    expect(events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'converged' });
    const content = (parse(example) as { resources: { file: Array<{ content: string }> } }).resources.file[0]!.content;
    expect(await readFile(target, 'utf8')).toBe(content);
    expect(stderr).toContain(`mgmt: code cache ${JSON.stringify(join(installed, 'dist', 'bundle', 'mgmt.cjs.max_semi_space_size=4.cache'))}: used\n`);
    expect(await snapshot(installed)).toEqual(before);
  }, 300_000);
});
