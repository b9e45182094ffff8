// The built agent: bin/mgmt.js runs the one-file bundle with the V8 code cache the build wrote
// beside it, and a cache that does not belong to that bundle is ignored, never trusted.

import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const run = promisify(execFile);
const BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'mgmt.cjs');
const tempDir = useTempDirs();

/** copyAgent copies bin/mgmt.js and the bundle, without its code cache, into a fresh tree. */
async function copyAgent(): Promise<string> {
  const root = await tempDir();
  await mkdir(join(root, 'bin'));
  await mkdir(join(root, 'dist', 'bundle'), { recursive: true });
  await copyFile(join(REPO_ROOT, 'bin', 'mgmt.js'), join(root, 'bin', 'mgmt.js'));
  await copyFile(BUNDLE, join(root, 'dist', 'bundle', 'mgmt.cjs'));
  return root;
}

/** stampOf is the first line of a cache of the bundle at `path`: its size and mtime. */
async function stampOf(path: string): Promise<string> {
  const { size, mtimeMs } = await stat(path);
  return `${size}:${mtimeMs}\n`;
}

/** runHello runs examples/hello.yaml with the agent under `root`, writing its file into `dir`. */
async function runHello(root: string, dir: string): Promise<{ stdout: string; stderr: string }> {
  const yaml = join(dir, 'hello.yaml');
  await writeFile(yaml, `graph: hello\nresources:\n  file:\n  - name: f\n    path: "${join(dir, 'out')}"\n    content: "hello\\n"\n`);
  return run(process.execPath, [join(root, 'bin', 'mgmt.js'), 'run', '--yaml', yaml, '--converged-timeout=0', '--no-server', '--tmp-prefix', '--no-watch'], { timeout: 60_000 });
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
    expect(first).toBe('#!/usr/bin/env -S node --max-semi-space-size=4');
    const { stdout } = await run(join(REPO_ROOT, 'bin', 'mgmt.js'), ['--version'], { timeout: 60_000 });
    expect(stdout).toMatch(/^mgmt \d+\.\d+\.\d+/);
  });

  it('GIVEN the bundle THEN nothing in it is loaded with import() (a vm script has no import callback: it would fail when reached)', async () => {
    const source = await readFile(BUNDLE, 'utf8');
    expect(source.match(/\bimport\(\s*["'`]/g) ?? []).toEqual([]);
    // The lazily loaded packages are required instead.
    expect(source).toContain('require("dbus-next")');
  });

  it('GIVEN a cache of another bundle, or garbage under the right stamp, or none THEN the agent runs all the same', async () => {
    const dir = await tempDir();
    const real = await readFile(`${BUNDLE}.cache`);
    const cases: Array<[string, (root: string) => Promise<Buffer | undefined>]> = [
      ['none', async () => undefined],
      ['another bundle', async () => Buffer.concat([Buffer.from('12:34\n'), real.subarray(real.indexOf(10) + 1)])],
      ['garbage under the stamp', async (root) => Buffer.concat([Buffer.from(await stampOf(join(root, 'dist', 'bundle', 'mgmt.cjs'))), Buffer.alloc(4096, 7)])],
    ];
    for (const [what, cacheFor] of cases) {
      const root = await copyAgent();
      const bundle = join(root, 'dist', 'bundle', 'mgmt.cjs');
      // The copy's own mtime makes the real cache's stamp wrong for it, as after a rebuild.
      await utimes(bundle, new Date(), new Date(Date.now() - 60_000));
      const cache = await cacheFor(root);
      if (cache !== undefined) await writeFile(`${bundle}.cache`, cache);
      const result = await runHello(root, dir);
      expect(result.stderr, what).toContain('exit (code=0 reason=converged');
      expect(await readFile(join(dir, 'out'), 'utf8'), what).toBe('hello\n');
    }
  });
});
