import { describe, expect, it } from 'vitest';
import { formatDiagnostic, InputError } from '../../src/errors.js';
import { DEFAULT_META } from '../../src/graph/spec.js';
import { parseSemaphore, semaProblem } from '../../src/yamlgraph/meta.js';
import { parseGraph } from '../../src/yamlgraph/parse.js';
import { testRegistry } from './test-kinds.js';

/** withMeta is a graph with one noop resource `n` (line 4) whose meta block is `meta` (line 5). */
function withMeta(meta: string, strict = false) {
  return parseGraph(`graph: g\nresources:\n  noop:\n  - name: n\n    meta: ${meta}\n`, 'm.yaml', testRegistry, { strict });
}

function metaProblems(meta: string, strict = false): string[] {
  try {
    withMeta(meta, strict);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).diagnostics.map(formatDiagnostic);
  }
  throw new Error('expected the meta block to be rejected');
}

describe('meta blocks', () => {
  it('GIVEN no meta or an empty one WHEN parsed THEN the classic defaults apply', () => {
    expect(withMeta('').resources[0]!.meta).toEqual(DEFAULT_META);
    expect(withMeta('{}').resources[0]!.meta).toEqual(DEFAULT_META);
  });

  it('GIVEN a partial block WHEN parsed THEN the keys it leaves out keep their defaults', () => {
    expect(withMeta('{retry: 3, delay: 5000}').resources[0]!.meta).toEqual({ ...DEFAULT_META, retry: 3, delay: 5000 });
  });

  it('GIVEN every meta key WHEN parsed THEN each is read with its type', () => {
    const meta = withMeta(
      '{autoedge: false, autogroup: no, noop: true, retry: -1, delay: 10, poll: -1, limit: 0.5, burst: 2, sema: [lock, "pool:3"], timeout: 2500}',
    ).resources[0]!.meta;
    expect(meta).toEqual({
      autoedge: false,
      autogroup: false,
      noop: true,
      retry: -1,
      delay: 10,
      poll: -1,
      limit: 0.5,
      burst: 2,
      sema: ['lock', 'pool:3'],
      timeout: 2500,
    });
  });

  it('GIVEN limit .inf with burst 0 WHEN parsed THEN it is unlimited and valid', () => {
    expect(withMeta('{limit: .inf, burst: 0}').resources[0]!.meta.limit).toBe(Number.POSITIVE_INFINITY);
  });

  it('GIVEN a finite limit with burst 0 WHEN parsed THEN it is permanently limited, an error', () => {
    expect(metaProblems('{limit: 0.2}')).toEqual([
      'm.yaml:5:19: noop[n]: meta `limit` is 0.2 (below .inf) with `burst` 0, so the resource would be permanently limited: set `burst` above 0 or `limit: .inf`',
    ]);
  });

  it('GIVEN out-of-range or mistyped values WHEN parsed THEN each is an error with its position', () => {
    expect(metaProblems('{retry: -2, delay: -1, limit: -3, burst: x, noop: "yes", timeout: 1.5, poll: 0.5}')).toEqual([
      'm.yaml:5:19: noop[n]: meta `retry`: must be -1 (retry forever) or more',
      'm.yaml:5:30: noop[n]: meta `delay`: expected a whole number >= 0, got -1 (a number)',
      'm.yaml:5:41: noop[n]: meta `limit`: must be >= 0 events per second, or .inf',
      'm.yaml:5:52: noop[n]: meta `burst`: expected a whole number >= 0, got "x" (a string)',
      'm.yaml:5:61: noop[n]: meta `noop`: expected true or false, got "yes" (a string)',
      'm.yaml:5:77: noop[n]: meta `timeout`: expected a whole number >= 0, got 1.5 (a number)',
      'm.yaml:5:88: noop[n]: meta `poll`: expected an integer, got 0.5 (a number)',
    ]);
  });

  it('GIVEN a meta that is not a map WHEN parsed THEN it says so', () => {
    expect(metaProblems('[noop]')).toEqual(['m.yaml:5:11: noop[n]: `meta` must be a map of meta parameters, got a list']);
  });

  it('GIVEN invalid semaphores WHEN parsed THEN each bad entry is named', () => {
    expect(metaProblems('{sema: ["42"]}')).toEqual(['m.yaml:5:18: noop[n]: meta `sema`: entry "42": the id must not be a bare integer']);
    expect(metaProblems('{sema: [ok, "lock:0"]}')).toEqual([
      'm.yaml:5:18: noop[n]: meta `sema`: entry "lock:0": the count after the last \':\' must be a whole number above 0',
    ]);
    expect(metaProblems('{sema: ["", ok, "7", "lock:0"]}')).toEqual([
      'm.yaml:5:18: noop[n]: meta `sema`: entry "" is empty',
      'm.yaml:5:18: noop[n]: meta `sema`: entry "7": the id must not be a bare integer',
      'm.yaml:5:18: noop[n]: meta `sema`: entry "lock:0": the count after the last \':\' must be a whole number above 0',
    ]);
    expect(metaProblems('{sema: lock}')).toEqual(['m.yaml:5:18: noop[n]: meta `sema`: expected a list of strings, got "lock" (a string)']);
  });

  it('GIVEN newer upstream meta keys and unknown ones WHEN parsed THEN they warn, and fail with strict', () => {
    const spec = withMeta('{reverse: true, hidden: false, nope: 1}');
    expect(spec.warnings.map(formatDiagnostic)).toEqual([
      'm.yaml:5:12: noop[n]: meta `reverse` is not supported by this version',
      'm.yaml:5:27: noop[n]: meta `hidden` is not supported by this version',
      'm.yaml:5:42: noop[n]: unknown meta parameter `nope` (known: autoedge, autogroup, noop, retry, delay, poll, limit, burst, sema, timeout)',
    ]);
    expect(spec.resources[0]!.meta).toEqual(DEFAULT_META);
    expect(metaProblems('{rewatch: true}', true)).toEqual(['m.yaml:5:12: noop[n]: meta `rewatch` is not supported by this version']);
  });
});

describe('semaphores', () => {
  it('GIVEN upstream semaphore ids WHEN sized THEN the count after the last colon wins, else 1', () => {
    expect(parseSemaphore('some_id')).toEqual({ id: 'some_id', count: 1 });
    expect(parseSemaphore('hello:42')).toEqual({ id: 'hello', count: 42 });
    expect(parseSemaphore(':13')).toEqual({ id: '', count: 13 });
    expect(parseSemaphore('not:smart:4')).toEqual({ id: 'not:smart', count: 4 });
    expect(parseSemaphore('odd:x')).toEqual({ id: 'odd:x', count: 1 });
  });

  it('GIVEN semaphore entries written in YAML WHEN validated THEN `id`, `id:count` and upstream\'s `:count` pass', () => {
    expect(['lock', 'lock:1', 'not:smart:4', 'a1', ':3'].map(semaProblem)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(semaProblem('')).toBe('entry "" is empty');
    expect(semaProblem(':')).toMatch(/must be a whole number above 0/);
    expect(semaProblem('7')).toBe('entry "7": the id must not be a bare integer');
    expect(semaProblem('7:2')).toBe('entry "7:2": the id must not be a bare integer');
    expect(semaProblem('lock:')).toMatch(/must be a whole number above 0/);
    expect(semaProblem('lock:-1')).toMatch(/must be a whole number above 0/);
  });
});
