import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/flags.js';
import { CHECK_FLAGS, RUN_FLAGS } from '../../src/cli/run-flags.js';
import { UsageError } from '../../src/errors.js';

describe('parseFlags (mgmt run)', () => {
  it.each<[string, string[], Record<string, unknown>]>([
    ['defaults', [], { 'converged-timeout': -1, sema: -1, 'log-format': 'text', 'graphviz-filter': 'dot', noop: undefined }],
    ['--flag value', ['--yaml', 'g.yaml'], { yaml: 'g.yaml' }],
    ['--flag=value', ['--yaml=g.yaml'], { yaml: 'g.yaml' }],
    ['the --file alias', ['--file', 'g.yaml'], { yaml: 'g.yaml' }],
    ['a negative number as a value', ['--converged-timeout', '-1'], { 'converged-timeout': -1 }],
    ['--converged-timeout=0', ['--converged-timeout=0'], { 'converged-timeout': 0 }],
    ['bare booleans', ['--noop', '--no-watch', '--tmp-prefix'], { noop: true, 'no-watch': true, 'tmp-prefix': true }],
    ['an explicit boolean', ['--noop=false'], { noop: false }],
    ['a choice', ['--log-format', 'json'], { 'log-format': 'json' }],
    ['issue 11 point 6: --insecure, and URL defaults that take its scheme (bare host:port)', ['--insecure'], { insecure: true, 'client-urls': '127.0.0.1:2379', 'server-urls': '127.0.0.1:2380' }],
  ])('GIVEN %s THEN the options are as expected', (_what, argv, expected) => {
    expect(parseFlags(argv, RUN_FLAGS, 'run').flags).toMatchObject(expected);
  });

  it('GIVEN a positional argument THEN it is returned apart', () => {
    expect(parseFlags(['g.yaml', '--noop'], RUN_FLAGS, 'run')).toMatchObject({ positional: ['g.yaml'], flags: { noop: true } });
  });

  it.each<[string, string[], string]>([
    ['an unknown flag', ['--bogus'], "mgmt run: unknown flag --bogus (see 'mgmt run --help')"],
    ['a missing value', ['--yaml'], 'mgmt run: --yaml needs a value'],
    ['a flag where a value should be', ['--yaml', '--noop'], 'mgmt run: --yaml needs a value'],
    ['a non-number', ['--sema', 'two'], 'mgmt run: --sema takes a whole number, not "two"'],
    ['a bad choice', ['--log-format', 'xml'], 'mgmt run: --log-format must be one of text, json, not "xml"'],
    ['a bad boolean', ['--noop=maybe'], 'mgmt run: --noop takes true or false, not "maybe"'],
  ])('GIVEN %s THEN a UsageError says so', (_what, argv, message) => {
    expect(() => parseFlags(argv, RUN_FLAGS, 'run')).toThrow(new UsageError(message));
  });
});

describe('parseFlags (mgmt check)', () => {
  it('GIVEN --format json THEN it is taken', () => {
    expect(parseFlags(['--yaml', 'g.yaml', '--format', 'json'], CHECK_FLAGS, 'check').flags).toMatchObject({ yaml: 'g.yaml', format: 'json' });
  });
});
