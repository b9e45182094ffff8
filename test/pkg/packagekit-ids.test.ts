import { describe, expect, it } from 'vitest';
import { bitfield, errorName, exitName, PK_FILTER, PK_INFO, PK_TRANSACTION_FLAG } from '../../src/pkg/packagekit-enums.js';
import { belongsTo, formatPackageId, isInstalled, parsePackageId, pkgInfoOf, resolvedByName, type PackageSignal } from '../../src/pkg/packagekit-ids.js';

const pkg = (info: number, id: string): PackageSignal => ({ info, id, summary: '' });

describe('package ids', () => {
  it('GIVEN name;version;arch;data THEN its fields, and back', () => {
    expect(parsePackageId('bash;5.2.15-2+b8;amd64;auto:local')).toEqual({ name: 'bash', version: '5.2.15-2+b8', arch: 'amd64', data: 'auto:local' });
    expect(formatPackageId(parsePackageId('a;1.0;all;')!)).toBe('a;1.0;all;');
  });

  it('GIVEN a bare name, too few fields or no name THEN no package id', () => {
    expect(parsePackageId('bash')).toBeUndefined();
    expect(parsePackageId('bash;1;amd64')).toBeUndefined();
    expect(parsePackageId(';1;amd64;x')).toBeUndefined();
  });
});

describe('isInstalled (#988)', () => {
  it("GIVEN PackageKit 1.2's apt backend ids of installed versions (manual:/auto:) THEN installed", () => {
    expect(isInstalled(pkg(PK_INFO.installed, 'a;1.0;all;manual:local'))).toBe(true);
    // Even when the info value were lost: the data field alone says so.
    expect(isInstalled(pkg(0, 'bash;5.2;amd64;auto:debian-main'))).toBe(true);
    expect(isInstalled(pkg(0, 'a;1.0;all;installed'))).toBe(true);
    expect(isInstalled(pkg(0, 'a;1.0;all;installed:debian-main'))).toBe(true);
  });

  it('GIVEN an available version, or one about to be installed (+manual:) THEN not installed', () => {
    expect(isInstalled(pkg(PK_INFO.available, 'a;1.1;all;local'))).toBe(false);
    expect(isInstalled(pkg(12, 'a;1.1;all;+manual:local'))).toBe(false);
    expect(isInstalled(pkg(PK_INFO.available, 'a;1.1;all;debian-manual-repo'))).toBe(false);
  });
});

describe('belongsTo', () => {
  const id = parsePackageId('a;1.0;amd64;local')!;
  it('GIVEN a bare name THEN any architecture; name:arch THEN that one or all; a package id THEN its name and architecture', () => {
    expect(belongsTo('a', id)).toBe(true);
    expect(belongsTo('ab', id)).toBe(false);
    expect(belongsTo('a:amd64', id)).toBe(true);
    expect(belongsTo('a:i386', id)).toBe(false);
    expect(belongsTo('a:i386', parsePackageId('a;1.0;all;local')!)).toBe(true);
    expect(belongsTo('a;0.9;amd64;', id)).toBe(true);
    expect(belongsTo('a;1.0;i386;', id)).toBe(false);
  });
});

describe('resolvedByName and pkgInfoOf', () => {
  // What Resolve with no filter said, as observed: the installed version (or the candidate) then the candidate, repeated.
  const signals = [
    pkg(PK_INFO.installed, 'up;1.0;all;manual:local'),
    pkg(PK_INFO.available, 'up;1.1;all;local'),
    pkg(PK_INFO.available, 'up;1.1;all;local'),
    pkg(PK_INFO.installed, 'same;2.0;amd64;auto:debian-main'),
    pkg(PK_INFO.installed, 'same;2.0;amd64;auto:debian-main'),
    pkg(PK_INFO.available, 'new;3.0;all;local'),
    pkg(PK_INFO.available, 'new;3.0;all;local'),
  ];
  const resolved = resolvedByName(['up', 'same', 'new', 'nope'], signals);

  it('GIVEN Resolve answers THEN each name gets its installed id and its offered ids, duplicates dropped', () => {
    expect(resolved.get('up')).toEqual({ installed: parsePackageId('up;1.0;all;manual:local'), available: [parsePackageId('up;1.1;all;local')] });
    expect(resolved.get('nope')).toEqual({ installed: undefined, available: [] });
  });

  it('GIVEN only installed versions asked THEN the installed version alone', () => {
    expect(pkgInfoOf('up', resolved.get('up'), false)).toEqual({ name: 'up', installed: '1.0' });
    expect(pkgInfoOf('nope', resolved.get('nope'), false)).toEqual({ name: 'nope', installed: undefined });
  });

  it('GIVEN the sources asked THEN the candidate; an installed candidate is the installed version; nothing for an unknown name', () => {
    expect(pkgInfoOf('up', resolved.get('up'), true)).toEqual({ name: 'up', installed: '1.0', available: { candidate: '1.1', versions: ['1.1'] } });
    expect(pkgInfoOf('same', resolved.get('same'), true)).toEqual({ name: 'same', installed: '2.0', available: { candidate: '2.0', versions: ['2.0'] } });
    expect(pkgInfoOf('new', resolved.get('new'), true)).toEqual({ name: 'new', installed: undefined, available: { candidate: '3.0', versions: ['3.0'] } });
    expect(pkgInfoOf('nope', resolved.get('nope'), true)).toEqual({ name: 'nope', installed: undefined, available: { candidate: undefined, versions: [] } });
  });

  it('GIVEN more versions found by their package ids THEN they are offered too, newest first, the candidate once', () => {
    expect(pkgInfoOf('up', resolved.get('up'), true, ['0.9', '1.2~rc1'])).toEqual({ name: 'up', installed: '1.0', available: { candidate: '1.1', versions: ['1.2~rc1', '1.1', '0.9'] } });
    expect(pkgInfoOf('new', resolved.get('new'), true, ['0:3.0'])).toEqual({ name: 'new', installed: undefined, available: { candidate: '3.0', versions: ['3.0'] } });
    // Only asked for with the sources.
    expect(pkgInfoOf('up', resolved.get('up'), false, ['0.9'])).toEqual({ name: 'up', installed: '1.0' });
  });
});

describe('PackageKit enums', () => {
  it('GIVEN enum values THEN the bitfield has bit n for value n', () => {
    expect(bitfield([PK_FILTER.installed])).toBe(4n);
    expect(bitfield([PK_FILTER.free, PK_FILTER.supported])).toBe(256n + 4096n);
    expect(bitfield([PK_TRANSACTION_FLAG.onlyTrusted, PK_TRANSACTION_FLAG.allowDowngrade])).toBe(2n + 64n);
    expect(bitfield([])).toBe(0n);
  });

  it('GIVEN exit and error values THEN their PackageKit names, and a made-up name for one it does not know', () => {
    expect(exitName(1)).toBe('success');
    expect(exitName(8)).toBe('need-untrusted');
    expect(errorName(8)).toBe('package-not-found');
    expect(errorName(26)).toBe('cannot-get-lock');
    expect(errorName(999)).toBe('error-999');
  });
});
