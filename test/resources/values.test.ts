import { describe, expect, it } from 'vitest';
import { accountNameProblem, accountRefProblem, argumentProblem, escapeControl, idProblem, nulProblems, pathLengthProblem, shorten } from '../../src/resources/values.js';

describe('value rules', () => {
  it('GIVEN ids WHEN checked THEN 0 to 4294967294 pass and (uid_t)-1 or beyond does not', () => {
    expect([0, 4294967294].map(idProblem)).toEqual([undefined, undefined]);
    expect(idProblem(4294967295)).toMatch(/from 0 to 4294967294/);
    expect(idProblem(-1)).toMatch(/from 0 to 4294967294/);
    expect(['0', '65534', '4294967294'].map(accountRefProblem)).toEqual([undefined, undefined, undefined]);
    for (const ref of ['4294967295', '99999999999999999999']) expect(accountRefProblem(ref)).toMatch(/is out of range/);
    expect(accountRefProblem('0x10')).toBeUndefined(); // a name (no id is read in hex)
    for (const ref of ['-1', '+1', '--service=files', 'a b', 'a:b', 'a,b', 'a\nb', '']) expect(accountRefProblem(ref), JSON.stringify(ref)).toBeDefined();
  });

  it('GIVEN account names WHEN checked THEN the portable set passes and the tools\' options and separators do not', () => {
    expect(['root', 'Debian-exim', '_apt', 'systemd-network', 'host$', 'a.b'].map((name) => accountNameProblem(name))).toEqual(Array(6).fill(undefined));
    expect(accountNameProblem('x'.repeat(33))).toMatch(/longer than 32 characters/);
    expect(accountRefProblem('x'.repeat(33))).toBeUndefined(); // an LDAP name may be longer than useradd's
    expect(accountNameProblem('123')).toMatch(/all digits/);
    for (const name of ['-rf', '.', '..', 'a$b', 'é']) expect(accountNameProblem(name), name).toMatch(/not a valid name/);
  });

  it('GIVEN paths at the kernel limits WHEN checked THEN NAME_MAX and PATH_MAX are the edges', () => {
    expect(pathLengthProblem(`/${'a'.repeat(255)}`)).toBeUndefined();
    expect(pathLengthProblem(`/${'a'.repeat(256)}`)).toMatch(/component of 256 bytes.*at most 255 \(NAME_MAX\)/);
    expect(pathLengthProblem(`/${'é'.repeat(128)}`)).toMatch(/component of 256 bytes/); // bytes, not characters
    const path = (bytes: number) => `/${Array.from({ length: 40 }, () => 'p'.repeat(200)).join('/')}`.slice(0, bytes);
    expect(pathLengthProblem(path(4095))).toBeUndefined();
    expect(pathLengthProblem(path(4096))).toMatch(/is 4096 bytes long: a path must be shorter than 4096 bytes \(PATH_MAX\)/);
  });

  it('GIVEN arguments at the kernel limit WHEN checked THEN MAX_ARG_STRLEN (with its NUL) is the edge, in bytes', () => {
    expect(argumentProblem('a'.repeat(131071))).toBeUndefined();
    expect(argumentProblem('a'.repeat(131072))).toMatch(/is 131072 bytes: one argument of a command must be shorter than 131072 \(MAX_ARG_STRLEN\)/);
    expect(argumentProblem('é'.repeat(65536))).toMatch(/is 131072 bytes/);
  });

  it('GIVEN NUL bytes anywhere in a name or parameters WHEN checked THEN each is named by its parameter, once', () => {
    expect(nulProblems('ok', { a: 'x', b: ['y'], c: { K: 'v' }, d: 3, e: true, f: undefined })).toEqual([]);
    expect(nulProblems('ok', { list: ['y', 'a\0'], map: { 'K\0': 'v', L: '\0' } }).map((p) => `${p.param}: ${p.reason}`)).toEqual([
      'list: item 2 "a\\u0000" contains a NUL byte, which no path, name or command can hold',
      'map: key "K\\u0000" contains a NUL byte, which no path, name or command can hold',
      'map: the value of "L": "\\u0000" contains a NUL byte, which no path, name or command can hold',
    ]);
    // A parameter that defaults to the name repeats nothing.
    expect(nulProblems('/a\0', { path: '/a\0', other: 'b\0' }).map((p) => p.param)).toEqual(['name', 'other']);
  });

  it('GIVEN control characters WHEN escaped or quoted THEN none reaches the output raw', () => {
    expect(escapeControl('a\nb\r\t\u001b[31m\u009b\u007f"\\')).toBe('a\\nb\\r\\t\\u001b[31m\\u009b\\u007f"\\');
    expect(shorten('say "hi"\\\n')).toBe('"say \\"hi\\"\\\\\\n"');
    expect(shorten('x'.repeat(100))).toBe(`"${'x'.repeat(60)}..."`);
  });
});
