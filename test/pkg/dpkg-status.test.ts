import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DpkgDatabase, parseDpkgStatus, readDpkgDatabase } from '../../src/pkg/dpkg-status.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

const STATUS = `Package: alpha
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 1.0-1
Description: first
 a continuation line with Version: 9.9 in it
 .

Package: beta
Status: deinstall ok config-files
Architecture: all
Version: 2.0

Package: gamma
Status: install ok triggers-pending
Architecture: all
Version: 3.0
Package: libdual
Status: install ok installed
Architecture: i386
Version: 1.1

Package: libdual
Status: install ok installed
Architecture: amd64
Version: 1.2
`;

describe('parseDpkgStatus', () => {
  it('GIVEN stanzas WHEN parsed THEN name, arch, version and status word are read, continuation lines ignored', () => {
    expect(parseDpkgStatus(STATUS)).toEqual([
      { name: 'alpha', arch: 'amd64', version: '1.0-1', status: 'installed' },
      { name: 'beta', arch: 'all', version: '2.0', status: 'config-files' },
      { name: 'gamma', arch: 'all', version: '3.0', status: 'triggers-pending' },
      { name: 'libdual', arch: 'i386', version: '1.1', status: 'installed' },
      { name: 'libdual', arch: 'amd64', version: '1.2', status: 'installed' },
    ]);
  });

  it('GIVEN an empty file THEN there are no entries', () => {
    expect(parseDpkgStatus('')).toEqual([]);
  });
});

describe('DpkgDatabase', () => {
  const db = new DpkgDatabase([STATUS], 'amd64');

  it('GIVEN installed, config-files and triggers-pending packages THEN only config-files counts as not installed', () => {
    expect(db.installedVersion('alpha')).toBe('1.0-1');
    expect(db.installedVersion('beta')).toBeUndefined();
    expect(db.installedVersion('gamma')).toBe('3.0');
    expect(db.installedVersion('nothere')).toBeUndefined();
  });

  it('GIVEN names that are prefixes or suffixes of others, or appear in other fields THEN only the stanza of that package is read', () => {
    const tricky = new DpkgDatabase(
      ['Package: lib\nStatus: install ok installed\nArchitecture: all\nVersion: 1\nDepends: alpha\nReplaces: Package: alpha\n\nPackage: libfoo\nStatus: install ok installed\nArchitecture: all\nVersion: 2\n'],
      'amd64',
    );
    expect(tricky.installedVersion('lib')).toBe('1');
    expect(tricky.installedVersion('libfoo')).toBe('2');
    expect(tricky.installedVersion('foo')).toBeUndefined();
    expect(tricky.installedVersion('alpha')).toBeUndefined();
  });

  it('GIVEN a package in the status file and again in a later journal text THEN the later stanza wins', () => {
    const journaled = new DpkgDatabase([STATUS, 'Package: alpha\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-2\n'], 'amd64');
    expect(journaled.installedVersion('alpha')).toBe('1.0-2');
    expect(journaled.installedVersion('libdual')).toBe('1.2');
  });

  it('GIVEN two architectures installed THEN the native one wins, and name:arch picks one', () => {
    expect(db.installedVersion('libdual')).toBe('1.2');
    expect(db.installedVersion('libdual:i386')).toBe('1.1');
    expect(db.installedVersion('gamma:amd64')).toBe('3.0');
    expect(db.installedVersion('alpha:arm64')).toBeUndefined();
  });
});

describe('readDpkgDatabase', () => {
  it('GIVEN a journal entry in updates/ THEN it overrides the status file, as dpkg-query reads it', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'updates'));
    await writeFile(join(dir, 'status'), STATUS);
    expect((await readDpkgDatabase(dir, 'amd64')).installedVersion('alpha')).toBe('1.0-1');
    await writeFile(join(dir, 'updates', '0000'), 'Package: alpha\nStatus: purge ok not-installed\nArchitecture: amd64\n');
    await writeFile(join(dir, 'updates', 'tmp.i'), 'Package: gamma\nStatus: purge ok not-installed\nArchitecture: all\n');
    const db = await readDpkgDatabase(dir, 'amd64');
    expect(db.installedVersion('alpha')).toBeUndefined();
    expect(db.installedVersion('gamma')).toBe('3.0'); // tmp.i is still being written
  });

  it('GIVEN an unchanged database THEN the parse is reused, and a rewrite is read again', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'status'), STATUS);
    const first = await readDpkgDatabase(dir, 'amd64');
    expect(await readDpkgDatabase(dir, 'amd64')).toBe(first);
    await writeFile(join(dir, 'status'), STATUS.replace('Version: 1.0-1', 'Version: 1.0-22'));
    expect((await readDpkgDatabase(dir, 'amd64')).installedVersion('alpha')).toBe('1.0-22');
  });

  it("GIVEN this host's database THEN it agrees with dpkg-query about bash", async () => {
    const { execFileSync } = await import('node:child_process');
    const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'bash'], { encoding: 'utf8' });
    expect((await readDpkgDatabase('/var/lib/dpkg')).installedVersion('bash')).toBe(version);
  });
});
