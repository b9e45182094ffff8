import { firstValueFrom, skip, take, timeout } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BusConnection } from '../../src/dbus/connection.js';
import { AptBackend } from '../../src/pkg/apt.js';
import { RefusedPackagesError, type PkgBackend, type TransactionFlags } from '../../src/pkg/backend.js';
import { selectBackend } from '../../src/pkg/select.js';
import { PackageKitBackend } from '../../src/pkg/packagekit.js';
import { bitfield, PK_FILTER, PK_INFO } from '../../src/pkg/packagekit-enums.js';
import { parsePackageId } from '../../src/pkg/packagekit-ids.js';
import { PACKAGEKIT, PACKAGEKIT_PATH, runTransaction } from '../../src/pkg/packagekit-transaction.js';
import { transactionOf, unknownPackage, verdict, type PlanMember, type Verdict } from '../../src/pkg/plan.js';
import { createAptRepo, shippedFile, shippedUnitFile, testPackage, useAptConfig, type AptRepo } from '../helpers/apt-repo.js';
import { dpkgPurge, skipPackageKitReason, startPackageKit, SYSTEM_BUS_ADDRESS, type TestPackageKit } from '../helpers/packagekit.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const never = new AbortController().signal;
// The test repository has no Release file from Debian: PackageKit's `supported` filter drops its packages.
const LOCAL = { allowUnsupported: true } as const;
// A real PackageKit on a 2-core machine shared with other tests: a transaction takes seconds.
const SLOW = 120_000;

describe.skipIf(skipPackageKitReason !== undefined)('PackageKitBackend on a local repository', () => {
  let repo: AptRepo;
  let pk: TestPackageKit;
  const A = testPackage('pk-a');
  const B = testPackage('pk-b');
  const C = testPackage('pk-c');
  const U = testPackage('pk-unit');
  const LIB = testPackage('pk-lib');
  const APP = testPackage('pk-app');
  const NOPE = testPackage('pk-nope');
  const backends: PkgBackend[] = [];
  const backend = (options: ConstructorParameters<typeof PackageKitBackend>[0] = {}): PackageKitBackend => {
    const made = new PackageKitBackend({ busAddress: SYSTEM_BUS_ADDRESS, ...options });
    backends.push(made);
    return made;
  };
  // The apt backend on the same repository, for what PackageKit must do alike.
  const apt = (): AptBackend => {
    const made = new AptBackend();
    backends.push(made);
    return made;
  };
  let restoreAptConfig = (): void => {};

  beforeAll(async () => {
    repo = await createAptRepo([{ name: A }, { name: A, version: '1.1' }, { name: B }, { name: C }, { name: U, unit: true }, { name: LIB }, { name: APP, depends: LIB }]);
    restoreAptConfig = useAptConfig(repo.aptConfig);
    pk = await startPackageKit(repo);
  }, SLOW);
  afterAll(async () => {
    restoreAptConfig();
    await pk?.close();
    await repo?.close();
  }, SLOW);
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    await repo.purge();
  }, SLOW);

  it('GIVEN installed, installable and unknown names WHEN queried THEN one answer each, sources only when asked', { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', `${A}=1.0`]);
    const packagekit = backend();
    const plain = await packagekit.query([A, B, NOPE]);
    expect([...plain.values()]).toEqual([
      { name: A, installed: '1.0' },
      { name: B, installed: undefined },
      { name: NOPE, installed: undefined },
    ]);
    const full = await packagekit.query([A, B, NOPE], { available: true });
    // PackageKit's apt backend shows the candidate alone of what the sources offer.
    expect(full.get(A)).toEqual({ name: A, installed: '1.0', available: { candidate: '1.1', versions: ['1.1'] } });
    expect(full.get(B)).toEqual({ name: B, installed: undefined, available: { candidate: '1.0', versions: ['1.0'] } });
    expect(full.get(NOPE)).toEqual({ name: NOPE, installed: undefined, available: { candidate: undefined, versions: [] } });
  });

  it("GIVEN a Debian host WHEN only installed versions are asked THEN dpkg's database answers without PackageKit (no bus needed); without a dpkg database, Resolve answers alike", { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', `${A}=1.0`]);
    const expected = [
      { name: A, installed: '1.0' },
      { name: NOPE, installed: undefined },
    ];
    const offline = backend({ busAddress: 'unix:path=/nonexistent/mgmt-test-bus' });
    expect([...(await offline.query([A, NOPE])).values()]).toEqual(expected);
    // As on another distribution: no dpkg database, so PackageKit's Resolve (filter installed).
    const elsewhere = backend({ dpkgStatus: '/nonexistent/mgmt-test-dpkg/status' });
    expect([...(await elsewhere.query([A, NOPE])).values()]).toEqual(expected);
    await expect(backend({ busAddress: 'unix:path=/nonexistent/mgmt-test-bus', dpkgStatus: '/nonexistent/mgmt-test-dpkg/status' }).query([A])).rejects.toThrow();
  });

  it('GIVEN a package PackageKit installed WHEN queried again THEN it is installed, though its id says manual:, not installed (#988)', { timeout: SLOW }, async () => {
    const packagekit = backend();
    await packagekit.apply({ install: [{ name: B }], upgrade: [], remove: [] }, LOCAL, never);
    expect(await repo.installedVersion(B)).toBe('1.0');
    // What the original read: the data field of the installed version's id.
    const conn = await BusConnection.open(SYSTEM_BUS_ADDRESS);
    try {
      const { packages } = await runTransaction(conn, { member: 'Resolve', signature: 'tas', body: [bitfield([PK_FILTER.none]), [B]] }).result;
      const installed = packages.filter((p) => p.info === PK_INFO.installed).map((p) => parsePackageId(p.id)!);
      expect(installed[0]).toMatchObject({ name: B, version: '1.0', data: expect.stringMatching(/^(manual|auto):/) });
      expect(installed[0]!.data.startsWith('installed')).toBe(false);
    } finally {
      conn.close();
    }
    expect((await packagekit.query([B])).get(B)).toEqual({ name: B, installed: '1.0' });
    // What PackageKit itself says, as a host without dpkg's database asks it.
    expect((await backend({ dpkgStatus: '/nonexistent/mgmt-test-dpkg/status' }).query([B])).get(B)).toEqual({ name: B, installed: '1.0' });
    expect((await packagekit.query([B], { available: true })).get(B)).toEqual({ name: B, installed: '1.0', available: { candidate: '1.0', versions: ['1.0'] } });
  });

  it('GIVEN an installed package WHEN its files are listed THEN PackageKit says them, directories ending with /; none for one not installed', { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', U]);
    const files = await backend().listFiles([U, B, NOPE]);
    expect(files.get(U)).toEqual(expect.arrayContaining(['/usr/', '/usr/share/mgmt-test/', shippedFile(U), '/usr/lib/systemd/system/', shippedUnitFile(U)]));
    expect(files.get(U)).not.toContain('/.');
    expect(files.get(B)).toBeUndefined();
    expect(files.get(NOPE)).toBeUndefined();
  });

  it('GIVEN three packages to install THEN one InstallPackages transaction installs them; removing them is one RemovePackages', { timeout: SLOW }, async () => {
    const packagekit = backend();
    const seen = await pk.watchTransactions();
    const report = await packagekit.apply({ install: [{ name: A }, { name: B }, { name: C }], upgrade: [], remove: [] }, LOCAL, never);
    expect(report.summary).toBe(`PackageKit InstallPackages [only-trusted] ${A};1.1;all;local ${B};1.0;all;local ${C};1.0;all;local`);
    for (const [name, version] of [[A, '1.1'], [B, '1.0'], [C, '1.0']] as const) expect(await repo.installedVersion(name)).toBe(version);
    expect(await seen.of([A, B, C])).toEqual([{ role: 'install-packages', succeeded: true, packages: [A, B, C] }]);

    const removed = await packagekit.apply({ install: [], upgrade: [], remove: [A, B, C] }, LOCAL, never);
    expect(removed.summary).toMatch(/^PackageKit RemovePackages \[only-trusted\] /);
    for (const name of [A, B, C]) expect(await repo.installedVersion(name)).toBeUndefined();
    expect((await seen.of([A, B, C])).map((t) => `${t.role} ${t.packages.join(',')}`)).toEqual([`install-packages ${A},${B},${C}`, `remove-packages ${A},${B},${C}`]);
  });

  it('GIVEN an older version installed WHEN upgraded THEN UpdatePackages takes it to the candidate', { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', `${A}=1.0`]);
    const report = await backend().apply({ install: [], upgrade: [A], remove: [] }, LOCAL, never);
    expect(report.summary).toBe(`PackageKit UpdatePackages [only-trusted] ${A};1.1;all;local`);
    expect(await repo.installedVersion(A)).toBe('1.1');
  });

  it('GIVEN a downgrade WHEN not allowed THEN it is refused before PackageKit (which would do it without the flag); allowed THEN done', { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', A]);
    const packagekit = backend();
    const seen = await pk.watchTransactions();
    const downgrade = { install: [{ name: A, version: '1.0' }], upgrade: [], remove: [] };
    await expect(packagekit.apply(downgrade, LOCAL, never)).rejects.toThrow(`package ${A} would be downgraded from 1.1 to 1.0: set allowdowngrade: true to allow it`);
    expect(await seen.of([A])).toEqual([]);
    const report = await packagekit.apply(downgrade, { ...LOCAL, allowDowngrade: true }, never);
    expect(report.summary).toBe(`PackageKit InstallPackages [only-trusted,allow-downgrade] ${A};1.0;all;local`);
    expect(await repo.installedVersion(A)).toBe('1.0');
  });

  it('GIVEN exact versions wanted WHEN queried THEN an older one a source has is offered as apt offers it; one no source has is not', { timeout: SLOW }, async () => {
    const wanted = new Map([
      [A, '1.0'],
      [B, '9.9'],
      [NOPE, '1.0'],
    ]);
    const seen = await backend().query([A, B, NOPE], { available: true, versions: wanted });
    expect(seen.get(A)).toEqual({ name: A, installed: undefined, available: { candidate: '1.1', versions: ['1.1', '1.0'] } });
    expect(seen.get(B)).toEqual({ name: B, installed: undefined, available: { candidate: '1.0', versions: ['1.0'] } });
    expect(seen.get(NOPE)).toEqual({ name: NOPE, installed: undefined, available: { candidate: undefined, versions: [] } });
    expect(seen.get(A)).toEqual((await apt().query([A], { available: true })).get(A));
    // Versions are looked up only with the sources, and only for the names asked.
    expect((await backend().query([A], { versions: wanted })).get(A)).toEqual({ name: A, installed: undefined });
  });

  it('GIVEN a clean host WHEN version 1.0 is wanted while 1.1 is the candidate THEN it is installed, as apt does', { timeout: SLOW }, async () => {
    const member = { name: A, state: '1.0', allowDowngrade: false };
    for (const each of [backend(), apt()]) {
      expect(await verdictOf(each, member)).toEqual({ kind: 'install', version: '1.0' });
      await converge(each, member, LOCAL);
      expect(await repo.installedVersion(A)).toBe('1.0');
      expect(await verdictOf(each, member)).toEqual({ kind: 'ok' });
      await repo.purge([A]);
    }
  });

  it('GIVEN 1.1 installed WHEN 1.0 is wanted THEN without allowdowngrade it is refused naming both versions, with it downgraded, as apt does', { timeout: SLOW }, async () => {
    for (const each of [backend(), apt()]) {
      await repo.aptGet(['install', '-y', A]);
      expect(await verdictOf(each, { name: A, state: '1.0', allowDowngrade: false })).toEqual({
        kind: 'error',
        message: `package ${A} would be downgraded from 1.1 to 1.0: set allowdowngrade: true to allow it`,
      });
      const allowed = { name: A, state: '1.0', allowDowngrade: true };
      await converge(each, allowed, { ...LOCAL, allowDowngrade: true });
      expect(await repo.installedVersion(A)).toBe('1.0');
      expect(await verdictOf(each, allowed)).toEqual({ kind: 'ok' });
      await repo.purge([A]);
    }
  });

  it('GIVEN a version no source has THEN the error names it, as apt does; asked to install it anyway, PackageKit refuses naming it', { timeout: SLOW }, async () => {
    const member = { name: A, state: '9.9', allowDowngrade: false };
    for (const each of [backend(), apt()]) {
      expect(await verdictOf(each, member)).toEqual({ kind: 'error', message: expect.stringMatching(new RegExp(`^version 9\\.9 of package ${A} is not available \\(offered: 1\\.1[,)]`)) });
    }
    const seen = await pk.watchTransactions();
    await expect(backend().apply({ install: [{ name: A, version: '9.9' }], upgrade: [], remove: [] }, LOCAL, never)).rejects.toThrow(
      `version 9.9 of package ${A} is not offered by any configured source`,
    );
    expect(await seen.of([A])).toEqual([]);
  });

  it('GIVEN a package another installed package depends on WHEN removed THEN the dependant goes too, as with apt-get remove', { timeout: SLOW }, async () => {
    for (const each of [backend(), apt()]) {
      await repo.aptGet(['install', '-y', APP]);
      expect(await repo.installedVersion(LIB)).toBe('1.0');
      const report = await each.apply({ install: [], upgrade: [], remove: [LIB] }, LOCAL, never);
      expect(report.summary).toMatch(each.name === 'packagekit' ? new RegExp(`^PackageKit RemovePackages \\[only-trusted\\] ${LIB};1\\.0;all;`) : new RegExp(`^apt-get remove .* ${LIB}$`));
      expect(await repo.installedVersion(LIB)).toBeUndefined();
      expect(await repo.installedVersion(APP)).toBeUndefined();
      expect((await each.query([LIB])).get(LIB)).toEqual({ name: LIB, installed: undefined });
    }
  });

  it('GIVEN an unknown name in a transaction THEN nothing is installed and the error names it, as a refusal of that package alone', { timeout: SLOW }, async () => {
    const seen = await pk.watchTransactions();
    const refused = await backend()
      .apply({ install: [{ name: B }, { name: NOPE }], upgrade: [], remove: [] }, LOCAL, never)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refused).toBeInstanceOf(RefusedPackagesError);
    expect([...(refused as RefusedPackagesError).refusals]).toEqual([[NOPE, unknownPackage(NOPE, 'packagekit')]]);
    expect(await repo.installedVersion(B)).toBeUndefined();
    expect(await seen.of([B, NOPE])).toEqual([]);
  });

  it("GIVEN allowunsupported false THEN PackageKit's supported filter refuses a package from a local source, naming the flag", { timeout: SLOW }, async () => {
    await expect(backend().apply({ install: [{ name: B }], upgrade: [], remove: [] }, {}, never)).rejects.toThrow(
      `package ${B} 1.0 is not supported by the distribution (PackageKit's supported filter, local): set allowunsupported: true to install it`,
    );
    expect(await repo.installedVersion(B)).toBeUndefined();
    // The test packages are free software: allownonfree false lets them through.
    await backend().apply({ install: [{ name: B }], upgrade: [], remove: [] }, { allowUnsupported: true, allowNonfree: false }, never);
    expect(await repo.installedVersion(B)).toBe('1.0');
  });

  it("GIVEN a transaction PackageKit fails THEN the error carries PackageKit's exit, error code and details", { timeout: SLOW }, async () => {
    const conn = await BusConnection.open(SYSTEM_BUS_ADDRESS);
    try {
      const failing = runTransaction(conn, { member: 'GetFiles', signature: 'as', body: [[`${NOPE};1.0;all;local`]] });
      await expect(failing.result).rejects.toMatchObject({
        name: 'PackageKitError',
        exit: 'failed',
        code: 'package-not-found',
        message: expect.stringContaining(`PackageKit GetFiles failed: package-not-found: Couldn't find package ${NOPE};1.0;all;local`),
      });
      await failing.ended;
    } finally {
      conn.close();
    }
  });

  it('GIVEN two transactions at once THEN they run one after the other, both succeeding', { timeout: SLOW }, async () => {
    const seen = await pk.watchTransactions();
    await Promise.all([
      backend().apply({ install: [{ name: A }], upgrade: [], remove: [] }, LOCAL, never),
      backend().apply({ install: [{ name: B }], upgrade: [], remove: [] }, LOCAL, never),
    ]);
    expect((await seen.of([A, B])).map((t) => t.packages)).toEqual([[A], [B]]);
    expect(await repo.installedVersion(A)).toBe('1.1');
    expect(await repo.installedVersion(B)).toBe('1.0');
  });

  it('GIVEN a transaction aborted while it runs THEN PackageKit is asked to cancel it and the wait lasts until PackageKit is done with it; the next one still succeeds', { timeout: SLOW }, async () => {
    const packagekit = backend();
    const controller = new AbortController();
    const first = packagekit.apply({ install: [{ name: A }], upgrade: [], remove: [] }, LOCAL, controller.signal);
    // Abort once PackageKit is at work on it.
    await waitForTransaction();
    controller.abort(new Error('stop'));
    await expect(first).rejects.toThrow('stop');
    // Settled means PackageKit finished it (cancelled, or done when dpkg already ran): A is wholly in or out, for good.
    const after = await repo.installedVersion(A);
    expect([undefined, '1.1']).toContain(after);
    await packagekit.apply({ install: [{ name: B }], upgrade: [], remove: [] }, LOCAL, never);
    expect(await repo.installedVersion(A)).toBe(after);
    expect(await repo.installedVersion(B)).toBe('1.0');
  });

  it('GIVEN a transaction aborted while it waits for another THEN the wait ends at once and it never runs', { timeout: SLOW }, async () => {
    const packagekit = backend();
    const controller = new AbortController();
    const seen = await pk.watchTransactions();
    const first = packagekit.apply({ install: [{ name: A }], upgrade: [], remove: [] }, LOCAL, never);
    const second = packagekit.apply({ install: [{ name: C }], upgrade: [], remove: [] }, LOCAL, controller.signal);
    await waitForTransaction();
    const aborted = performance.now();
    controller.abort(new Error('stop'));
    await expect(second).rejects.toThrow('stop');
    expect(performance.now() - aborted).toBeLessThan(500);
    await first;
    expect(await repo.installedVersion(A)).toBe('1.1');
    expect(await repo.installedVersion(C)).toBeUndefined();
    expect((await seen.of([A, C])).map((t) => t.packages)).toEqual([[A]]);
  });

  it('GIVEN a watch WHEN a package is purged with dpkg behind PackageKit\'s back THEN it emits', { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', B]);
    const packagekit = backend();
    const watch = packagekit.watch();
    const changed = firstValueFrom(watch.pipe(skip(1), take(1), timeout(60_000)));
    await firstValueFrom(watch.pipe(take(1)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await dpkgPurge(B);
    await expect(changed).resolves.toBeUndefined();
  });

  it('GIVEN a watch of a quiet dpkg WHEN PackageKit says UpdatesChanged THEN it emits', { timeout: SLOW }, async () => {
    // A status file nobody writes: only the D-Bus signal can make this watch emit.
    const dir = await tempDir();
    const watch = backend({ dpkgStatus: `${dir}/status` }).watch();
    const changed = firstValueFrom(watch.pipe(skip(1), take(1), timeout(60_000)));
    await firstValueFrom(watch.pipe(take(1)));
    const conn = await BusConnection.open(SYSTEM_BUS_ADDRESS);
    try {
      // What apt's DPkg::Post-Invoke hook of the packagekit package does after every dpkg run.
      await conn.call({ destination: PACKAGEKIT, path: PACKAGEKIT_PATH, interface: PACKAGEKIT, member: 'StateHasChanged', signature: 's', body: ['cache-update'] });
      await expect(changed).resolves.toBeUndefined();
    } finally {
      conn.close();
    }
  });

  it('GIVEN auto WHEN PackageKit answers on the system bus THEN the PackageKit backend', async () => {
    const chosen = await selectBackend('auto');
    expect(chosen.name).toBe('packagekit');
    await chosen.close();
  });
});

// What the pkg resource decides for `member` from what `backend` says, asked as the resource asks it.
async function verdictOf(backend: PkgBackend, member: PlanMember): Promise<Verdict> {
  const info = (await backend.query([member.name], { available: true, versions: new Map([[member.name, member.state]]) })).get(member.name)!;
  return verdict(member, info, backend.name);
}

// Applies what the pkg resource decides for `member` (which must be a change).
async function converge(backend: PkgBackend, member: PlanMember, flags: TransactionFlags): Promise<void> {
  const decided = await verdictOf(backend, member);
  if (decided.kind === 'ok' || decided.kind === 'error') throw new Error(`nothing to apply for ${member.name}: ${JSON.stringify(decided)}`);
  await backend.apply(transactionOf([member], [decided]), flags, never);
}

// Resolves once PackageKit has a transaction in its list (TransactionListChanged is not needed: polled).
async function waitForTransaction(): Promise<void> {
  const conn = await BusConnection.open(SYSTEM_BUS_ADDRESS);
  try {
    for (;;) {
      const [list] = await conn.call({ destination: PACKAGEKIT, path: PACKAGEKIT_PATH, interface: PACKAGEKIT, member: 'GetTransactionList' });
      if ((list as string[]).length > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    conn.close();
  }
}
