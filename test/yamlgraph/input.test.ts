import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { MAX_GRAPH_BYTES } from '../../src/yamlgraph/input.js';
import { loadGraphFile, parseGraph } from '../../src/yamlgraph/parse.js';
import { useTempDirs } from '../helpers/tmp.js';
import { testRegistry, writeYaml } from './test-kinds.js';

const BAD = fileURLToPath(new URL('../fixtures/bad/', import.meta.url));

/**
 * refusal loads a file that must be refused and returns the error message, checking the clean
 * treatment every hostile input gets: an InputError (exit code 2), one line, and quickly.
 */
async function refusal(path: string): Promise<string> {
  const started = performance.now();
  let caught: unknown;
  try {
    await loadGraphFile(path, testRegistry);
  } catch (err) {
    caught = err;
  }
  const ms = performance.now() - started;
  expect(caught).toBeInstanceOf(InputError);
  const err = caught as InputError;
  expect(err.exitCode).toBe(2);
  expect(err.message.split('\n')).toHaveLength(1);
  expect(ms).toBeLessThan(2000);
  return err.message;
}

describe('hostile input', () => {
  const tempDir = useTempDirs();

  it('GIVEN a 9 MiB file WHEN loaded THEN it is refused up front with its size and the limit', async () => {
    const path = join(await tempDir(), 'huge.yaml');
    const text = `graph: g\ncomment: "${'x'.repeat(9 * 1024 * 1024)}"\n`;
    await writeFile(path, text);
    expect(await refusal(path)).toBe(
      `${path}: refused: the graph file is ${Buffer.byteLength(text)} bytes (9.0 MiB); the limit is 8388608 bytes (8 MiB)`,
    );
  });

  it('GIVEN a device that never ends WHEN loaded THEN reading stops just past the limit', async () => {
    expect(await refusal('/dev/zero')).toBe(`/dev/zero: refused: the graph file is more than ${MAX_GRAPH_BYTES} bytes; the limit is 8388608 bytes (8 MiB)`);
  });

  it('GIVEN a file of exactly the limit WHEN loaded THEN its size is no reason to refuse it', async () => {
    const path = join(await tempDir(), 'limit.yaml');
    const head = 'graph: g\ncomment: ';
    await writeFile(path, head + 'x'.repeat(MAX_GRAPH_BYTES - head.length));
    const spec = await loadGraphFile(path, testRegistry);
    expect(spec.comment).toHaveLength(MAX_GRAPH_BYTES - head.length);
  });

  it('GIVEN binary garbage WHEN loaded THEN it is not a text file', async () => {
    const path = join(await tempDir(), 'garbage.yaml');
    await writeFile(path, Buffer.concat([Buffer.from('graph: g\n'), randomBytes(4096), Buffer.from([0])]));
    expect(await refusal(path)).toMatch(new RegExp(`^${escape(path)}: refused: not a text file \\(it contains a NUL byte at offset \\d+\\)$`));
  });

  it('GIVEN bytes that are not UTF-8 WHEN loaded THEN it is not a text file', async () => {
    const path = join(await tempDir(), 'latin1.yaml');
    await writeFile(path, Buffer.from('graph: caf\xe9\n', 'latin1'));
    expect(await refusal(path)).toBe(`${path}: refused: not a text file (it is not valid UTF-8)`);
  });

  it('GIVEN a string with a NUL WHEN parsed THEN it is refused too', () => {
    expect(() => parseGraph('graph: g\n\0', 'nul.yaml', testRegistry)).toThrow(
      'nul.yaml: refused: not a text file (it contains a NUL character at line 2, column 1)',
    );
  });

  it('GIVEN an alias bomb WHEN loaded THEN the expansion is refused', async () => {
    expect(await refusal(join(BAD, 'alias-bomb.yaml'))).toBe(
      `${join(BAD, 'alias-bomb.yaml')}:9:8: refused: expanding the YAML's aliases adds more than 1000000 nodes (an alias bomb?)`,
    );
  });

  it('GIVEN one anchor used by 500 resources WHEN loaded THEN that is ordinary reuse, not a bomb', async () => {
    const resources = Array.from({ length: 500 }, (_, i) => `  - {name: n${i}, meta: *m}`).join('\n');
    const path = await writeYaml(await tempDir(), 'reuse.yaml', `graph: g\ndefaults: &m {noop: true, retry: 2}\nresources:\n  noop:\n${resources}\n`);
    const spec = await loadGraphFile(path, testRegistry);
    expect(spec.resources.every((r) => r.meta.noop && r.meta.retry === 2)).toBe(true);
    expect(spec.resources).toHaveLength(500);
  });

  it('GIVEN an alias inside the node it names WHEN loaded THEN it is refused instead of looping', async () => {
    const path = await writeYaml(await tempDir(), 'loop.yaml', 'graph: g\nresources:\n  noop:\n  - &self\n    name: a\n    <<: *self\n');
    expect(await refusal(path)).toBe(`${path}:6:9: the alias \`*self\` is inside the node it names, so it never ends`);
  });

  it('GIVEN flow collections nested 100 deep WHEN loaded THEN they are refused at the level past the limit', async () => {
    expect(await refusal(join(BAD, 'deep-flow.yaml'))).toBe(`${join(BAD, 'deep-flow.yaml')}:3:74: refused: YAML nested more than 64 levels deep`);
  });

  it('GIVEN compact nesting on one line WHEN loaded THEN it is refused', async () => {
    expect(await refusal(join(BAD, 'compact-nesting.yaml'))).toMatch(/compact-nesting\.yaml:4:\d+: refused: YAML nested more than 200 levels deep$/);
  });

  it.each([
    ['a million nested brackets', `graph: g\ncomment: ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}\n`],
    ['200,000 compact keys', `graph: g\n${'? '.repeat(200_000)}x\n`],
    ['a staircase of 2,800 indented keys', Array.from({ length: 2800 }, (_, i) => `${' '.repeat(i)}?`).join('\n')],
  ])('GIVEN %s WHEN loaded THEN it is refused quickly, not by running out of memory', async (_what, text) => {
    const path = await writeYaml(await tempDir(), 'deep.yaml', text);
    expect(await refusal(path)).toMatch(/: refused: YAML nested more than \d+ levels deep$/);
  });

  it('GIVEN brackets and dashes inside block scalars and strings WHEN loaded THEN they do not count as nesting', async () => {
    const body = Array.from({ length: 300 }, (_, i) => `  ${' '.repeat(i)}- ? [[[{{{`).join('\n');
    const path = await writeYaml(await tempDir(), 'content.yaml', `graph: g\ncomment: |\n${body}\nresources:\n  noop:\n  - name: "[[[[[[[[[["\n`);
    const spec = await loadGraphFile(path, testRegistry);
    expect(spec.resources.map((r) => r.name)).toEqual(['[[[[[[[[[[']);
  });

  it('GIVEN a reasonably nested real-world shape WHEN loaded THEN the guard lets it through', async () => {
    // 40 real levels of nesting, far past any graph, stay under the depth estimate's limit.
    const nested = Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n');
    const path = await writeYaml(await tempDir(), 'nested.yaml', `graph: g\nextra:\n${nested.replace(/^/gm, '  ')} x\n`);
    const spec = await loadGraphFile(path, testRegistry);
    expect(spec.warnings.map((w) => w.message)).toEqual(['unknown top-level key `extra`']);
  });

  // Root reads any file whatever its mode, so there is nothing to refuse.
  it.skipIf(process.getuid?.() === 0)('GIVEN a file that cannot be opened WHEN loaded THEN the InputError says why', async () => {
    const path = await writeYaml(await tempDir(), 'secret.yaml', 'graph: g\n');
    const handle = await open(path, 'r');
    await handle.chmod(0o000);
    await handle.close();
    expect(await refusal(path)).toBe(`cannot read graph file ${path}: permission denied`);
  });

  it('GIVEN the fixtures directory WHEN listed THEN the hostile fixtures are there', () => {
    for (const name of ['alias-bomb.yaml', 'deep-flow.yaml', 'compact-nesting.yaml']) expect(existsSync(join(BAD, name))).toBe(true);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
