// The pkg resource with an exact version state on a real PackageKit, as test/resources/pkg.test.ts
// drives it on apt. PackageKit shows a package's candidate alone, so the resource passes the
// versions it wants to its query (QueryOptions.versions).
import { describe, expect, it } from 'vitest';
import type { PkgBackend, QueryOptions } from '../../src/pkg/backend.js';
import { createPkgKind, pkg, type PkgParams } from '../../src/resources/pkg.js';
import type { LiveResource } from '../../src/core/kind.js';
import { testPackage } from '../helpers/apt-repo.js';
import { makeContext } from '../helpers/context.js';
import { skipPackageKitReason } from '../helpers/packagekit.js';
import { usePackageKitRepo } from '../helpers/pkg-resources.js';

const never = new AbortController().signal;
// A real PackageKit on a 2-core machine shared with other tests: a transaction takes seconds.
const SLOW = 180_000;

/** resourcePassesVersions says whether a pkg resource with a version state asks its backend's query for that version. */
async function resourcePassesVersions(): Promise<boolean> {
  const asked: QueryOptions[] = [];
  const recording: PkgBackend = {
    name: 'recording',
    async query(names, options = {}) {
      asked.push(options);
      return new Map(names.map((name) => [name, { name, installed: undefined, ...(options.available ? { available: { candidate: '2.0', versions: ['2.0'] } } : {}) }]));
    },
    apply: async () => ({ summary: '' }),
    listFiles: async (names) => new Map(names.map((name) => [name, undefined])),
    watch: () => {
      throw new Error('not watched');
    },
    close: async () => undefined,
  };
  const live = createPkgKind({ selectBackend: async () => recording }).init({ ...pkg.defaults('probe'), state: '1.0' }, makeContext('pkg', 'probe'));
  await live.checkApply(false, never).catch(() => undefined);
  await live.cleanup?.();
  return asked.some((options) => options.versions?.get('probe') === '1.0');
}

describe('pkg with a version state', () => {
  it('GIVEN state 1.0 WHEN the sources are asked THEN the query names the wanted version', async () => {
    expect(await resourcePassesVersions()).toBe(true);
  });
});

describe.skipIf(skipPackageKitReason !== undefined)('pkg with a version state on PackageKit (--pkg-backend packagekit)', () => {
  const A = testPackage('pkres-a');
  const fx = usePackageKitRepo([{ name: A }, { name: A, version: '1.1' }]);
  const start = (overrides: Partial<PkgParams>): LiveResource => fx.packagekit.start(A, overrides).live;

  it('GIVEN a clean host WHEN version 1.0 is wanted while 1.1 is the candidate THEN it is wrong, then installed, then right', { timeout: SLOW }, async () => {
    const live = start({ state: '1.0' });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await fx.repo.installedVersion(A)).toBe('1.0');
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN 1.1 installed WHEN 1.0 is wanted THEN it needs allowdowngrade, and with it is downgraded', { timeout: SLOW }, async () => {
    await fx.repo.aptGet(['install', '-y', A]);
    await expect(start({ state: '1.0' }).checkApply(true, never)).rejects.toThrow(`package ${A} would be downgraded from 1.1 to 1.0: set allowdowngrade: true to allow it`);
    expect(await fx.repo.installedVersion(A)).toBe('1.1');
    const allowed = start({ state: '1.0', allowdowngrade: true });
    expect(await allowed.checkApply(true, never)).toBe(false);
    expect(await fx.repo.installedVersion(A)).toBe('1.0');
    expect(await allowed.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a version no source has THEN checkApply fails naming it, in noop too', { timeout: SLOW }, async () => {
    const live = start({ state: '9.9' });
    await expect(live.checkApply(true, never)).rejects.toThrow(`version 9.9 of package ${A} is not available (offered: 1.1)`);
    await expect(live.checkApply(false, never)).rejects.toThrow(`version 9.9 of package ${A} is not available`);
  });
});
