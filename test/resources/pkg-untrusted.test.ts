// allowuntrusted against the real programs: a local repository apt reads but does not
// authenticate (createAptRepo's `untrusted`: `deb [allow-insecure=yes] file:DIR ./`, no Release
// file), driven through the pkg kind's checkApply on apt-get and on PackageKit. Both refuse its
// packages before anything changes unless allowuntrusted is set (apt-get without
// --allow-unauthenticated, PackageKit 1.2 under its only-trusted flag), and the error says so in
// the same words on both.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { aptHistoryMark, aptHistorySince, createAptRepo, testPackage, useAptConfig, type AptRepo } from '../helpers/apt-repo.js';
import { skipPackageKitReason } from '../helpers/packagekit.js';
import { failure, PkgResources, transactions, usePackageKitRepo } from '../helpers/pkg-resources.js';

const never = new AbortController().signal;
const isRoot = process.getuid?.() === 0;
// A real PackageKit on a 2-core machine shared with other tests: a transaction takes seconds.
const SLOW = 180_000;

/** refusal is what both backends say first when they will not install `names` without allowuntrusted. */
function refusal(...names: string[]): string {
  return names.length === 1
    ? `package ${names[0]} cannot be authenticated (no key this host trusts signs its source): set allowuntrusted: true to install it anyway`
    : `packages ${names.join(', ')} cannot be authenticated (no key this host trusts signs their source): set allowuntrusted: true to install them anyway`;
}

describe.skipIf(!isRoot)('pkg allowuntrusted on apt and dpkg', () => {
  let repo: AptRepo;
  let restoreAptConfig = (): void => {};
  const U = testPackage('untr-u');
  const V = testPackage('untr-v');
  const N = testPackage('untr-n');
  const apt = new PkgResources('apt');

  beforeAll(async () => {
    repo = await createAptRepo([{ name: U }, { name: V }, { name: N, version: '1.0' }, { name: N, version: '2.0' }], { untrusted: true });
    restoreAptConfig = useAptConfig(repo.aptConfig);
  });
  afterAll(async () => {
    restoreAptConfig();
    await repo?.close();
  });
  afterEach(async () => {
    await apt.cleanup();
    await repo.purge();
  });

  it('GIVEN the untrusted source THEN apt sees its packages, and apt-get install -y refuses them without --allow-unauthenticated', async () => {
    expect(repo.source).toBe(`deb [allow-insecure=yes] file:${repo.dir} ./`);
    const refused = await repo.aptGet(['install', '-y', '-q', U]);
    expect(refused.code).toBe(100);
    expect(refused.stderr).toContain('E: There were unauthenticated packages and -y was used without --allow-unauthenticated');
    expect(await repo.installedVersion(U)).toBeUndefined();
  });

  it('GIVEN a package from it WHEN allowuntrusted is false THEN checkApply fails naming it and allowuntrusted, and nothing is installed; noop only says it is wrong', async () => {
    const { live, ctx } = apt.start(U);
    expect(await live.checkApply(false, never)).toBe(false);
    const message = await failure(live.checkApply(true, never));
    expect(message).toMatch(new RegExp(`^${escape(refusal(U))} \\(apt-get install .* --no-remove ${U} exited with code 100: E: There were unauthenticated packages and -y was used without --allow-unauthenticated\\)$`));
    expect(message).not.toContain('--allow-unauthenticated --no-remove');
    expect(await repo.installedVersion(U)).toBeUndefined();
    expect(transactions(ctx)).toEqual([]);
  });

  it('GIVEN allowuntrusted true THEN apt-get gets --allow-unauthenticated and installs it; checked again THEN right', async () => {
    const mark = await aptHistoryMark();
    const { live, ctx } = apt.start(U, { allowuntrusted: true });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(U)).toBe('1.0');
    expect(await live.checkApply(true, never)).toBe(true);
    expect(transactions(ctx)).toEqual([expect.stringMatching(new RegExp(`^apt-get install .* --allow-unauthenticated --no-remove ${U}$`))]);
    expect(await aptHistorySince(mark, [U])).toEqual([expect.stringMatching(/--allow-unauthenticated/)]);
  });

  it('GIVEN a group of two packages from it THEN the one transaction is refused naming both; with allowuntrusted both are installed', async () => {
    const message = await failure(apt.startGroup([U, V]).group.checkApply(true, never));
    expect(message).toMatch(new RegExp(`^${escape(refusal(U, V))} \\(apt-get install `));
    expect(await repo.installedVersion(U)).toBeUndefined();
    expect(await repo.installedVersion(V)).toBeUndefined();
    expect(await apt.startGroup([U, V], { allowuntrusted: true }).group.checkApply(true, never)).toEqual([false, false]);
    expect(await repo.installedVersion(U)).toBe('1.0');
    expect(await repo.installedVersion(V)).toBe('1.0');
  });

  it('GIVEN a group of a package from it and one from a trusted source THEN the trusted one is installed and only the other member fails', async () => {
    const T = testPackage('untr-trusted');
    const trusted = await createAptRepo([{ name: T }]);
    const dir = await mkdtemp(join(tmpdir(), 'mgmt-apt-both-'));
    try {
      // One apt configuration reading both sources (their list files are there from each one's update).
      await writeFile(join(dir, 'sources.list'), `${trusted.source}\n${repo.source}\n`);
      await writeFile(join(dir, 'apt.conf'), `Dir::Etc::sourcelist "${join(dir, 'sources.list')}";\nDir::Etc::sourceparts "/dev/null";\nAPT::Get::List-Cleanup "0";\n`);
      process.env.APT_CONFIG = join(dir, 'apt.conf');
      const message = await failure(apt.startGroup([T, U]).group.checkApply(true, never));
      expect(message).toBe(`pkg[${U}]: ${refusal(U)}`);
      expect(await trusted.installedVersion(T)).toBe('1.0');
      expect(await repo.installedVersion(U)).toBeUndefined();
    } finally {
      process.env.APT_CONFIG = repo.aptConfig;
      await trusted.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('GIVEN an old version installed and state newest THEN the upgrade is refused without allowuntrusted, done with it', async () => {
    await repo.aptGet(['install', '-y', '--allow-unauthenticated', `${N}=1.0`]);
    await expect(apt.start(N, { state: 'newest' }).live.checkApply(true, never)).rejects.toThrow(refusal(N));
    expect(await repo.installedVersion(N)).toBe('1.0');
    expect(await apt.start(N, { state: 'newest', allowuntrusted: true }).live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(N)).toBe('2.0');
  });

  it('GIVEN an installed package from it and state uninstalled THEN it is removed without allowuntrusted (nothing is fetched)', async () => {
    await repo.aptGet(['install', '-y', '--allow-unauthenticated', U]);
    const { live } = apt.start(U, { state: 'uninstalled' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await repo.installedVersion(U)).toBeUndefined();
  });
});

describe.skipIf(skipPackageKitReason !== undefined)('pkg allowuntrusted on PackageKit (--pkg-backend packagekit)', () => {
  const U = testPackage('pkuntr-u');
  const V = testPackage('pkuntr-v');
  const fx = usePackageKitRepo([{ name: U }, { name: V }], { untrusted: true });
  const { packagekit, apt } = fx;

  it('GIVEN a package from the untrusted source WHEN allowuntrusted is false THEN PackageKit refuses the only-trusted transaction, and the error names the package and allowuntrusted', { timeout: SLOW }, async () => {
    const seen = await fx.pk.watchTransactions();
    const { live, ctx } = packagekit.start(U);
    expect(await live.checkApply(false, never)).toBe(false);
    const message = await failure(live.checkApply(true, never));
    expect(message).toBe(
      `${refusal(U)} (PackageKit InstallPackages need-untrusted: cannot-install-repo-unsigned: The following packages cannot be authenticated: ${U})`,
    );
    expect(await fx.repo.installedVersion(U)).toBeUndefined();
    // PackageKit was asked, with only-trusted, and said no.
    expect(await seen.of([U])).toEqual([{ role: 'install-packages', succeeded: false, packages: [U] }]);
    expect(transactions(ctx)).toEqual([]);
  });

  it('GIVEN allowuntrusted true THEN the transaction has no only-trusted flag and installs it; checked again THEN right', { timeout: SLOW }, async () => {
    const { live, ctx } = packagekit.start(U, { allowuntrusted: true });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await fx.repo.installedVersion(U)).toBe('1.0');
    expect(await live.checkApply(true, never)).toBe(true);
    expect(transactions(ctx)).toEqual([`PackageKit InstallPackages [none] ${U};1.0;all;local`]);
  });

  it('GIVEN a group of two packages from it THEN refused naming both, as apt names them; with allowuntrusted both are installed', { timeout: SLOW }, async () => {
    const onPackageKit = await failure(packagekit.startGroup([U, V]).group.checkApply(true, never));
    const onApt = await failure(apt.startGroup([U, V]).group.checkApply(true, never));
    expect(onPackageKit.startsWith(`${refusal(U, V)} (PackageKit InstallPackages need-untrusted: `)).toBe(true);
    expect(onApt.startsWith(`${refusal(U, V)} (apt-get install `)).toBe(true);
    expect(await fx.repo.installedVersion(U)).toBeUndefined();
    expect(await fx.repo.installedVersion(V)).toBeUndefined();
    expect(await packagekit.startGroup([U, V], { allowuntrusted: true }).group.checkApply(true, never)).toEqual([false, false]);
    expect(await fx.repo.installedVersion(U)).toBe('1.0');
    expect(await fx.repo.installedVersion(V)).toBe('1.0');
  });

  it('GIVEN an installed package from it and state uninstalled THEN PackageKit removes it without allowuntrusted, as apt does', { timeout: SLOW }, async () => {
    for (const each of [packagekit, apt]) {
      await fx.repo.aptGet(['install', '-y', '--allow-unauthenticated', U]);
      expect(await each.start(U, { state: 'uninstalled' }).live.checkApply(true, never)).toBe(false);
      expect(await fx.repo.installedVersion(U)).toBeUndefined();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
