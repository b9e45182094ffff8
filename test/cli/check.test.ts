import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { check, type CheckOptions } from '../../src/cli/check.js';
import { createRegistry } from '../../src/core/registry.js';
import { useTempDirs } from '../helpers/tmp.js';
import { testRegistry, thing, writeYaml } from '../yamlgraph/test-kinds.js';

const BAD = fileURLToPath(new URL('../fixtures/bad/', import.meta.url));

/** Captured is a writable stream that keeps what was written to it. */
class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** runCheck runs `mgmt check` on a file with the test registry and returns the exit code and output. */
async function runCheck(yaml: string, options: Partial<CheckOptions> = {}) {
  const stdout = new Captured();
  const stderr = new Captured();
  const code = await check({ yaml, format: 'text', registry: testRegistry, ...options, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const VALID = [
  'graph: mygraph', // 1
  'resources:', // 2
  '  noop:', // 3
  '  - name: b', // 4
  '  - name: a', // 5
  '    pollint: 3', // 6
  '  thing:', // 7
  '  - name: /t', // 8
  'edges:', // 9
  '- name: e1', // 10
  '  from: {kind: noop, name: b}', // 11
  '  to: {kind: thing, name: /t}', // 12
  '  notify: true', // 13
  '',
].join('\n');

describe('mgmt check', () => {
  const tempDir = useTempDirs();

  it('GIVEN a valid graph WHEN checked THEN it exits 0 with a short summary and warnings on stderr', async () => {
    const path = await writeYaml(await tempDir(), 'ok.yaml', VALID);
    const { code, stdout, stderr } = await runCheck(path);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^${escape(path)}: graph mygraph is valid: 2 vertices, 1 edge, 1 warning\\n`));
    expect(stdout).toMatch(/^timings: parse \d+\.\d\d ms, autoedges \d+\.\d\d ms, autogroup \d+\.\d\d ms, toposort \d+\.\d\d ms$/m);
    expect(stderr).toBe(`warning: ${path}:6:5: noop[a]: unknown parameter \`pollint\` for kind \`noop\`\n`);
  });

  it('GIVEN --format json WHEN checked THEN stdout is one JSON document describing the graph', async () => {
    const path = await writeYaml(await tempDir(), 'ok.yaml', VALID);
    const { code, stdout } = await runCheck(path, { format: 'json' });
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toHaveLength(1);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect(report).toEqual({
      graph: 'mygraph',
      // the two noops do not depend on each other, so they are grouped under the lowest id
      vertices: [
        { id: 'noop[autogroup:(a,b)]', kind: 'noop', name: 'a', members: ['noop[a]', 'noop[b]'] },
        { id: 'thing[/t]', kind: 'thing', name: '/t', members: ['thing[/t]'] },
      ],
      edges: [{ from: 'noop[autogroup:(a,b)]', to: 'thing[/t]', name: 'e1', notify: true }],
      ms: { parse: expect.any(Number), autoedges: expect.any(Number), autogroup: expect.any(Number), toposort: expect.any(Number) },
      warnings: [`${path}:6:5: noop[a]: unknown parameter \`pollint\` for kind \`noop\``],
    });
  });

  it('GIVEN --format json and --no-autogroup WHEN checked THEN every resource is its own vertex', async () => {
    const path = await writeYaml(await tempDir(), 'ok.yaml', VALID);
    const { code, stdout } = await runCheck(path, { format: 'json', noAutogroup: true });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { vertices: unknown[]; edges: unknown[] };
    expect(report.vertices).toEqual([
      { id: 'noop[a]', kind: 'noop', name: 'a', members: ['noop[a]'] },
      { id: 'noop[b]', kind: 'noop', name: 'b', members: ['noop[b]'] },
      { id: 'thing[/t]', kind: 'thing', name: '/t', members: ['thing[/t]'] },
    ]);
    expect(report.edges).toEqual([{ from: 'noop[b]', to: 'thing[/t]', name: 'e1', notify: true }]);
  });

  it('GIVEN --strict WHEN the graph has an ignored key THEN it is invalid', async () => {
    const path = await writeYaml(await tempDir(), 'ok.yaml', VALID);
    const { code, stdout, stderr } = await runCheck(path, { strict: true });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`${path}:6:5: noop[a]: unknown parameter \`pollint\` for kind \`noop\`\n`);
  });

  it.each([
    ['unknown-kind.yaml', ':5:3: unknown resource kind `fiel` (known kinds: noop, thing)'],
    ['unsupported-kind.yaml', ':3:3: resource kind `pkg` is not supported by this version (supported: noop, thing)'],
    ['bad-types.yaml', ':5:14: noop[n1]: `comment`: expected a string, got a list'],
    ['bad-types.yaml', ':7:14: noop[n1]: meta `retry`: expected an integer, got "forever" (a string)'],
    ['bad-types.yaml', ':8:14: noop[n1]: meta `limit` is 2 (below .inf) with `burst` 0'],
    ['bad-types.yaml', ':13:11: edge e1: `notify`: expected true or false, got "sometimes" (a string)'],
    ['cycle.yaml', ':8:3: dependency cycle: noop[a] => noop[b] => noop[c] => noop[a]'],
    ['missing-edge-end.yaml', ":7:3: edge e1: can't find 'from' resource noop[n9]"],
    ['missing-edge-end.yaml', ":10:3: edge e2: can't find 'to' resource noop[shared] (it is exported with `@@`"],
    ['duplicate-conflict.yaml', ':6:5: noop[n1]: declared twice with different `comment`; the first declaration is at '],
    ['multi-doc.yaml', ':3:1: the file holds 2 YAML documents; a graph file holds exactly one'],
    ['syntax-error.yaml', ':6:1: invalid YAML: Missing closing "quote'],
    ['top-level-list.yaml', ':1:1: the top level must be a map with `graph`, `resources` and `edges`, got a list'],
    ['alias-bomb.yaml', ":9:8: refused: expanding the YAML's aliases adds more than 1000000 nodes (an alias bomb?)"],
    ['deep-flow.yaml', ':3:74: refused: YAML nested more than 64 levels deep'],
  ])('GIVEN the bad fixture %s WHEN checked THEN it exits 2 and says %s', async (fixture, expected) => {
    const path = join(BAD, fixture);
    const { code, stdout, stderr } = await runCheck(path);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.split('\n').some((line) => line.startsWith(`${path}${expected}`))).toBe(true);
    expect(stderr).not.toMatch(/\n\s+at /); // never a stack trace
  });

  it('GIVEN a bad fixture in JSON mode WHEN checked THEN stdout stays empty and the errors go to stderr', async () => {
    const { code, stdout, stderr } = await runCheck(join(BAD, 'cycle.yaml'), { format: 'json' });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('dependency cycle');
  });

  it('GIVEN a file that does not exist WHEN checked THEN it exits 2 naming the path', async () => {
    const path = join(await tempDir(), 'nope.yaml');
    expect(await runCheck(path)).toEqual({ code: 2, stdout: '', stderr: `cannot read graph file ${path}: no such file\n` });
  });

  it('GIVEN a resource kind whose validate throws WHEN checked THEN the bug is not disguised as bad input', async () => {
    const broken = createRegistry([
      {
        ...thing,
        validate: () => {
          throw new TypeError('boom');
        },
      },
    ]);
    const path = await writeYaml(await tempDir(), 'ok.yaml', 'graph: g\nresources:\n  thing:\n  - name: /t\n');
    await expect(runCheck(path, { registry: broken })).rejects.toThrow('boom');
  });

  it('GIVEN the default registry WHEN a graph of built-in kinds is checked THEN it is valid', async () => {
    const path = await writeYaml(await tempDir(), 'noop.yaml', 'graph: g\nresources:\n  noop:\n  - name: n\n');
    const stdout = new Captured();
    const stderr = new Captured();
    expect(await check({ yaml: path, format: 'json', stdout, stderr })).toBe(0);
    expect((JSON.parse(stdout.text) as { vertices: unknown[] }).vertices).toHaveLength(1);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
