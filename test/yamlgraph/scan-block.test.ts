import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fastPathObstacle } from '../../src/yamlgraph/fast-gate.js';
import { loadFast, PlainScalar } from '../../src/yamlgraph/fast-tree.js';
import { scanBlock } from '../../src/yamlgraph/scan-block.js';
import { attempt, BENCH_GRAPHS, CORPUS, ROOT } from './corpus.js';
import { randomDocument } from './random-documents.js';
import { mutate, Random, randomGraph } from './random-graphs.js';

/**
 * shapeOf renders a FastNode tree with all that deep equality could overlook: the order of keys,
 * an own `__proto__` key, which scalars are PlainScalars, -0, NaN and a Date's time.
 */
function shapeOf(node: unknown): unknown {
  if (node === null || typeof node === 'string') return node;
  if (node instanceof PlainScalar) return { plain: node.source, value: valueShape(node.value) };
  if (Array.isArray(node)) return { seq: node.map(shapeOf) };
  if (typeof node === 'object' && Object.getPrototypeOf(node) === Object.prototype) {
    return { map: Object.keys(node).map((key) => [key, shapeOf((node as Record<string, unknown>)[key])]) };
  }
  return { unexpected: String(node) };
}

function valueShape(value: unknown): unknown {
  if (value instanceof Date) return { date: value.getTime() };
  if (typeof value === 'number') return { number: Object.is(value, -0) ? '-0' : String(value) };
  return value;
}

/**
 * readsAsJsYaml checks the block scanner against the fast gate and js-yaml on one text: when it
 * reads the text, the gate lets the text through and js-yaml reads the very same tree. It returns
 * whether the scanner read the text.
 */
function readsAsJsYaml(text: string): boolean {
  const scanned = attempt(() => scanBlock(text));
  expect(scanned.ok, `the scanner threw on ${JSON.stringify(text)}: ${scanned.ok ? '' : String(scanned.error)}`).toBe(true);
  if (!scanned.ok || scanned.value === undefined) return false;
  expect(fastPathObstacle(text), `the scanner read text the gate sends to the exact path: ${JSON.stringify(text)}`).toBeUndefined();
  const loaded = attempt(() => loadFast(text));
  expect(loaded.ok, `the scanner read text loadFast refuses: ${JSON.stringify(text)}: ${loaded.ok ? '' : String(loaded.error)}`).toBe(true);
  if (loaded.ok) expect(shapeOf(scanned.value), `the scanner and js-yaml read ${JSON.stringify(text)} differently`).toEqual(shapeOf(loaded.value));
  return true;
}

/** FUZZ_RUNS scales the generated cases; raise it (MGMT_FUZZ_RUNS=100000) to search longer. */
const FUZZ_RUNS = Number(process.env.MGMT_FUZZ_RUNS ?? 1000);

describe('scanBlock against js-yaml', () => {
  it('GIVEN every YAML file of the corpus WHEN scanned THEN each is declined or read as js-yaml reads it, and most are read', () => {
    const read = CORPUS.filter((path) => readsAsJsYaml(readFileSync(path, 'utf8')));
    const gated = CORPUS.filter((path) => fastPathObstacle(readFileSync(path, 'utf8')) === undefined);
    // 63 of the 87 files of this checkout (with upstream's examples); the gate lets 68 through.
    console.info(`scanBlock read ${read.length} of ${CORPUS.length} corpus files (the fast gate lets ${gated.length} through):`, CORPUS.filter((path) => !read.includes(path)).map((path) => path.slice(ROOT.length)));
    expect(read.length).toBeGreaterThanOrEqual(gated.length * 0.8);
  });

  it.each(BENCH_GRAPHS)('GIVEN the bench graph %s WHEN scanned THEN it is read as js-yaml reads it', (_name, text) => {
    expect(readsAsJsYaml(text)).toBe(true);
  });

  it('GIVEN generated graph-like documents WHEN scanned THEN each is declined or read as js-yaml reads it', () => {
    let read = 0;
    for (let seed = 1; seed <= FUZZ_RUNS * 4; seed++) if (readsAsJsYaml(randomDocument(new Random(seed)))) read++;
    console.info(`scanBlock read ${read} of ${FUZZ_RUNS * 4} generated documents`);
    // Most documents hold something the scanner declines (on purpose); it must still read many.
    expect(read).toBeGreaterThan(FUZZ_RUNS / 5);
  });

  it('GIVEN generated documents with a few characters changed WHEN scanned THEN each is declined or read as js-yaml reads it', () => {
    let read = 0;
    for (let seed = 1; seed <= FUZZ_RUNS * 4; seed++) {
      const random = new Random(seed);
      if (readsAsJsYaml(mutate(random, seed % 2 === 0 ? randomDocument(random) : randomGraph(random)))) read++;
    }
    expect(read).toBeGreaterThan(FUZZ_RUNS / 10);
  });

  it('GIVEN generated graphs in every scalar style WHEN scanned THEN each is declined or read as js-yaml reads it', () => {
    let read = 0;
    for (let seed = 1; seed <= FUZZ_RUNS; seed++) if (readsAsJsYaml(randomGraph(new Random(seed)))) read++;
    expect(read).toBeGreaterThan(FUZZ_RUNS / 10);
  });
});
