// allownonfree against the real PackageKit: a local repository holding a package whose Section
// is `non-free/misc` (DebSpec.section). PackageKit 1.2's apt backend takes the archive area from
// the Section (what comes before its last `/`, main when there is none) and calls a package free
// only in main or universe, so its `free` filter drops that package, and the PackageKit backend
// refuses it before any transaction unless allownonfree is set. apt has no such notion: the apt
// backend installs the same package whatever the flag says.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testPackage } from '../helpers/apt-repo.js';
import { skipPackageKitReason } from '../helpers/packagekit.js';
import { failure, transactions, usePackageKitRepo } from '../helpers/pkg-resources.js';

const never = new AbortController().signal;
// A real PackageKit on a 2-core machine shared with other tests: a transaction takes seconds.
const SLOW = 180_000;

/** refusal is what the PackageKit backend says of a package its `free` filter drops. */
function refusal(name: string): string {
  return `package ${name} 1.0 is not free software (PackageKit's free filter): set allownonfree: true to install it`;
}

describe.skipIf(skipPackageKitReason !== undefined)('pkg allownonfree on PackageKit (--pkg-backend packagekit)', () => {
  const N = testPackage('pknf-nonfree');
  const C = testPackage('pknf-contrib');
  const F = testPackage('pknf-free');
  const fx = usePackageKitRepo([{ name: N, section: 'non-free/misc' }, { name: C, section: 'contrib/misc' }, { name: F }]);
  const { packagekit, apt } = fx;

  it('GIVEN DebSpec.section THEN the control file and the index carry it; the default stays misc', async () => {
    const index = await readFile(join(fx.repo.dir, 'Packages'), 'utf8');
    const sectionOf = (name: string): string | undefined => new RegExp(`^Package: ${name}\\n(?:.+\\n)*?Section: (.+)$`, 'm').exec(index)?.[1];
    expect([sectionOf(N), sectionOf(C), sectionOf(F)]).toEqual(['non-free/misc', 'contrib/misc', 'misc']);
  });

  it('GIVEN the non-free package WHEN allownonfree is false THEN checkApply fails naming it and allownonfree: true, PackageKit is never asked to install it, and nothing is installed; noop only says it is wrong', { timeout: SLOW }, async () => {
    const seen = await fx.pk.watchTransactions();
    const { live, ctx } = packagekit.start(N);
    expect(await live.checkApply(false, never)).toBe(false);
    expect(await failure(live.checkApply(true, never))).toBe(refusal(N));
    expect(await fx.repo.installedVersion(N)).toBeUndefined();
    expect(await seen.of([N])).toEqual([]);
    expect(transactions(ctx)).toEqual([]);
  });

  it("GIVEN a package in contrib (free software to Debian) WHEN allownonfree is false THEN PackageKit's free filter refuses it too: only main and universe are free to it", { timeout: SLOW }, async () => {
    expect(await failure(packagekit.start(C).live.checkApply(true, never))).toBe(refusal(C));
    expect(await fx.repo.installedVersion(C)).toBeUndefined();
  });

  it('GIVEN allowunsupported false too THEN the refusal names allownonfree alone, and with allownonfree true allowunsupported: one flag at a time', { timeout: SLOW }, async () => {
    const strict = { allowunsupported: false };
    expect(await failure(packagekit.start(N, strict).live.checkApply(true, never))).toBe(refusal(N));
    expect(await failure(packagekit.start(N, { ...strict, allownonfree: true }).live.checkApply(true, never))).toBe(
      `package ${N} 1.0 is not supported by the distribution (PackageKit's supported filter, local): set allowunsupported: true to install it`,
    );
    expect(await fx.repo.installedVersion(N)).toBeUndefined();
  });

  it('GIVEN allownonfree true THEN PackageKit installs the non-free package; checked again THEN right', { timeout: SLOW }, async () => {
    const { live, ctx } = packagekit.start(N, { allownonfree: true });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await fx.repo.installedVersion(N)).toBe('1.0');
    expect(await live.checkApply(true, never)).toBe(true);
    expect(transactions(ctx)).toEqual([`PackageKit InstallPackages [only-trusted] ${N};1.0;all;local`]);
  });

  it('GIVEN a group of a free and a non-free package, allownonfree false THEN the free one is installed and only the non-free member fails, naming allownonfree; with allownonfree both are', { timeout: SLOW }, async () => {
    const seen = await fx.pk.watchTransactions();
    const { group, ctx } = packagekit.startGroup([F, N]);
    expect(await failure(group.checkApply(true, never))).toBe(`pkg[${N}]: ${refusal(N)}`);
    expect(await fx.repo.installedVersion(F)).toBe('1.0');
    expect(await fx.repo.installedVersion(N)).toBeUndefined();
    expect(await seen.of([F, N])).toEqual([{ role: 'install-packages', succeeded: true, packages: [F] }]);
    expect(transactions(ctx)).toEqual([expect.stringMatching(new RegExp(`^PackageKit InstallPackages .*${F};1\\.0;`))]);
    await fx.repo.purge();
    expect(await packagekit.startGroup([F, N], { allownonfree: true }).group.checkApply(true, never)).toEqual([false, false]);
    expect(await fx.repo.installedVersion(F)).toBe('1.0');
    expect(await fx.repo.installedVersion(N)).toBe('1.0');
  });

  it('GIVEN the same non-free package and allownonfree false THEN the apt backend installs it (apt has no such notion) where PackageKit refuses it', { timeout: SLOW }, async () => {
    expect(await failure(packagekit.start(N).live.checkApply(true, never))).toBe(refusal(N));
    expect(await fx.repo.installedVersion(N)).toBeUndefined();
    const { live, ctx } = apt.start(N);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await fx.repo.installedVersion(N)).toBe('1.0');
    expect(transactions(ctx)).toEqual([expect.stringMatching(new RegExp(`^apt-get install .* ${N}$`))]);
  });
});
