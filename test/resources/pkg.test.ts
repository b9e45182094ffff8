import { firstValueFrom, take, toArray, timeout } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorMessage, type Diagnostic } from '../../src/errors.js';
import { compileGraph, prefetchAutoEdges } from '../../src/graph/compile.js';
import type { PkgBackend, PkgInfo } from '../../src/pkg/backend.js';
import { file } from '../../src/resources/file.js';
import { createRegistry } from '../../src/core/registry.js';
import { builtinRegistry } from '../../src/resources/index.js';
import { createPkgKind, pkg, type PkgParams } from '../../src/resources/pkg.js';
import type { GroupLiveResource } from '../../src/core/group.js';
import type { LiveResource, ResourceKind } from '../../src/core/kind.js';
import { oneRound, svcUid } from '../../src/resources/uids.js';
import { parseGraph } from '../../src/yamlgraph/parse.js';
import { aptHistoryMark, aptHistorySince, createAptRepo, testPackage, useAptConfig, type AptRepo } from '../helpers/apt-repo.js';
import { makeContext, type TestContext } from '../helpers/context.js';

const never = new AbortController().signal;
const isRoot = process.getuid?.() === 0;

function params(overrides: Partial<PkgParams> = {}): PkgParams {
  const p = { ...pkg.defaults('x'), ...overrides };
  expect(pkg.validate(p)).toEqual([]);
  return p;
}

describe('pkg parameters', () => {
  it('GIVEN no state THEN installed, with every allow flag off', () => {
    expect(pkg.defaults('x')).toEqual({ state: 'installed', allowdowngrade: false, allowuntrusted: false, allownonfree: false, allowunsupported: false });
  });

  it('GIVEN latest THEN it is refused with a hint at newest', () => {
    expect(pkg.validate({ ...pkg.defaults('x'), state: 'latest' })).toEqual([
      { param: 'state', reason: 'must be installed, uninstalled, newest or a version, got "latest" (did you mean newest?)' },
    ]);
  });

  it('GIVEN an empty state or one with spaces THEN each problem quotes it', () => {
    expect(pkg.validate({ ...pkg.defaults('x'), state: '' })[0]?.reason).toMatch(/got "" \(string\)/);
    expect(pkg.validate({ ...pkg.defaults('x'), state: '1.0 beta' })[0]?.reason).toMatch(/"1.0 beta" is not installed, uninstalled, newest, nor a version/);
    expect(pkg.validate({ ...pkg.defaults('x'), state: '1:2.0-1+b2~rc1' })).toEqual([]);
  });

  it('GIVEN a name apt-get would read as an option THEN init refuses it', () => {
    expect(() => pkg.init(params(), makeContext('pkg', '-o=Dir::Etc=/tmp'))).toThrow(/"-o=Dir::Etc=\/tmp" is not a valid package name/);
  });
});

describe('pkg grouping', () => {
  const { compatible, key } = pkg.group!;
  const p = (state: string, extra: Partial<PkgParams> = {}): PkgParams => ({ ...pkg.defaults('x'), state, ...extra });

  it('GIVEN the same state THEN packages group; installed and newest group together', () => {
    expect(compatible(p('installed'), p('installed'))).toBe(true);
    expect(compatible(p('uninstalled'), p('uninstalled'))).toBe(true);
    expect(compatible(p('installed'), p('newest'))).toBe(true);
  });

  it('GIVEN an install and a removal, a version, or different allow flags THEN they never group', () => {
    expect(compatible(p('installed'), p('uninstalled'))).toBe(false);
    expect(compatible(p('1.0'), p('1.0'))).toBe(false);
    expect(key!(p('1.0'))).toBeUndefined();
    expect(compatible(p('installed'), p('installed', { allowuntrusted: true }))).toBe(false);
  });
});

// A backend that answers from a table, for the autoedge rules (no package manager involved).
function tableBackend(table: Record<string, { installed?: string; files?: string[]; unknown?: boolean }>): PkgBackend {
  return {
    name: 'table',
    async query(names, options = {}) {
      return new Map(
        names.map((name): [string, PkgInfo] => {
          const row = table[name];
          const info: PkgInfo = { name, installed: row?.installed };
          if (!options.available) return [name, info];
          return [name, { ...info, available: row === undefined || row.unknown ? { candidate: undefined, versions: [] } : { candidate: '1.0', versions: ['1.0'] } }];
        }),
      );
    },
    apply: async () => ({ summary: '' }),
    listFiles: async (names) => new Map(names.map((name) => [name, table[name]?.files])),
    watch: () => {
      throw new Error('not watched');
    },
    close: async () => undefined,
  };
}

// svc's uid without systemd: enough for pkg → svc edges.
const fakeSvc: ResourceKind<{ state: string }> = {
  kind: 'svc',
  doc: 'test service',
  params: { state: { type: 'string', doc: 'state' } },
  defaults: () => ({ state: '' }),
  validate: () => [],
  init: () => {
    throw new Error('not run');
  },
  autoedge: { uids: (_p, name) => [svcUid(name)], search: () => oneRound([]) },
};

describe('pkg automatic edges', () => {
  const table = {
    drbd: { installed: '1.0', files: ['/etc/', '/etc/drbd.conf', '/etc/drbd.d/', '/usr/lib/systemd/system/drbd.service', '/usr/sbin/drbdadm'] },
    absent: { files: undefined },
    nope: { unknown: true },
  };
  const kind = createPkgKind({ selectBackend: async () => tableBackend(table) });
  const registry = createRegistry([file, fakeSvc, kind]);
  const compile = async (yaml: string): Promise<{ edges: string[]; warnings: Diagnostic[] }> => {
    const spec = parseGraph(yaml, 'test.yaml', registry);
    await prefetchAutoEdges(spec, registry);
    const warnings: Diagnostic[] = [];
    const graph = compileGraph(spec, registry, { noAutogroup: true, onWarning: (w) => warnings.push(w) });
    return { edges: graph.edges.map((e) => `${e.from} -> ${e.to}`), warnings };
  };

  it('GIVEN a package shipping a unit, a file and a directory THEN it comes before the service, the file and the directory (autoedges3.yaml)', async () => {
    const { edges, warnings } = await compile(`graph: g
resources:
  pkg:
  - name: drbd
  file:
  - name: conf
    path: /etc/drbd.conf
  - name: dir
    path: /etc/drbd.d/
  svc:
  - name: drbd
`);
    expect(edges.sort()).toEqual(['pkg[drbd] -> file[conf]', 'pkg[drbd] -> file[dir]', 'pkg[drbd] -> svc[drbd]']);
    expect(warnings).toEqual([]);
  });

  it('GIVEN an unknown package among others THEN only it gets a warning, the others their edges (#922)', async () => {
    const { edges, warnings } = await compile(`graph: g
resources:
  pkg:
  - name: nope
  - name: absent
  - name: drbd
  file:
  - name: conf
    path: /etc/drbd.conf
`);
    expect(edges).toEqual(['pkg[drbd] -> file[conf]']);
    expect(warnings.map((w) => `${w.resource}: ${w.message}`)).toEqual(['pkg[nope]: automatic edges skipped: package nope is not known to table, so its files are unknown']);
  });

  // countingRegistry has a pkg kind that counts how often it asked for a backend.
  const countingRegistry = (): { reg: ReturnType<typeof createRegistry>; asked: () => number } => {
    let asked = 0;
    const counting = createPkgKind({
      selectBackend: async () => {
        asked += 1;
        return tableBackend(table);
      },
    });
    return { reg: createRegistry([file, fakeSvc, counting]), asked: () => asked };
  };

  it('GIVEN meta autoedge false or --no-autoedges THEN nothing is prefetched', async () => {
    const { reg, asked } = countingRegistry();
    const withFile = '  file:\n  - name: conf\n    path: /etc/drbd.conf\n';
    const spec = parseGraph(`graph: g\nresources:\n  pkg:\n  - name: drbd\n    meta:\n      autoedge: false\n${withFile}`, 't.yaml', reg);
    await prefetchAutoEdges(spec, reg);
    await prefetchAutoEdges(parseGraph(`graph: g\nresources:\n  pkg:\n  - name: drbd\n${withFile}`, 't.yaml', reg), reg, { noAutoedges: true });
    expect(asked()).toBe(0);
  });

  it('GIVEN packages and nothing they could connect to (no file, svc or exec) THEN the package manager is not asked, and no warning', async () => {
    const { reg, asked } = countingRegistry();
    const alone = parseGraph('graph: g\nresources:\n  pkg:\n  - name: drbd\n  - name: nope\n', 't.yaml', reg);
    await prefetchAutoEdges(alone, reg);
    expect(asked()).toBe(0);
    const warnings: Diagnostic[] = [];
    expect(compileGraph(alone, reg, { noAutogroup: true, onWarning: (w) => warnings.push(w) }).edges).toEqual([]);
    expect(warnings).toEqual([]);
    // A service joins: now the files matter.
    await prefetchAutoEdges(parseGraph('graph: g\nresources:\n  pkg:\n  - name: drbd\n  svc:\n  - name: drbd\n', 't.yaml', reg), reg);
    expect(asked()).toBe(1);
  });

  it('GIVEN a backend that fails THEN each package gets a warning naming why, and the graph compiles', async () => {
    const failing = createPkgKind({ selectBackend: async () => Promise.reject(new Error('no package manager here')) });
    const reg = createRegistry([file, failing]);
    const spec = parseGraph('graph: g\nresources:\n  pkg:\n  - name: drbd\n  file:\n  - name: conf\n    path: /etc/drbd.conf\n', 't.yaml', reg);
    await prefetchAutoEdges(spec, reg);
    const warnings: Diagnostic[] = [];
    compileGraph(spec, reg, { onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.message)).toEqual(['automatic edges skipped: cannot list the files of package drbd: no package manager here']);
  });
});

describe('pkg backend choice (--pkg-backend)', () => {
  // A choice no backend answers to fails at selection, before any package manager runs: what it
  // says shows which choice reached the resource.
  const yum = 'yum' as never;

  it('GIVEN the registry of a run made with a backend choice THEN its pkg resources select that backend', async () => {
    const def = builtinRegistry({ pkgBackend: yum }).get('pkg')!;
    const live = def.init(def.defaults('vim'), makeContext('pkg', 'vim'));
    await expect(live.checkApply(false, never)).rejects.toThrow('unknown package backend "yum" (string)');
  });

  it('GIVEN the registry of a run made with a backend choice THEN its autoedge prefetch selects that backend too', async () => {
    const reg = builtinRegistry({ pkgBackend: yum });
    const spec = parseGraph('graph: g\nresources:\n  pkg:\n  - name: drbd\n  file:\n  - name: conf\n    path: /etc/drbd.conf\n', 't.yaml', reg);
    await prefetchAutoEdges(spec, reg);
    const warnings: Diagnostic[] = [];
    compileGraph(spec, reg, { onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('cannot list the files of package drbd: unknown package backend "yum"')]);
  });
});

// The rest drives the real apt-get and dpkg on a local repository.
describe.skipIf(!isRoot)('pkg on apt and dpkg', () => {
  let repo: AptRepo;
  let restoreAptConfig = (): void => {};
  const A = testPackage('res-a');
  const B = testPackage('res-b');
  const C = testPackage('res-c');
  const N = testPackage('res-n');
  const NOPE = testPackage('res-nope');
  const lives: Array<LiveResource | GroupLiveResource> = [];
  const aptPkg = createPkgKind({ backend: 'apt' });

  beforeAll(async () => {
    repo = await createAptRepo([{ name: A }, { name: B }, { name: C }, { name: N, version: '1.0' }, { name: N, version: '2.0' }]);
    restoreAptConfig = useAptConfig(repo.aptConfig);
  });
  afterAll(async () => {
    restoreAptConfig();
    await repo?.close();
  });
  afterEach(async () => {
    await Promise.all(lives.splice(0).map((live) => live.cleanup?.()));
    await repo.purge();
  });

  function start(name: string, overrides: Partial<PkgParams> = {}): { live: LiveResource; ctx: TestContext } {
    const ctx = makeContext('pkg', name);
    const live = aptPkg.init(params(overrides), ctx);
    lives.push(live);
    return { live, ctx };
  }

  function startGroup(names: readonly string[], overrides: Partial<PkgParams> = {}): { group: GroupLiveResource; ctxs: TestContext[] } {
    const ctxs = names.map((name) => makeContext('pkg', name));
    const group = aptPkg.group!.init!(names.map((name, i) => ({ name, params: params(overrides), ctx: ctxs[i]! })));
    lives.push(group);
    return { group, ctxs };
  }

  const transactions = (ctx: TestContext) => ctx.logs.filter((e) => e.transaction !== undefined);

  it('GIVEN a missing package WHEN checked THEN it is wrong; applied THEN installed; checked again THEN right (#988)', async () => {
    const { live, ctx } = start(A);
    expect(await live.checkApply(false, never)).toBe(false);
    expect(await repo.installedVersion(A)).toBeUndefined();
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(A)).toBe('1.0');
    expect(await live.checkApply(true, never)).toBe(true);
    expect(transactions(ctx).map((e) => e.message)).toEqual([expect.stringMatching(new RegExp(`^apt-get install .* --no-remove ${A}$`))]);
  });

  it('GIVEN an installed package and state uninstalled THEN it is removed, and then right', async () => {
    await repo.aptGet(['install', '-y', A]);
    const { live } = start(A, { state: 'uninstalled' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(A)).toBeUndefined();
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN an old version and state newest THEN it is upgraded to the candidate; installed is already right', async () => {
    await repo.aptGet(['install', '-y', `${N}=1.0`]);
    expect(await start(N).live.checkApply(false, never)).toBe(true);
    const { live } = start(N, { state: 'newest' });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(N)).toBe('2.0');
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a version THEN that version is installed; an older one needs allowdowngrade', async () => {
    const { live } = start(N, { state: '2.0' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(N)).toBe('2.0');
    expect(await live.checkApply(true, never)).toBe(true);

    const refused = start(N, { state: '1.0' }).live;
    await expect(refused.checkApply(true, never)).rejects.toThrow(`package ${N} would be downgraded from 2.0 to 1.0: set allowdowngrade: true to allow it`);
    expect(await repo.installedVersion(N)).toBe('2.0');

    const allowed = start(N, { state: '1.0', allowdowngrade: true }).live;
    expect(await allowed.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(N)).toBe('1.0');
    expect(await allowed.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a version no source offers THEN the error lists what is offered', async () => {
    const { live } = start(N, { state: '9.9' });
    await expect(live.checkApply(true, never)).rejects.toThrow(`version 9.9 of package ${N} is not available (offered: 2.0, 1.0)`);
  });

  it('GIVEN an unknown package THEN checkApply fails with one line naming it, in noop too', async () => {
    const { live } = start(NOPE);
    const message = await live.checkApply(true, never).then(
      () => 'no error',
      (err: unknown) => errorMessage(err),
    );
    expect(message).toBe(`package ${NOPE} is not known to apt: it is not installed and no configured source offers it (check the name, or refresh the package lists: apt-get update)`);
    await expect(live.checkApply(false, never)).rejects.toThrow(`package ${NOPE} is not known to apt`);
  });

  it('GIVEN a group of three missing packages THEN one apt-get call installs all three, with a result per member', async () => {
    const mark = await aptHistoryMark();
    const { group, ctxs } = startGroup([A, B, C]);
    expect(await group.checkApply(true, never)).toEqual([false, false, false]);
    for (const name of [A, B, C]) expect(await repo.installedVersion(name)).toBe('1.0');
    // One transaction, as apt's own history and the resource's log both say.
    const commands = await aptHistorySince(mark, [A, B, C]);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatch(new RegExp(`^apt-get install .* ${A} ${B} ${C}$`));
    expect(transactions(ctxs[0]!)).toHaveLength(1);
    expect(transactions(ctxs[0]!)[0]!.transaction).toMatchObject({ backend: 'apt', install: [{ name: A }, { name: B }, { name: C }], members: [`pkg[${A}]`, `pkg[${B}]`, `pkg[${C}]`] });
    expect(await group.checkApply(true, never)).toEqual([true, true, true]);
  });

  it('GIVEN a group with one package installed THEN only the others are in the transaction', async () => {
    await repo.aptGet(['install', '-y', B]);
    const { group, ctxs } = startGroup([A, B, C]);
    expect(await group.checkApply(true, never)).toEqual([false, true, false]);
    expect(transactions(ctxs[0]!)[0]!.transaction).toMatchObject({ install: [{ name: A }, { name: C }] });
  });

  it('GIVEN a group with an unknown package THEN the others are installed and the error names only the unknown member', async () => {
    const { group } = startGroup([A, NOPE, B]);
    const message = await group.checkApply(true, never).then(
      () => 'no error',
      (err: unknown) => errorMessage(err),
    );
    expect(message).toBe(`pkg[${NOPE}]: package ${NOPE} is not known to apt: it is not installed and no configured source offers it (check the name, or refresh the package lists: apt-get update)`);
    expect(await repo.installedVersion(A)).toBe('1.0');
    expect(await repo.installedVersion(B)).toBe('1.0');
  });

  it('GIVEN a group of installed packages and state uninstalled THEN one apt-get remove', async () => {
    await repo.aptGet(['install', '-y', A, B]);
    const mark = await aptHistoryMark();
    const { group } = startGroup([A, B], { state: 'uninstalled' });
    expect(await group.checkApply(true, never)).toEqual([false, false]);
    expect(await aptHistorySince(mark, [A, B, C])).toEqual([expect.stringMatching(new RegExp(`^apt-get remove .* ${A} ${B}$`))]);
    expect(await repo.installedVersion(A)).toBeUndefined();
  });

  it('GIVEN a watched package WHEN it is purged behind its back THEN the watch fires, and checkApply reinstalls it', async () => {
    const { live } = start(A);
    expect(await live.checkApply(true, never)).toBe(false);
    const events = firstValueFrom(live.watch().pipe(take(2), toArray(), timeout(20_000)));
    const ready = firstValueFrom(live.watch().pipe(take(1)));
    await ready;
    // The second subscription is ready too before the purge: give its inotify watch a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await repo.purge([A]);
    expect(await events).toHaveLength(2);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(A)).toBe('1.0');
  });
});
