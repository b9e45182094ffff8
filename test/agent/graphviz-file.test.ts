import { spawnSync } from 'node:child_process';
import { chmod, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toDot, type DotGraph } from '../../graphviz/to-dot.js';
import { GRAPHVIZ_FILTERS, GraphvizError, isGraphvizFilter, writeGraphviz } from '../../src/agent/graphviz-file.js';
import { useTempDirs } from '../helpers/tmp.js';

const hasDot = spawnSync('dot', ['-V']).error === undefined;
const dotMissing = 'graphviz `dot` is not installed (apt-get install graphviz); CI installs it and runs this';

const graph: DotGraph = {
  name: 'small',
  vertices: [
    { id: 'file[/tmp/a]', kind: 'file', name: '/tmp/a', members: [{ id: 'file[/tmp/a]' }] },
    { id: 'pkg[autogroup:(x,y)]', kind: 'pkg', name: 'x', members: [{ id: 'pkg[x]' }, { id: 'pkg[y]' }] },
  ],
  edges: [{ from: 'pkg[autogroup:(x,y)]', to: 'file[/tmp/a]', name: 'e1', notify: true }],
};

const tempDir = useTempDirs();

// Some tests put fake graphviz programs first on PATH; put the real PATH back after each.
const realPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = realPath;
});

/** fakeProgram writes an executable shell script `name` into `dir`. */
async function fakeProgram(dir: string, name: string, script: string): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${script}\n`);
  await chmod(path, 0o755);
}

describe('writeGraphviz', () => {
  it('writes the DOT text to a .dot file and leaves no temp file behind', async () => {
    const dir = await tempDir();
    const file = join(dir, 'graph.dot');
    await writeGraphviz(graph, file);
    expect(await readFile(file, 'utf8')).toBe(toDot(graph));
    expect(await readdir(dir)).toEqual(['graph.dot']);
  });

  it('writes DOT to any name that is not .svg or .png, replacing what was there', async () => {
    const dir = await tempDir();
    const file = join(dir, 'graph@host1');
    await writeFile(file, 'old contents');
    await writeGraphviz(graph, file, { label: 'small on host1' });
    expect(await readFile(file, 'utf8')).toBe(toDot(graph, { label: 'small on host1' }));
    expect(await readdir(dir)).toEqual(['graph@host1']);
  });

  it('renders an .svg with dot, keeping the DOT next to it', async (ctx) => {
    ctx.skip(!hasDot && !process.env.CI, dotMissing);
    const dir = await tempDir();
    await writeGraphviz(graph, join(dir, 'graph.svg'));
    const svg = await readFile(join(dir, 'graph.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('pkg[autogroup:(x,y)]');
    expect(await readFile(join(dir, 'graph.dot'), 'utf8')).toBe(toDot(graph));
    expect((await readdir(dir)).sort()).toEqual(['graph.dot', 'graph.svg']);
  });

  it('renders a .png', async (ctx) => {
    ctx.skip(!hasDot && !process.env.CI, dotMissing);
    const dir = await tempDir();
    await writeGraphviz(graph, join(dir, 'graph.PNG'));
    const png = await readFile(join(dir, 'graph.PNG'));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect((await readdir(dir)).sort()).toEqual(['graph.PNG', 'graph.dot']);
  });

  it.for(GRAPHVIZ_FILTERS.filter((filter) => filter !== 'dot'))('renders with the %s filter', async (filter, ctx) => {
    ctx.skip(!hasDot && !process.env.CI, dotMissing);
    const dir = await tempDir();
    await writeGraphviz(graph, join(dir, 'graph.svg'), { filter });
    expect(await readFile(join(dir, 'graph.svg'), 'utf8')).toContain('<svg');
  });

  it('rejects an unknown filter before writing anything', async () => {
    const dir = await tempDir();
    const written = writeGraphviz(graph, join(dir, 'graph.svg'), { filter: 'rm -rf' });
    await expect(written).rejects.toThrow(GraphvizError);
    await expect(written).rejects.toMatchObject({
      reason: 'invalid-filter',
      message:
        'invalid graphviz filter selected: "rm -rf"; use one of dot, neato, twopi, circo, fdp, sfdp, patchwork, osage',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('says to install graphviz when the program is missing, keeping the DOT', async () => {
    // GIVEN a PATH without graphviz on it
    const dir = await tempDir();
    process.env.PATH = await tempDir();
    // WHEN an image is asked for
    const written = writeGraphviz(graph, join(dir, 'graph.png'), { filter: 'neato' });
    // THEN the error names the program and the Debian package
    await expect(written).rejects.toMatchObject({
      reason: 'not-installed',
      message: expect.stringContaining(
        'the graphviz program "neato" was not found on PATH; install the Debian package graphviz',
      ),
    });
    expect(await readdir(dir)).toEqual(['graph.dot']);
  });

  it('runs the program with an argument array and reports its failure with its stderr', async () => {
    // GIVEN a fake dot that records its arguments, then fails
    const bin = await tempDir();
    const dir = await tempDir();
    await fakeProgram(bin, 'dot', `printf '%s\\n' "$@" > '${join(bin, 'args')}'; echo 'syntax error' >&2; exit 3`);
    process.env.PATH = `${bin}:${realPath}`;
    const image = join(dir, 'my graph $(touch x).svg');
    // WHEN it renders
    const written = writeGraphviz(graph, image);
    // THEN the failure says which program, which file and why
    await expect(written).rejects.toMatchObject({
      reason: 'render-failed',
      message: `graphviz dot failed to render ${image}: it exited with code 3: syntax error`,
    });
    // AND each argument arrived whole, with no shell in between
    const args = (await readFile(join(bin, 'args'), 'utf8')).trimEnd().split('\n');
    expect(args[0]).toBe('-Tsvg');
    expect(args[1]).toBe('-o');
    expect(args[2]).toMatch(/^.*\/\.my graph \$\(touch x\)\.svg\.\d+\.[0-9a-z]+\.tmp$/);
    expect(args[3]).toBe(join(dir, 'my graph $(touch x).dot'));
    // AND the DOT is kept to debug with, while the half-written image is gone
    expect(await readdir(dir)).toEqual(['my graph $(touch x).dot']);
  });

  it('replaces an existing image only once the new one is complete', async () => {
    // GIVEN an old image and a fake dot that writes its output slowly
    const bin = await tempDir();
    const dir = await tempDir();
    const image = join(dir, 'graph.svg');
    await writeFile(image, 'old image');
    await fakeProgram(bin, 'dot', 'echo partial > "$3"; sleep 0.2; echo "new image" > "$3"');
    process.env.PATH = `${bin}:${realPath}`;
    // WHEN it renders, the old image is intact until the rename
    const written = writeGraphviz(graph, image);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    expect(await readFile(image, 'utf8')).toBe('old image');
    await written;
    expect(await readFile(image, 'utf8')).toBe('new image\n');
  });

  it('stops the program and rejects when aborted', async () => {
    const bin = await tempDir();
    const dir = await tempDir();
    // exec, so that killing the program kills the sleep rather than orphaning it
    await fakeProgram(bin, 'dot', 'exec sleep 30');
    process.env.PATH = `${bin}:${realPath}`;
    const controller = new AbortController();
    const written = writeGraphviz(graph, join(dir, 'graph.svg'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(written).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(dir)).toEqual(['graph.dot']);
  });
});

describe('isGraphvizFilter', () => {
  it('accepts exactly the filters mgmt accepts', () => {
    expect(GRAPHVIZ_FILTERS).toEqual(['dot', 'neato', 'twopi', 'circo', 'fdp', 'sfdp', 'patchwork', 'osage']);
    expect(GRAPHVIZ_FILTERS.every(isGraphvizFilter)).toBe(true);
    expect(isGraphvizFilter('DOT')).toBe(false);
    expect(isGraphvizFilter('')).toBe(false);
  });
});
