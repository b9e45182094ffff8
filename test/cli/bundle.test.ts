// The built agent: bin/mgmt.js runs the one-file bundle with the V8 code cache the build wrote
// beside it, and a cache that does not belong to that bundle is ignored, never trusted. The cache's
// stamp is the bundle's length and build id, so it survives what npm pack does to file dates.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const run = promisify(execFile);
const BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'mgmt.cjs');
const tempDir = useTempDirs();

/** copyAgent copies bin/mgmt.js and the bundle, with its code cache unless `withCache` is false, into a fresh tree. */
async function copyAgent(withCache = false): Promise<string> {
  const root = await tempDir();
  await mkdir(join(root, 'bin'));
  await mkdir(join(root, 'dist', 'bundle'), { recursive: true });
  await copyFile(join(REPO_ROOT, 'bin', 'mgmt.js'), join(root, 'bin', 'mgmt.js'));
  await copyFile(join(REPO_ROOT, 'bin', 'package.json'), join(root, 'bin', 'package.json'));
  await copyFile(BUNDLE, join(root, 'dist', 'bundle', 'mgmt.cjs'));
  if (withCache) await copyFile(`${BUNDLE}.cache`, join(root, 'dist', 'bundle', 'mgmt.cjs.cache'));
  return root;
}

/** stampOf is the first line of a cache of the bundle at `path`: its length and the build id on its last line. */
async function stampOf(path: string): Promise<string> {
  const source = await readFile(path, 'utf8');
  const id = /\/\/# mgmt-build=(\w+)\n$/.exec(source)?.[1];
  expect(id, `the build id at the end of ${path}`).toBeDefined();
  return `${source.length}:${id}\n`;
}

/** runHello runs examples/hello.yaml with the agent under `root`, writing its file into `dir`, and says whether it used its code cache. */
async function runHello(root: string, dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const yaml = join(dir, 'hello.yaml');
  await writeFile(yaml, `graph: hello\nresources:\n  file:\n  - name: f\n    path: "${join(dir, 'out')}"\n    content: "hello\\n"\n`);
  const args = [join(root, 'bin', 'mgmt.js'), 'run', '--yaml', yaml, '--converged-timeout=0', '--no-server', '--tmp-prefix', '--no-watch'];
  return run(process.execPath, args, { timeout: 60_000, env: { ...process.env, MGMT_DEBUG_CODE_CACHE: '1', ...env } });
}

/** cacheReport is what the agent said of its code cache (MGMT_DEBUG_CODE_CACHE=1). */
function cacheReport(stderr: string): string | undefined {
  return /^mgmt: code cache .*: (.*)$/m.exec(stderr)?.[1];
}

describe('the built agent', () => {
  it.each([
    ['node bin/mgmt.js', `${BUNDLE}.cache`],
    // The `mgmt` command's first line gives node this flag; V8 takes no cache made without it.
    ['bin/mgmt.js (--max-semi-space-size=4)', `${BUNDLE}.max_semi_space_size=4.cache`],
  ])('GIVEN the build THEN the code cache of %s is beside the bundle, stamped with that bundle', async (_launch, file) => {
    const cache = await readFile(file);
    const stamp = await stampOf(BUNDLE);
    expect(cache.subarray(0, stamp.length).toString()).toBe(stamp);
    // More than the stamp: V8's data of what the build's warm-up run compiled.
    expect(cache.length).toBeGreaterThan(stamp.length + 100_000);
  });

  it('GIVEN the mgmt command THEN its first line starts node with the young generation capped', async () => {
    const first = (await readFile(join(REPO_ROOT, 'bin', 'mgmt.js'), 'utf8')).split('\n')[0];
    expect(first).toBe('#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS MGMT_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --max-semi-space-size=4');
    const { stdout } = await run(join(REPO_ROOT, 'bin', 'mgmt.js'), ['--version'], { timeout: 60_000 });
    expect(stdout).toMatch(/^mgmt \d+\.\d+\.\d+/);
  });

  it('GIVEN NODE_EXTRA_CA_CERTS WHEN the mgmt command starts THEN node never reads that file (node bin/mgmt.js does)', async () => {
    // node warns at start when it cannot read the file; the mgmt command's first line starts node
    // without it (kept aside for the agent to put back: extra-ca-certs.test.ts).
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem' };
    const command = await run(join(REPO_ROOT, 'bin', 'mgmt.js'), ['--version'], { timeout: 60_000, env });
    expect(command.stdout).toMatch(/^mgmt \d+\.\d+\.\d+/);
    expect(command.stderr).not.toMatch(/extra certs/i);
    const direct = await run(process.execPath, [join(REPO_ROOT, 'bin', 'mgmt.js'), '--version'], { timeout: 60_000, env });
    expect(direct.stderr).toMatch(/extra certs/i);
  });

  it('GIVEN the bundle THEN nothing in it is loaded with import() (a vm script has no import callback: it would fail when reached)', async () => {
    const source = await readFile(BUNDLE, 'utf8');
    expect(source.match(/\bimport\(\s*["'`]/g) ?? []).toEqual([]);
    // The lazily loaded packages are required instead.
    expect(source).toContain('require("dbus-next")');
  });

  it('GIVEN the build THEN the bundle ends with its build id, a hash of the rest of it', async () => {
    const source = await readFile(BUNDLE);
    const last = source.lastIndexOf('//# mgmt-build=');
    const id = createHash('sha256').update(source.subarray(0, last)).digest('hex').slice(0, 32);
    expect(source.subarray(last).toString()).toBe(`//# mgmt-build=${id}\n`);
  });

  it('GIVEN the bundle and its cache with other file dates (as npm pack leaves them) THEN the cache is used', async () => {
    const root = await copyAgent(true);
    const packed = new Date('1985-10-26T08:15:00Z');
    for (const file of ['mgmt.cjs', 'mgmt.cjs.cache']) await utimes(join(root, 'dist', 'bundle', file), packed, packed);
    const result = await runHello(root, await tempDir());
    expect(result.stderr).toContain('exit (code=0 reason=converged');
    expect(cacheReport(result.stderr)).toBe('used');
  });

  it('GIVEN a cache of another bundle, of an edited bundle, garbage under the right stamp, or none THEN the agent runs all the same, without it', async () => {
    const dir = await tempDir();
    const real = await readFile(`${BUNDLE}.cache`);
    const cases: Array<[string, string, (bundle: string) => Promise<Buffer | undefined>]> = [
      ['none', 'absent', async () => undefined],
      ['another bundle', "not this bundle's", async () => Buffer.concat([Buffer.from('12:34\n'), real.subarray(real.indexOf(10) + 1)])],
      // Edited after the build, so its build id no longer matches its content: its length tells.
      [
        'an edited bundle',
        "not this bundle's",
        async (bundle) => {
          await writeFile(bundle, `// edited\n${await readFile(bundle, 'utf8')}`);
          return real;
        },
      ],
      ['garbage under the stamp', 'rejected by V8', async (bundle) => Buffer.concat([Buffer.from(await stampOf(bundle)), Buffer.alloc(4096, 7)])],
    ];
    for (const [what, report, cacheFor] of cases) {
      const root = await copyAgent();
      const bundle = join(root, 'dist', 'bundle', 'mgmt.cjs');
      const cache = await cacheFor(bundle);
      if (cache !== undefined) await writeFile(`${bundle}.cache`, cache);
      const result = await runHello(root, dir);
      expect(result.stderr, what).toContain('exit (code=0 reason=converged');
      expect(cacheReport(result.stderr), what).toBe(report);
      expect(await readFile(join(dir, 'out'), 'utf8'), what).toBe('hello\n');
    }
  });

  it('GIVEN a run without MGMT_WRITE_CODE_CACHE THEN it writes nothing beside the bundle (an installed package may be read-only)', async () => {
    const root = await copyAgent();
    const result = await runHello(root, await tempDir());
    expect(result.stderr).toContain('exit (code=0 reason=converged');
    expect(await readdir(join(root, 'dist', 'bundle'))).toEqual(['mgmt.cjs']);
  });

  it('GIVEN a bundle without a build id THEN it takes no cache and, even under MGMT_WRITE_CODE_CACHE=1, leaves none', async () => {
    const root = await copyAgent(true);
    const bundle = join(root, 'dist', 'bundle', 'mgmt.cjs');
    const source = await readFile(bundle, 'utf8');
    await writeFile(bundle, source.slice(0, source.lastIndexOf('//# mgmt-build=')));
    const result = await runHello(root, await tempDir(), { MGMT_WRITE_CODE_CACHE: '1' });
    expect(result.stderr).toContain('exit (code=0 reason=converged');
    expect(cacheReport(result.stderr)).toBe("not this bundle's");
    expect(await readFile(`${bundle}.cache`)).toEqual(await readFile(`${BUNDLE}.cache`));
    expect((await readdir(join(root, 'dist', 'bundle'))).sort()).toEqual(['mgmt.cjs', 'mgmt.cjs.cache']);
  });

  it('GIVEN no bundle (a checkout not built) THEN one line names it and the build, exit 1', async () => {
    const root = await copyAgent();
    await rm(join(root, 'dist'), { recursive: true });
    const failed = await run(process.execPath, [join(root, 'bin', 'mgmt.js'), 'run', '--yaml', 'x.yaml'], { timeout: 60_000 }).catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    const { stderr } = failed as { stderr: string };
    expect(stderr).toBe(`mgmt: cannot read the agent "${join(root, 'dist', 'bundle', 'mgmt.cjs')}" (ENOENT): in a source checkout, run \`npm run build\` first\n`);
  });
});
