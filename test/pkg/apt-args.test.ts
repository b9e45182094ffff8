import { describe, expect, it } from 'vitest';
import { AptBackend, aptGetArgs, newestDeb, unauthenticatedPackages } from '../../src/pkg/apt.js';
import { commandLine, failureReason } from '../../src/pkg/command.js';

const COMMON = ['-y', '-q', '-o', 'DPkg::Lock::Timeout=300', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];

describe('aptGetArgs', () => {
  it('GIVEN installs and upgrades THEN one install call that may remove nothing', () => {
    expect(aptGetArgs({ install: [{ name: 'a' }, { name: 'b', version: '1:2.0' }], upgrade: ['c'], remove: [] }, {})).toEqual([
      'install',
      ...COMMON,
      '--no-remove',
      'a',
      'b=1:2.0',
      'c',
    ]);
  });

  it('GIVEN only removals THEN apt-get remove', () => {
    expect(aptGetArgs({ install: [], upgrade: [], remove: ['a', 'b'] }, {})).toEqual(['remove', ...COMMON, 'a', 'b']);
  });

  it('GIVEN installs and removals THEN one install call with name- for each removal', () => {
    expect(aptGetArgs({ install: [{ name: 'a' }], upgrade: [], remove: ['b'] }, {})).toEqual(['install', ...COMMON, 'a', 'b-']);
  });

  it('GIVEN the allow flags THEN apt gets --allow-downgrades and --allow-unauthenticated; the PackageKit-only ones change nothing', () => {
    const args = aptGetArgs({ install: [{ name: 'a' }], upgrade: [], remove: [] }, { allowDowngrade: true, allowUntrusted: true, allowNonfree: true, allowUnsupported: true });
    expect(args).toContain('--allow-downgrades');
    expect(args).toContain('--allow-unauthenticated');
    expect(args).toHaveLength(COMMON.length + 5);
  });
});

describe('newestDeb', () => {
  it('GIVEN several cached versions THEN the newest of that exact name is picked', () => {
    const files = ['foo_1.0_all.deb', 'foo_1.10_amd64.deb', 'foo_1.9_amd64.deb', 'foo-bar_9.0_all.deb', 'foo_2%3a0.1_all.deb.partial', 'lock'];
    expect(newestDeb(files, 'foo')).toBe('foo_1.10_amd64.deb');
    expect(newestDeb([...files, 'foo_1%3a0.1_all.deb'], 'foo')).toBe('foo_1%3a0.1_all.deb');
    expect(newestDeb(files, 'bar')).toBeUndefined();
  });
});

describe('unauthenticatedPackages', () => {
  const refused = 'E: There were unauthenticated packages and -y was used without --allow-unauthenticated\n';
  it("GIVEN apt-get's refusal with a wrapped list THEN every package it lists", () => {
    const stdout = [
      'The following NEW packages will be installed:',
      '  alpha beta gamma',
      'WARNING: The following packages cannot be authenticated!',
      '  alpha beta',
      '  gamma',
      '',
    ].join('\n');
    expect(unauthenticatedPackages({ code: 100, signal: null, stdout, stderr: refused })).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('GIVEN the refusal without its list THEN none named; another failure THEN undefined', () => {
    expect(unauthenticatedPackages({ code: 100, signal: null, stdout: '', stderr: 'E: Some packages could not be authenticated\n' })).toEqual([]);
    expect(unauthenticatedPackages({ code: 100, signal: null, stdout: 'WARNING: The following packages cannot be authenticated!\n  a\n', stderr: 'E: Unable to locate package b\n' })).toBeUndefined();
  });
});

describe('command helpers', () => {
  it('GIVEN words with spaces or quotes THEN the command line quotes them for a shell', () => {
    expect(commandLine('apt-get', ['install', 'a=1:2', "it's here"])).toBe(`apt-get install a=1:2 'it'\\''s here'`);
  });

  it("GIVEN apt's E: lines THEN they are the reason, else the last lines, else the exit", () => {
    expect(failureReason({ code: 100, signal: null, stdout: '', stderr: 'W: x\nE: Unable to locate package nope\n' })).toBe('exited with code 100: E: Unable to locate package nope');
    expect(failureReason({ code: 1, signal: null, stdout: '', stderr: 'a\nb\nc\nd\n' })).toBe('exited with code 1: b c d');
    expect(failureReason({ code: null, signal: 'SIGTERM', stdout: '', stderr: '' })).toBe('was killed by SIGTERM');
  });
});

describe('AptBackend names', () => {
  it('GIVEN a name apt would read as an option THEN nothing is run', async () => {
    const apt = new AptBackend();
    await expect(apt.query(['-oDir=/tmp'], { available: true })).rejects.toThrow('"-oDir=/tmp" is not a package name');
    await expect(apt.apply({ install: [{ name: 'a b' }], upgrade: [], remove: [] }, {}, new AbortController().signal)).rejects.toThrow('"a b" is not a package name');
    await expect(apt.listFiles([''])).rejects.toThrow('"" is not a package name');
  });
});
