// The uid conventions and search shapes of src/resources/uids.ts, and the traits file and exec
// declare with them, asked round by round as the autoedge stage asks them.

import { describe, expect, it } from 'vitest';
import { exec } from '../../src/resources/exec.js';
import { file } from '../../src/resources/file.js';
import type { AutoEdgeSearch, WantedUid } from '../../src/core/autoedge.js';
import {
  deepestPaths,
  dirname,
  execUid,
  fileUid,
  firstFound,
  groupUid,
  oneRound,
  packageSearch,
  parentDirSearch,
  pkgFileUid,
  pkgUid,
  shippedUnit,
  svcSearch,
  svcUid,
  svcUnitFiles,
  userDirsOf,
  userUid,
  want,
} from '../../src/resources/uids.js';

/** rounds drives a search with `answer` deciding what is found, and returns each round's wanted uids. */
function rounds(search: AutoEdgeSearch, answer: (uid: WantedUid) => boolean = () => false): string[][] {
  const asked: string[][] = [];
  for (let wanted = search.next(); wanted !== undefined; wanted = search.next()) {
    asked.push(wanted.map((uid) => `${uid.reversed ? '<-' : '->'} ${uid.type}:${uid.key}`));
    if (!search.test(wanted.map(answer)) || asked.length > 50) break;
  }
  return asked;
}

describe('uid constructors', () => {
  it('GIVEN each constructor WHEN called THEN it gives its documented type and key', () => {
    expect([
      fileUid('/d/'),
      pkgFileUid('/usr/bin/x'),
      pkgUid('httpd'),
      svcUid('drbd'),
      svcUid('drbd', true),
      userUid('alice'),
      groupUid('10'),
      execUid('make all'),
    ]).toEqual([
      { type: 'file', key: '/d/' },
      { type: 'pkgfile', key: '/usr/bin/x' },
      { type: 'pkg', key: 'httpd' },
      { type: 'svc', key: 'drbd' },
      { type: 'svc', key: 'session/drbd' },
      { type: 'user', key: 'alice' },
      { type: 'group', key: '10' },
      { type: 'exec', key: 'make all' },
    ]);
    expect(want(fileUid('/x'), true)).toEqual({ type: 'file', key: '/x', reversed: true });
  });
});

describe('path helpers', () => {
  it.each([
    ['/a/b/c', '/a/b/'],
    ['/a/b/', '/a/'],
    ['/a', '/'],
    ['/', ''],
    ['', ''],
    ['name', ''],
  ])('GIVEN %j WHEN dirname THEN %j', (path, dir) => {
    expect(dirname(path)).toBe(dir);
  });

  it('GIVEN paths, some under others WHEN deepestPaths THEN ancestors and duplicates go, order stays', () => {
    expect(deepestPaths(['/etc/', '/etc/a.conf', '/usr/bin/x', '/etc/d', '/etc/d/f', '/usr/bin/x', '/', '/var/'])).toEqual([
      '/etc/a.conf',
      '/usr/bin/x',
      '/etc/d/f',
      '/var/',
    ]);
    expect(deepestPaths(['/'])).toEqual(['/']);
    expect(deepestPaths([])).toEqual([]);
  });

  it('GIVEN package files WHEN shippedUnit THEN only services in the packaged unit directories count', () => {
    expect(
      ['/usr/lib/systemd/system/drbd.service', '/lib/systemd/system/ssh.service', '/etc/systemd/system/x.service', '/usr/lib/systemd/system/a.timer', '/usr/lib/systemd/system/.service'].map(shippedUnit),
    ).toEqual(['drbd', 'ssh', undefined, undefined, undefined]);
  });

  it('GIVEN a service WHEN svcUnitFiles THEN systemd order for system units, and for session ones the user\'s, system-wide and packaged places', () => {
    expect(svcUnitFiles('web', false)).toEqual(['/etc/systemd/system/web.service', '/usr/lib/systemd/system/web.service']);
    expect(svcUnitFiles('web', true, userDirsOf({}, '/home/alice/'))).toEqual([
      '/home/alice/.config/systemd/user/web.service',
      '/etc/systemd/user/web.service',
      '/home/alice/.local/share/systemd/user/web.service',
      '/usr/lib/systemd/user/web.service',
    ]);
    // XDG directories win over the home defaults; a relative one is ignored, as by systemd.
    expect(svcUnitFiles('web', true, userDirsOf({ XDG_CONFIG_HOME: '/cfg', XDG_DATA_HOME: 'rel' }, '/home/alice'))).toEqual([
      '/cfg/systemd/user/web.service',
      '/etc/systemd/user/web.service',
      '/home/alice/.local/share/systemd/user/web.service',
      '/usr/lib/systemd/user/web.service',
    ]);
    expect(svcUnitFiles('web', true)).toEqual(['/etc/systemd/user/web.service', '/usr/lib/systemd/user/web.service']);
  });
});

describe('search shapes', () => {
  it('GIVEN oneRound WHEN asked THEN all at once, then done; empty asks nothing', () => {
    expect(rounds(oneRound([want(userUid('a'), true), want(groupUid('b'), false)]), () => true)).toEqual([['<- user:a', '-> group:b']]);
    expect(rounds(oneRound([]))).toEqual([]);
  });

  it('GIVEN firstFound WHEN nothing is found THEN each uid in turn; WHEN one is found THEN it stops there', () => {
    const wanted = [want(fileUid('/x'), true), want(fileUid('/y'), true), want(fileUid('/z'), true)];
    expect(rounds(firstFound(wanted))).toEqual([['<- file:/x'], ['<- file:/y'], ['<- file:/z']]);
    expect(rounds(firstFound(wanted), (uid) => uid.key === '/y')).toEqual([['<- file:/x'], ['<- file:/y']]);
  });

  it('GIVEN two files of one directory THEN their searches ask with the same shared rounds (made once per directory)', () => {
    const [a, b] = [parentDirSearch('/srv/www/a'), parentDirSearch('/srv/www/b')];
    for (let round = 0; round < 3; round++) expect(a.next()).toBe(b.next());
    expect(a.next()).toBeUndefined();
  });

  it('GIVEN paths one after another in, beside, above and below the directory before WHEN searched THEN each climbs from its own directory', () => {
    const cases: [string, string[][]][] = [
      ['/a/b/c', [['<- file:/a/b/'], ['<- file:/a/'], ['<- file:/']]],
      ['/a/b/d', [['<- file:/a/b/'], ['<- file:/a/'], ['<- file:/']]],
      ['/a/b/e/', [['<- file:/a/b/'], ['<- file:/a/'], ['<- file:/']]],
      ['/a/b/', [['<- file:/a/'], ['<- file:/']]],
      ['/a/c', [['<- file:/a/'], ['<- file:/']]],
      ['/a/', [['<- file:/']]],
      ['/a/b/e/f', [['<- file:/a/b/e/'], ['<- file:/a/b/'], ['<- file:/a/'], ['<- file:/']]],
      ['/a/b/e//', [['<- file:/a/b/e/'], ['<- file:/a/b/'], ['<- file:/a/'], ['<- file:/']]],
      ['/x', [['<- file:/']]],
      ['/', []],
      ['/y', [['<- file:/']]],
    ];
    for (const [path, expected] of cases) expect(rounds(parentDirSearch(path)), path).toEqual(expected);
  });

  it('GIVEN two files of one directory and one of another THEN the first two searches are alike (sameAs) and the third is not', () => {
    const [a, b, c] = [parentDirSearch('/srv/www/a'), parentDirSearch('/srv/www/b'), parentDirSearch('/srv/b')];
    expect(a.sameAs).toBeDefined();
    expect(a.sameAs).toBe(b.sameAs);
    expect(c.sameAs).not.toBe(a.sameAs);
  });

  it('GIVEN parentDirSearch WHEN nothing is found THEN the parents nearest first up to /', () => {
    expect(rounds(parentDirSearch('/a/b/c'))).toEqual([['<- file:/a/b/'], ['<- file:/a/'], ['<- file:/']]);
    expect(rounds(parentDirSearch('/a/b/'))).toEqual([['<- file:/a/'], ['<- file:/']]);
    expect(rounds(parentDirSearch('/'))).toEqual([]);
  });

  it('GIVEN svcSearch WHEN nothing is found THEN its unit files in order, reversed', () => {
    expect(rounds(svcSearch('web', false))).toEqual([['<- file:/etc/systemd/system/web.service'], ['<- file:/usr/lib/systemd/system/web.service']]);
  });

  it('GIVEN packageSearch WHEN nothing is found THEN units first, then the deepest files, then their directories up to /', () => {
    const search = packageSearch(['/usr/lib/systemd/system/web.service', '/etc/web/', '/etc/web/web.conf', '/usr/bin/web']);
    expect(rounds(search)).toEqual([
      ['-> svc:web'],
      ['-> file:/usr/lib/systemd/system/web.service', '-> file:/etc/web/web.conf', '-> file:/usr/bin/web'],
      ['-> file:/usr/lib/systemd/system/', '-> file:/etc/web/', '-> file:/usr/bin/'],
      ['-> file:/usr/lib/systemd/', '-> file:/etc/'],
      ['-> file:/usr/lib/'],
      ['-> file:/usr/'],
      ['-> file:/'],
    ]);
  });

  it('GIVEN packageSearch WHEN a file is found THEN its directory is not asked for', () => {
    const search = packageSearch(['/etc/web/web.conf', '/etc/web/other.conf']);
    expect(rounds(search, (uid) => uid.key === '/etc/web/web.conf')).toEqual([['-> file:/etc/web/web.conf', '-> file:/etc/web/other.conf']]);
  });

  it('GIVEN a package with no files WHEN searched THEN nothing is asked', () => {
    expect(rounds(packageSearch([]))).toEqual([]);
  });
});

describe('file and exec traits', () => {
  const fileParams = (path: string, more: object = {}) => ({ ...file.defaults(path), ...more });
  const execParams = (cmd: string, more: object = {}) => ({ ...exec.defaults(cmd), ...more });

  it('GIVEN a file WHEN asked THEN it offers file + its effective path and searches its parents', () => {
    const params = fileParams('conf', { path: '/x/y', dirname: '/etc/', basename: 'app.conf' });
    expect(file.autoedge!.uids(params, 'conf')).toEqual([fileUid('/etc/app.conf')]);
    expect(rounds(file.autoedge!.search(params, 'conf'))).toEqual([['<- file:/etc/'], ['<- file:/']]);
    expect(file.autoedge!.uids(fileParams('/srv/www/'), '/srv/www/')).toEqual([fileUid('/srv/www/')]);
  });

  it('GIVEN an exec WHEN asked THEN it offers exec + cmd and wants pkgfile and file of each absolute program, then user and group, in one round', () => {
    const params = execParams('/usr/bin/make all', { ifcmd: '/usr/bin/test -f x', watchcmd: 'inotifywait .', nifcmd: '/usr/bin/make -q', user: 'builder', group: 'dev' });
    expect(exec.autoedge!.uids(params, 'build')).toEqual([execUid('/usr/bin/make all')]);
    expect(rounds(exec.autoedge!.search(params, 'build'))).toEqual([
      ['<- pkgfile:/usr/bin/make', '<- file:/usr/bin/make', '<- pkgfile:/usr/bin/test', '<- file:/usr/bin/test', '<- user:builder', '<- group:dev'],
    ]);
  });

  it('GIVEN an exec of a bare program with no user WHEN asked THEN it wants nothing', () => {
    expect(rounds(exec.autoedge!.search(execParams('sleep 1'), 'sleep 1'))).toEqual([]);
  });
});
