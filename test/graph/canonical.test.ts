import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/errors.js';
import { canonicalKey, conflictDiagnostic, dedupeResources, sameValue, sameVertex, stableStringify } from '../../src/graph/canonical.js';
import { DEFAULT_META, type ResourceSpec } from '../../src/graph/spec.js';

describe('stableStringify', () => {
  it('GIVEN objects with keys in different orders WHEN rendered THEN the strings are equal', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } })).toBe(stableStringify({ a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(stableStringify({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('GIVEN non-finite numbers WHEN rendered THEN they stay distinct from strings and from null', () => {
    expect(stableStringify([Infinity, -Infinity, NaN, 'Infinity', null])).toBe('[Infinity,-Infinity,NaN,"Infinity",null]');
  });

  it('GIVEN undefined values WHEN rendered THEN object keys are dropped and array items become null, as in JSON', () => {
    expect(stableStringify({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
  });
});

describe('canonicalKey', () => {
  const params = { path: '/a', mode: '0644' };

  it('GIVEN the same resource described twice WHEN keyed THEN the keys are equal whatever the key order', () => {
    expect(canonicalKey('file', 'a', params, DEFAULT_META, ['file[a]'])).toBe(
      canonicalKey('file', 'a', { mode: '0644', path: '/a' }, { ...DEFAULT_META }, ['file[a]']),
    );
  });

  it('GIVEN a change in kind, name, params, meta or members WHEN keyed THEN the key changes', () => {
    const base = canonicalKey('file', 'a', params, DEFAULT_META, ['file[a]']);
    expect(canonicalKey('exec', 'a', params, DEFAULT_META, ['file[a]'])).not.toBe(base);
    expect(canonicalKey('file', 'b', params, DEFAULT_META, ['file[a]'])).not.toBe(base);
    expect(canonicalKey('file', 'a', { ...params, mode: '0600' }, DEFAULT_META, ['file[a]'])).not.toBe(base);
    expect(canonicalKey('file', 'a', params, { ...DEFAULT_META, limit: 5, burst: 1 }, ['file[a]'])).not.toBe(base);
    expect(canonicalKey('file', 'a', params, DEFAULT_META, ['file[a]', 'file[b]'])).not.toBe(base);
  });

  it('GIVEN a grouped member whose params changed WHEN keyed whole THEN the group key changes', () => {
    const member = (mode: string) => ({ id: 'file[b]', params: { path: '/b', mode }, meta: DEFAULT_META });
    expect(canonicalKey('file', 'a', params, DEFAULT_META, ['file[a]', member('0644')])).not.toBe(
      canonicalKey('file', 'a', params, DEFAULT_META, ['file[a]', member('0600')]),
    );
  });
});

describe('dedupeResources', () => {
  const spec = (name: string, params: Record<string, unknown>, line: number, exported = false): ResourceSpec => ({
    kind: 'noop',
    name,
    params,
    meta: DEFAULT_META,
    exported,
    pos: { file: 'g.yaml', line, column: 5 },
  });

  it('GIVEN identical and conflicting re-declarations WHEN deduped THEN identical ones collapse and conflicts are returned', () => {
    const first = spec('a', { comment: 'x' }, 4);
    const conflicting = spec('a', { comment: 'y' }, 9);
    const { resources, conflicts } = dedupeResources([first, spec('a', { comment: 'x' }, 6), spec('a', { comment: 'x' }, 7, true), conflicting]);
    expect(resources.map((r) => [r.name, r.exported, r.pos?.line])).toEqual([
      ['a', false, 4],
      ['a', true, 7],
    ]);
    expect(conflicts).toEqual([{ first, second: conflicting }]);
    expect(formatDiagnostic(conflictDiagnostic(conflicts[0]!))).toBe(
      'g.yaml:9:5: noop[a]: declared twice with different `comment`; the first declaration is at g.yaml:4:5',
    );
  });

  it('GIVEN a deduped list WHEN its local resources are deduped again THEN they come back as they are, and a list that adds a duplicate still has it found', () => {
    const first = spec('a', { comment: 'x' }, 4);
    const { resources } = dedupeResources([first, spec('b', {}, 5), spec('a', { comment: 'x' }, 6), spec('c', {}, 7, true)]);
    const local = resources.filter((r) => !r.exported);
    // compileGraph's second pass over the parser's list: nothing to collapse, the same list back.
    expect(dedupeResources(local).resources).toBe(local);
    const conflicting = spec('a', { comment: 'y' }, 9);
    const again = dedupeResources([...local, conflicting, spec('b', {}, 10)]);
    expect(again.resources.map((r) => r.name)).toEqual(['a', 'b']);
    expect(again.conflicts).toEqual([{ first, second: conflicting }]);
    // A resource listed twice is a duplicate even when each place holds one of the last list's.
    expect(dedupeResources([first, first]).resources).toEqual([first]);
  });
});

describe('sameValue and sameVertex', () => {
  const cases: Array<[string, unknown, unknown]> = [
    ['equal strings', 'a', 'a'],
    ['different strings', 'a', 'b'],
    ['a number and its string', 1, '1'],
    ['Infinity and Infinity', Infinity, Infinity],
    ['Infinity and the string', Infinity, 'Infinity'],
    ['reordered keys', { a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }],
    ['an undefined key and an absent one', { a: 1, b: undefined }, { a: 1 }],
    ['arrays of different length', [1, 2], [1, 2, 3]],
    ['an array and an object', [1], { 0: 1 }],
    ['null and an object', null, {}],
    ['nested difference', { a: { b: [1, 2] } }, { a: { b: [1, 3] } }],
  ];
  it.each(cases)('GIVEN %s THEN sameValue agrees with stableStringify', (_what, a, b) => {
    expect(sameValue(a, b)).toBe(stableStringify(a) === stableStringify(b));
  });

  it('GIVEN two vertices THEN sameVertex agrees with their canonical keys', () => {
    const vertex = (mode: string, memberMode = '0644') => ({
      kind: 'file',
      name: 'a',
      params: { path: '/a', mode },
      meta: DEFAULT_META,
      members: [
        { id: 'file[a]', params: { path: '/a', mode }, meta: DEFAULT_META },
        { id: 'file[b]', params: { path: '/b', mode: memberMode }, meta: DEFAULT_META },
      ],
    });
    const key = (v: ReturnType<typeof vertex>) => canonicalKey(v.kind, v.name, v.params, v.meta, [v.members[0]!.id, ...v.members.slice(1)]);
    const pairs = [
      [vertex('0644'), vertex('0644')],
      [vertex('0644'), vertex('0600')],
      [vertex('0644'), vertex('0644', '0600')],
    ] as const;
    for (const [a, b] of pairs) expect(sameVertex(a, b)).toBe(key(a) === key(b));
  });

  it.each([
    ['the same keys and values', { path: '/a', mode: '' }, { path: '/a', mode: '' }, true],
    ['another value', { path: '/a', mode: '' }, { path: '/a', mode: '0600' }, false],
    ['the same keys in another order', { path: '/a', mode: '' }, { mode: '', path: '/a' }, true],
    ['a key holding undefined against none', { path: '/a', content: undefined }, { path: '/a' }, true],
    ['a key holding undefined against another key', { path: '/a', content: undefined }, { path: '/a', source: '/b' }, false],
    ['one key more', { path: '/a' }, { path: '/a', source: '/b' }, false],
    ['equal arrays', { path: '/a', args: ['x'] }, { path: '/a', args: ['x'] }, true],
  ] as const)('GIVEN params with %s THEN sameVertex agrees with the canonical keys', (_what, a, b, same) => {
    const vertex = (params: Readonly<Record<string, unknown>>) => ({ kind: 'file', name: 'a', params, meta: DEFAULT_META, members: [{ id: 'file[a]', params, meta: DEFAULT_META }] });
    const key = (params: Readonly<Record<string, unknown>>) => canonicalKey('file', 'a', params, DEFAULT_META, ['file[a]']);
    expect(key(a) === key(b)).toBe(same);
    expect(sameVertex(vertex(a), vertex(b))).toBe(same);
  });
});
