import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { GraphSpec } from '../../src/graph/spec.js';
import type { Registry } from '../../src/core/registry.js';
import { defaultRegistry } from '../../src/resources/index.js';
import { fastPathObstacle } from '../../src/yamlgraph/fast-gate.js';
import { FAST_MAX_DEPTH, loadFast } from '../../src/yamlgraph/fast-tree.js';
import { parseGraph, parseGraphFast, type ParsePath } from '../../src/yamlgraph/parse.js';
import { attempt, CORPUS, ROOT } from './corpus.js';
import { looseRegistry, mutate, Random, randomGraph } from './random-graphs.js';
import { testRegistry } from './test-kinds.js';

const FILE = 'g.yaml';

/** withoutPos is a spec with every `pos` left out: the fast path has none, and only diagnostics use them. */
function withoutPos(spec: GraphSpec): GraphSpec {
  const strip = <T extends { pos?: unknown }>(item: T): Omit<T, 'pos'> => {
    const { pos: _pos, ...rest } = item;
    return rest;
  };
  return { ...spec, resources: spec.resources.map(strip), edges: spec.edges.map(strip), collect: spec.collect.map(strip) };
}

/**
 * sameAsExact parses text with parseGraphFast and with parseGraph and checks they agree: the same
 * spec (positions aside) or the same error. It returns the path parseGraphFast took.
 */
function sameAsExact(text: string, registry: Registry, strict = false): ParsePath | 'error' {
  const exact = attempt(() => parseGraph(text, FILE, registry, { strict }));
  const fast = attempt(() => parseGraphFast(text, FILE, registry, { strict }));
  if (!exact.ok) {
    expect(fast.ok, `the exact path refused ${JSON.stringify(text)} but the fast path read it`).toBe(false);
    if (!fast.ok) {
      expect(fast.error).toBeInstanceOf(InputError);
      expect((fast.error as InputError).message).toBe((exact.error as Error).message);
    }
    return 'error';
  }
  expect(fast.ok, `the fast path threw on ${JSON.stringify(text)}: ${fast.ok ? '' : String(fast.error)}`).toBe(true);
  if (!fast.ok) return 'error';
  if (fast.value.path === 'exact') {
    expect(fast.value.spec).toEqual(exact.value);
  } else {
    expect(withoutPos(fast.value.spec), `the two paths read ${JSON.stringify(text)} differently`).toEqual(withoutPos(exact.value));
  }
  return fast.value.path;
}

/** FUZZ_RUNS scales the generated cases; raise it (MGMT_FUZZ_RUNS=100000) to search longer. */
const FUZZ_RUNS = Number(process.env.MGMT_FUZZ_RUNS ?? 1000);

describe('parseGraphFast', () => {
  it.each(CORPUS.map((path) => [path.slice(ROOT.length), path]))('GIVEN %s WHEN read on both paths THEN they agree', (_name, path) => {
    const text = readFileSync(path, 'utf8');
    sameAsExact(text, defaultRegistry);
    sameAsExact(text, defaultRegistry, true);
  });

  it('GIVEN the corpus WHEN read THEN most clean files take the fast path', () => {
    const texts = CORPUS.map((path) => readFileSync(path, 'utf8'));
    const clean = texts.filter((text) => attempt(() => parseGraph(text, FILE, defaultRegistry)).ok);
    const fast = clean.filter((text) => {
      const parsed = attempt(() => parseGraphFast(text, FILE, defaultRegistry));
      return parsed.ok && parsed.value.path === 'fast';
    });
    // Files that use only supported kinds and no anchors should not need the exact path; a share,
    // not a count, so a checkout without upstream's examples beside it (../shared) passes too.
    // (2026-12-07: 9 of our 10 clean files, 39 of upstream's 58.)
    expect(clean.length).toBeGreaterThanOrEqual(10);
    expect(fast.length / clean.length).toBeGreaterThanOrEqual(0.6);
  });

  it('GIVEN generated graphs in every scalar style WHEN read on both paths THEN they agree, and many are fast', () => {
    const paths: Record<string, number> = {};
    for (let seed = 1; seed <= FUZZ_RUNS; seed++) {
      const text = randomGraph(new Random(seed));
      const path = sameAsExact(text, looseRegistry, seed % 7 === 0);
      paths[path] = (paths[path] ?? 0) + 1;
    }
    expect(paths.fast ?? 0).toBeGreaterThan(FUZZ_RUNS / 4);
  });

  it('GIVEN generated graphs with a few characters changed WHEN read on both paths THEN they agree', () => {
    const paths: Record<string, number> = {};
    for (let seed = 1; seed <= FUZZ_RUNS * 2; seed++) {
      const random = new Random(seed);
      const text = mutate(random, randomGraph(random));
      const path = sameAsExact(text, looseRegistry);
      paths[path] = (paths[path] ?? 0) + 1;
    }
    expect(paths.fast ?? 0).toBeGreaterThan(FUZZ_RUNS / 50);
  });
});

describe('parseGraphFast on particular files', () => {
  it('GIVEN a clean 10,000-resource graph WHEN read THEN it takes the fast path and gives the exact spec', () => {
    const lines = ['graph: big', 'resources:', '  file:'];
    for (let i = 0; i < 10_000; i++) lines.push(`  - name: f${i}`, `    path: /tmp/bigdir/f${i}`, '    content: |', `      hello ${i}`);
    const text = `${lines.join('\n')}\n`;
    const parsed = parseGraphFast(text, FILE, defaultRegistry);
    expect(parsed.path).toBe('fast');
    expect(parsed.spec.resources).toHaveLength(10_000);
    expect(parsed.spec.resources[0]).not.toHaveProperty('pos');
    expect(withoutPos(parsed.spec)).toEqual(withoutPos(parseGraph(text, FILE, defaultRegistry)));
  });

  it('GIVEN scalars YAML 1.1 reads specially WHEN read fast THEN strings keep their text and typed params their YAML 1.1 value', () => {
    const text = [
      'graph: g',
      'resources:',
      '  thing:',
      '  - name: /a',
      '    mode: 0644',
      '    count: -12',
      '    size: 0x10',
      '    ratio: .inf',
      '    enabled: no',
      '    tags: [a, 2, true, "yes", ~x]',
      '    labels: {x: 1, z: "two", on: off}',
      '',
    ].join('\n');
    const parsed = parseGraphFast(text, FILE, testRegistry);
    expect(parsed.path).toBe('fast');
    expect(parsed.spec.resources[0]!.params).toEqual({
      path: '/a',
      mode: '0644',
      count: -12,
      size: 16,
      ratio: Number.POSITIVE_INFINITY,
      enabled: false,
      tags: ['a', '2', 'true', 'yes', '~x'],
      labels: { x: '1', z: 'two', on: 'off' },
    });
  });

  it('GIVEN a quoted "yes" for a bool WHEN read fast THEN the exact path reports it as a string, with its position', () => {
    const parsed = attempt(() => parseGraphFast('graph: g\nresources:\n  thing:\n  - name: /a\n    enabled: "yes"\n', FILE, testRegistry));
    expect(parsed.ok).toBe(false);
    expect(String(parsed.ok ? '' : (parsed.error as Error).message)).toBe('g.yaml:5:14: thing[/a]: `enabled`: expected true or false, got "yes" (a string)');
  });

  it('GIVEN a graph with a warning WHEN read fast THEN the exact path reads it, so the warning has its position', () => {
    const parsed = parseGraphFast('graph: g\nresources:\n  thing:\n  - name: /a\n    cuont: 3\n', FILE, testRegistry);
    expect(parsed).toMatchObject({ path: 'exact', declined: 'the file has diagnostics' });
    expect(parsed.spec.warnings).toEqual([
      { pos: { file: FILE, line: 5, column: 5 }, resource: 'thing[/a]', message: 'unknown parameter `cuont` for kind `thing`; did you mean `count`?' },
    ]);
  });

  it('GIVEN anchors and a merge key WHEN read fast THEN the exact path expands them', () => {
    const text = 'graph: g\nresources:\n  thing:\n  - &base\n    name: /a\n    count: 5\n  - <<: *base\n    name: /b\n';
    const parsed = parseGraphFast(text, FILE, testRegistry);
    expect(parsed).toMatchObject({ path: 'exact', declined: 'the text has an anchor, alias or tag' });
    expect(parsed.spec.resources.map((r) => [r.name, r.params.count])).toEqual([
      ['/a', 5],
      ['/b', 5],
    ]);
  });

  it('GIVEN 100,000 nested brackets WHEN loaded by js-yaml THEN it throws at its depth limit instead of overflowing the stack', () => {
    expect(() => loadFast(`a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)).toThrow(`nesting exceeded maxDepth (${FAST_MAX_DEPTH})`);
  });

  it.each([
    ['100,000 nested brackets', `graph: g\ncomment: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`],
    ['a million nested braces', `graph: g\ncomment: ${'{a: '.repeat(1_000_000)}b${'}'.repeat(1_000_000)}\n`],
    ['100,000 compact list items', `graph: g\ncomment:\n${'- '.repeat(100_000)}x\n`],
    ['a staircase of 3,000 indented keys', Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')],
    ['a staircase of 2,800 indented list items', Array.from({ length: 2800 }, (_, i) => `${' '.repeat(i)}-`).join('\n')],
  ])('GIVEN %s WHEN read fast THEN it is refused quickly, exactly as the exact path refuses it', (_what, text) => {
    const started = performance.now();
    const fast = attempt(() => parseGraphFast(text, FILE, testRegistry));
    expect(performance.now() - started).toBeLessThan(2000);
    const exact = attempt(() => parseGraph(text, FILE, testRegistry));
    expect(fast.ok || exact.ok).toBe(false);
    expect((fast as { error: Error }).error).toBeInstanceOf(InputError);
    expect((fast as { error: Error }).error.message).toBe((exact as { error: Error }).error.message);
  });

  it('GIVEN text that is too big or binary WHEN read fast THEN it is refused before js-yaml sees it, as the exact path refuses it', () => {
    for (const text of ['graph: g\n\0', `graph: g\ncomment: "${'x'.repeat(9 * 1024 * 1024)}"\n`]) {
      const exact = attempt(() => parseGraph(text, FILE, testRegistry));
      const fast = attempt(() => parseGraphFast(text, FILE, testRegistry));
      expect(exact.ok || fast.ok).toBe(false);
      expect((fast as { error: Error }).error.message).toBe((exact as { error: Error }).error.message);
    }
  });
});

describe('fastPathObstacle', () => {
  it.each([
    ['an anchor', 'a: &x 1\n', 'an anchor, alias or tag'],
    ['an alias', 'a: [*x]\n', 'an anchor, alias or tag'],
    ['a tag', 'a: !!str 1\n', 'an anchor, alias or tag'],
    ['a merge key', 'a:\n  <<: {b: 1}\n', 'a merge key'],
    ['a directive', '%YAML 1.2\n---\na: 1\n', 'a directive'],
    ['a second document', '---\na: 1\n---\nb: 2\n', 'a document marker'],
    ['a document end', 'a: 1\n...\n', 'a document marker'],
    ['an explicit key', '? a\n: 1\n', 'an explicit key `?`'],
    ['a list as a key', '[a]: 1\n', 'a flow collection used as a key'],
    ['an empty flow key', '{: 1}\n', 'an empty key in a flow map'],
    ['a flow end at the parent indentation', 'a: [\n  1\n]\n', 'a line starting with `]` or `}`'],
    ['a comment glued to a quote', 'a: "b"#c\n', 'a `#` right after a quote, bracket or comma'],
    ['an escaped line break before an empty line', 'a: "b\\\n\n  c"\n', 'a backslash at the end of a line before an empty one'],
    ['spaces ending a keep block scalar', 'a: |+\n  b\n ', 'a last line of only spaces'],
    ['a tab', 'a:\t1\n', 'a tab'],
    ['a lone carriage return', 'a: 1\rb: 2\n', 'a carriage return without a line feed'],
  ])('GIVEN %s WHEN gated THEN the exact path is chosen', (_what, text, why) => {
    expect(fastPathObstacle(text)).toBe(why);
  });

  it('GIVEN plain graph text, with one leading `---`, CRLF line ends, flow maps and block scalars WHEN gated THEN the fast path may try it', () => {
    const text = '---\r\ngraph: g\r\nresources:\r\n  noop:\r\n  - {name: a, comment: "x # y"}\r\n  - name: b\r\n    comment: |\r\n      a - b: c\r\n';
    expect(fastPathObstacle(text)).toBeUndefined();
  });

  it('GIVEN a megabyte of adversarial text WHEN gated THEN the scan stays linear', () => {
    for (const text of [`a: ${']'.repeat(1 << 20)}`, `a: ${'} \n'.repeat(1 << 18)}x`, `a: "${' '.repeat(1 << 20)}`, `${'{'.repeat(1 << 20)}`]) {
      const started = performance.now();
      fastPathObstacle(text);
      expect(performance.now() - started).toBeLessThan(500);
    }
  });
});
