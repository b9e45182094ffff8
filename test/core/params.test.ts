import { describe, expect, expectTypeOf, it } from 'vitest';
import { defaultsOf, paramTable, type ParamsOf } from '../../src/core/params.js';
import { builtinKinds } from '../../src/resources/index.js';

const table = paramTable({
  path: { type: 'string', doc: 'a path (default: the name)', default: (name) => `/srv/${name}` },
  count: { type: 'uint', doc: 'how many', default: 3 },
  on: { type: 'bool', doc: 'on or off', default: true },
  tags: { type: 'stringList', doc: 'labels', default: [] },
  env: { type: 'stringMap', doc: 'variables', default: {} },
  content: { type: 'string', doc: 'unset = unmanaged', optional: true },
  old: { type: 'int', doc: 'a key of an older version', deprecated: 'it was removed' },
});

describe('ParamsOf', () => {
  it('GIVEN a table THEN each parameter has the type its ParamType names, optional ones may be undefined, dead keys have none', () => {
    expectTypeOf<ParamsOf<typeof table>>().toEqualTypeOf<{
      readonly path: string;
      readonly count: number;
      readonly on: boolean;
      readonly tags: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      readonly content: string | undefined;
    }>();
  });
});

describe('defaultsOf', () => {
  const defaults = defaultsOf(table);

  it('GIVEN a resource name THEN fixed defaults, defaults computed from the name, unset optional ones, and no dead keys', () => {
    expect(defaults('web')).toStrictEqual({ path: '/srv/web', count: 3, on: true, tags: [], env: {}, content: undefined });
  });

  it('GIVEN two names THEN each gets its own name-dependent default', () => {
    expect([defaults('a').path, defaults('b').path]).toEqual(['/srv/a', '/srv/b']);
  });

  it('GIVEN an empty table THEN no parameters', () => {
    expect(defaultsOf(paramTable({}))('x')).toStrictEqual({});
  });
});

describe('every built-in kind', () => {
  it.each(builtinKinds().map((def) => [def.kind, def] as const))('GIVEN %s THEN its defaults hold exactly its live parameters, each with a doc line', (_kind, def) => {
    const live = Object.entries(def.params).filter(([, spec]) => spec.deprecated === undefined);
    for (const [, spec] of Object.entries(def.params)) expect(spec.doc).not.toBe('');
    // svc's unit is made from the name and is no YAML key.
    const keys = Object.keys(def.defaults('name')).filter((key) => !(def.kind === 'svc' && key === 'unit'));
    expect(keys).toEqual(live.map(([key]) => key));
  });
});
