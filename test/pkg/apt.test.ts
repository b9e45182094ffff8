import { execFile } from 'node:child_process';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { firstValueFrom, skip, take, timeout } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AptBackend } from '../../src/pkg/apt.js';
import { aptHistoryMark, aptHistorySince, createAptRepo, shippedFile, shippedUnitFile, testPackage, useAptConfig, type AptRepo } from '../helpers/apt-repo.js';
import { useTempDirs } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;
const tempDir = useTempDirs();
const never = new AbortController().signal;

describe.skipIf(!isRoot)('AptBackend on a local repository', () => {
  let repo: AptRepo;
  let restoreAptConfig = (): void => {};
  const A = testPackage('apt-a');
  const B = testPackage('apt-b');
  const U = testPackage('apt-unit');
  const NOPE = testPackage('apt-nope');
  const backends: AptBackend[] = [];
  const backend = (options: ConstructorParameters<typeof AptBackend>[0] = {}): AptBackend => {
    const made = new AptBackend(options);
    backends.push(made);
    return made;
  };

  beforeAll(async () => {
    repo = await createAptRepo([{ name: A }, { name: A, version: '1.1' }, { name: B }, { name: U, unit: true }]);
    restoreAptConfig = useAptConfig(repo.aptConfig);
  });
  afterAll(async () => {
    restoreAptConfig();
    await repo?.close();
  });
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close()));
    await repo.purge();
  });

  it('GIVEN installed, installable and unknown names WHEN queried THEN one answer each, sources only when asked', async () => {
    await repo.aptGet(['install', '-y', `${A}=1.0`]);
    const apt = backend();
    const plain = await apt.query([A, B, NOPE]);
    expect([...plain.values()]).toEqual([
      { name: A, installed: '1.0' },
      { name: B, installed: undefined },
      { name: NOPE, installed: undefined },
    ]);
    const full = await apt.query([A, B, NOPE], { available: true });
    expect(full.get(A)).toEqual({ name: A, installed: '1.0', available: { candidate: '1.1', versions: ['1.1', '1.0'] } });
    expect(full.get(B)).toEqual({ name: B, installed: undefined, available: { candidate: '1.0', versions: ['1.0'] } });
    expect(full.get(NOPE)).toEqual({ name: NOPE, installed: undefined, available: { candidate: undefined, versions: [] } });
  });

  it('GIVEN an installed package WHEN its files are listed THEN dpkg says them, directories ending with /', async () => {
    await repo.aptGet(['install', '-y', U]);
    const files = (await backend().listFiles([U, B])).get(U);
    expect(files).toEqual(
      expect.arrayContaining(['/usr/', '/usr/share/mgmt-test/', shippedFile(U), '/usr/lib/systemd/system/', shippedUnitFile(U)]),
    );
    expect((await backend().listFiles([B])).get(B)).toBeUndefined();
  });

  it("GIVEN a package not installed WHEN its .deb is in apt's archive cache THEN the newest one's contents are its files", async () => {
    const archives = await tempDir();
    await copyFile(join(repo.dir, `${A}_1.0_all.deb`), join(archives, `${A}_1.0_all.deb`));
    await copyFile(join(repo.dir, `${U}_1.0_all.deb`), join(archives, `${U}_0.9_all.deb`));
    await copyFile(join(repo.dir, `${B}_1.0_all.deb`), join(archives, `${U}_1.0_all.deb`)); // the newest wins
    await writeFile(join(archives, 'lock'), '');
    await mkdir(join(archives, 'partial'));
    const files = await backend({ paths: { archivesDir: archives } }).listFiles([A, U, NOPE]);
    expect(files.get(A)).toEqual(['/usr/', '/usr/share/', '/usr/share/mgmt-test/', shippedFile(A)]);
    expect(files.get(U)).toEqual(['/usr/', '/usr/share/', '/usr/share/mgmt-test/', shippedFile(B)]);
    expect(files.get(NOPE)).toBeUndefined();
    await rm(archives, { recursive: true, force: true });
  });

  it('GIVEN installs, an exact version and removals THEN each transaction is one apt-get call', async () => {
    await repo.aptGet(['install', '-y', B]);
    const apt = backend();
    const mark = await aptHistoryMark();
    const report = await apt.apply({ install: [{ name: A, version: '1.0' }, { name: U }], upgrade: [], remove: [B] }, {}, never);
    expect(report.summary).toMatch(new RegExp(`^apt-get install .* ${A}=1.0 ${U} ${B}-$`));
    expect(await repo.installedVersion(A)).toBe('1.0');
    expect(await repo.installedVersion(U)).toBe('1.0');
    expect(await repo.installedVersion(B)).toBeUndefined();
    await apt.apply({ install: [], upgrade: [A], remove: [] }, {}, never);
    expect(await repo.installedVersion(A)).toBe('1.1');
    expect(await aptHistorySince(mark, [A, B, U])).toHaveLength(2);
  });

  it('GIVEN a downgrade WHEN not allowed THEN apt-get refuses with its own reason; allowed THEN done', async () => {
    await repo.aptGet(['install', '-y', A]);
    const apt = backend();
    await expect(apt.apply({ install: [{ name: A, version: '1.0' }], upgrade: [], remove: [] }, {}, never)).rejects.toThrow(/exited with code 100: E: .*downgrade/i);
    await apt.apply({ install: [{ name: A, version: '1.0' }], upgrade: [], remove: [] }, { allowDowngrade: true }, never);
    expect(await repo.installedVersion(A)).toBe('1.0');
  });

  it('GIVEN an unknown name in a transaction THEN it fails naming it', async () => {
    await expect(backend().apply({ install: [{ name: NOPE }], upgrade: [], remove: [] }, {}, never)).rejects.toThrow(`E: Unable to locate package ${NOPE}`);
  });

  it('GIVEN two transactions at once THEN they run one after the other, both succeeding', async () => {
    const apt = backend();
    const mark = await aptHistoryMark();
    await Promise.all([
      apt.apply({ install: [{ name: A }], upgrade: [], remove: [] }, {}, never),
      backend().apply({ install: [{ name: B }], upgrade: [], remove: [] }, {}, never),
    ]);
    expect(await aptHistorySince(mark, [A, B, U])).toHaveLength(2);
    expect(await repo.installedVersion(A)).toBe('1.1');
    expect(await repo.installedVersion(B)).toBe('1.0');
  });

  it('GIVEN a transaction aborted while it runs THEN apt-get is stopped and waited for, dpkg is left consistent, and the next one runs', async () => {
    const apt = backend();
    const controller = new AbortController();
    const mark = await aptHistoryMark();
    const first = apt.apply({ install: [{ name: A }], upgrade: [], remove: [] }, {}, controller.signal);
    // Abort once apt-get is at work: it has begun its entry in the history log.
    while ((await aptHistoryMark()) === mark) await new Promise((resolve) => setTimeout(resolve, 2));
    controller.abort(new Error('stop'));
    await expect(first).rejects.toThrow('stop');
    // Settled means stopped: no apt-get of it runs on, and the package is wholly in or wholly out.
    const { stdout } = await promisify(execFile)('ps', ['-eo', 'args=']);
    expect(stdout.split('\n').filter((line) => line.includes(A))).toEqual([]);
    expect([undefined, '1.1']).toContain(await repo.installedVersion(A));
    expect((await promisify(execFile)('dpkg', ['--audit'])).stdout).toBe('');
    await apt.apply({ install: [{ name: B }], upgrade: [], remove: [] }, {}, never);
    expect(await repo.installedVersion(B)).toBe('1.0');
  });

  it('GIVEN a watch WHEN a package is installed behind its back THEN it emits', async () => {
    const apt = backend();
    const changed = firstValueFrom(apt.watch().pipe(skip(1), take(1), timeout(20_000)));
    await firstValueFrom(apt.watch().pipe(take(1)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await repo.aptGet(['install', '-y', B]);
    await expect(changed).resolves.toBeUndefined();
  });
});
