import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';
import { createAptRepo, testPackage, type AptRepo } from '../helpers/apt-repo.js';
import { runMgmt, startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { dpkgPurge, skipPackageKitReason, startPackageKit, type TestPackageKit } from '../helpers/packagekit.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const RUN_ONCE = ['--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];
// What a run that failed said: its stderr and, with the JSON log, its error events.
const failureOf = (result: { stderr: string; events: readonly Record<string, unknown>[] }): string =>
  [result.stderr, ...result.events.filter((e) => e.level === 'error').map((e) => JSON.stringify(e))].join('\n');
// A real PackageKit on a 2-core machine shared with other tests: a run takes seconds.
const SLOW = 180_000;
const RUN_TIMEOUT = 150_000;

const A = testPackage('pkcli-a');
const B = testPackage('pkcli-b');
const C = testPackage('pkcli-c');
const LIB = testPackage('pkcli-lib');
const APP = testPackage('pkcli-app');
const NOPE = testPackage('pkcli-nope');
// The local repository is not the distribution's: PackageKit's `supported` filter would refuse it.
const LOCAL = 'allowunsupported: true';

/** yamlOf writes a graph of `pkg` resources (name, then extra YAML lines) and files written into `dir`. */
async function yamlOf(dir: string, pkgs: readonly (string | [string, ...string[]])[], files: readonly string[] = []): Promise<string> {
  const lines = ['graph: pkg-packagekit-e2e', 'resources:', '  pkg:'];
  for (const entry of pkgs) {
    const [name, ...more] = typeof entry === 'string' ? [entry, LOCAL] : entry;
    lines.push(`  - name: ${name}`, ...more.map((line) => `    ${line}`));
  }
  if (files.length > 0) lines.push('  file:', ...files.flatMap((name) => [`  - name: ${name}`, `    path: "${join(dir, name)}"`, '    content: "hi\\n"']));
  const yaml = join(dir, 'pkg.yaml');
  await writeFile(yaml, `${lines.join('\n')}\n`);
  return yaml;
}

const ofEvent = (events: readonly LogEvent[], event: string): LogEvent[] => events.filter((e) => e.event === event);
const transactions = (events: readonly LogEvent[]): LogEvent[] => events.filter((e) => e.transaction !== undefined);
const backendOf = (e: LogEvent): unknown => (e.transaction as { backend?: unknown }).backend;

describe.skipIf(skipPackageKitReason !== undefined)('mgmt with pkg resources on PackageKit (--pkg-backend packagekit)', () => {
  let repo: AptRepo;
  let pk: TestPackageKit;
  const run = (yaml: string, backend = 'packagekit') => runMgmt(['run', '--yaml', yaml, '--pkg-backend', backend, ...RUN_ONCE], { env: pk.env, timeoutMs: RUN_TIMEOUT });

  beforeAll(async () => {
    repo = await createAptRepo([{ name: A }, { name: A, version: '1.1' }, { name: B }, { name: C }, { name: LIB }, { name: APP, depends: LIB }]);
    pk = await startPackageKit(repo);
  }, SLOW);
  afterAll(async () => {
    await pk?.close();
    await repo?.close();
  }, SLOW);
  afterEach(async () => {
    await repo.purge();
  }, SLOW);

  it('GIVEN three packages and a file THEN one InstallPackages transaction installs them, exit 0; a second run finds them installed and changes nothing (#988)', { timeout: SLOW }, async () => {
    const dir = await tempDir();
    const yaml = await yamlOf(dir, [A, B, C], ['f1']);
    const seen = await pk.watchTransactions();
    const first = await run(yaml);
    expect(first.code, failureOf(first)).toBe(0);
    expect(await seen.of([A, B, C])).toEqual([{ role: 'install-packages', succeeded: true, packages: [A, B, C] }]);
    expect(transactions(first.events)).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^PackageKit InstallPackages \[only-trusted\] /), transaction: expect.objectContaining({ backend: 'packagekit' }) }),
    ]);
    expect(ofEvent(first.events, 'apply').find((e) => e.resource === `pkg[${A}]`)?.group).toBe(`pkg[autogroup:(${A},${B},${C})]`);
    for (const [name, version] of [[A, '1.1'], [B, '1.0'], [C, '1.0']] as const) expect(await repo.installedVersion(name)).toBe(version);
    expect(existsSync(join(dir, 'f1'))).toBe(true);

    const second = await run(yaml);
    expect(second.code, failureOf(second)).toBe(0);
    expect(ofEvent(second.events, 'apply')).toEqual([]);
    expect(ofEvent(second.events, 'check').filter((e) => e.ok === true).map((e) => e.resource)).toEqual(expect.arrayContaining([`pkg[${A}]`, `pkg[${B}]`, `pkg[${C}]`]));
    expect(await seen.of([A, B, C])).toHaveLength(1);
  });

  it('GIVEN installed packages WHEN uninstalled THEN one RemovePackages removes them', { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', A, B]);
    const dir = await tempDir();
    const seen = await pk.watchTransactions();
    const result = await run(await yamlOf(dir, [[A, LOCAL, 'state: uninstalled'], [B, LOCAL, 'state: uninstalled']]));
    expect(result.code, failureOf(result)).toBe(0);
    expect(await seen.of([A, B])).toEqual([{ role: 'remove-packages', succeeded: true, packages: [A, B] }]);
    expect(await repo.installedVersion(A)).toBeUndefined();
    expect(await repo.installedVersion(B)).toBeUndefined();
  });

  it('GIVEN a package another installed package depends on WHEN uninstalled THEN the dependant goes too and it converges, on PackageKit as on apt', { timeout: SLOW }, async () => {
    const dir = await tempDir();
    const yaml = await yamlOf(dir, [[LIB, LOCAL, 'state: uninstalled']]);
    for (const backend of ['packagekit', 'apt']) {
      await repo.aptGet(['install', '-y', APP]);
      expect(await repo.installedVersion(LIB)).toBe('1.0');
      const result = await run(yaml, backend);
      expect(result.code, failureOf(result)).toBe(0);
      expect(transactions(result.events).map(backendOf)).toEqual([backend]);
      expect(await repo.installedVersion(LIB)).toBeUndefined();
      expect(await repo.installedVersion(APP)).toBeUndefined();
    }
  });

  it('GIVEN an older version installed WHEN newest THEN UpdatePackages takes it to the candidate', { timeout: SLOW }, async () => {
    await repo.aptGet(['install', '-y', `${A}=1.0`]);
    const dir = await tempDir();
    const seen = await pk.watchTransactions();
    const result = await run(await yamlOf(dir, [[A, LOCAL, 'state: newest']]));
    expect(result.code, failureOf(result)).toBe(0);
    expect(await seen.of([A])).toEqual([{ role: 'update-packages', succeeded: true, packages: [A] }]);
    expect(await repo.installedVersion(A)).toBe('1.1');
  });

  it('GIVEN an exact version older than the candidate WHEN run THEN PackageKit installs that version and a second run changes nothing', { timeout: SLOW }, async () => {
    const dir = await tempDir();
    const yaml = await yamlOf(dir, [[A, LOCAL, 'state: "1.0"']]);
    const seen = await pk.watchTransactions();
    const first = await run(yaml);
    expect(first.code, failureOf(first)).toBe(0);
    expect(await seen.of([A])).toEqual([{ role: 'install-packages', succeeded: true, packages: [A] }]);
    expect(await repo.installedVersion(A)).toBe('1.0');
    const second = await run(yaml);
    expect(second.code, failureOf(second)).toBe(0);
    expect(transactions(second.events)).toEqual([]);
  });

  it('GIVEN an unknown package among others THEN only it fails, with one line naming it; the rest converge', { timeout: SLOW }, async () => {
    const dir = await tempDir();
    const result = await run(await yamlOf(dir, [A, [NOPE, LOCAL, 'meta:', '  autogroup: false']], ['f1']));
    expect(result.code).toBe(1);
    const errors = ofEvent(result.events, 'error');
    // It may fail more than once: the others' install changes dpkg's database, an event on it too.
    expect([...new Set(errors.map((e) => e.resource))]).toEqual([`pkg[${NOPE}]`]);
    expect(errors[0]!.message).toBe(`package ${NOPE} is not known to packagekit: it is not installed and no configured source offers it (check the name, or refresh the package lists)`);
    expect(ofEvent(result.events, 'exit')[0]).toMatchObject({ code: 1, failed: [`pkg[${NOPE}]`] });
    expect(await repo.installedVersion(A)).toBe('1.1');
    expect(existsSync(join(dir, 'f1'))).toBe(true);
    expect(result.stderr).toContain(`pkg[${NOPE}]: automatic edges skipped: package ${NOPE} is not known to packagekit, so its files are unknown`);
  });

  it('GIVEN a package from outside the distribution without allowunsupported THEN that resource fails naming the flag', { timeout: SLOW }, async () => {
    const dir = await tempDir();
    const result = await run(await yamlOf(dir, [[B, 'state: installed']]));
    expect(result.code).toBe(1);
    // Once or more: PackageKit's own signals after the refusal are events on it.
    const errors = ofEvent(result.events, 'error');
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect([error.resource, error.message]).toEqual([`pkg[${B}]`, expect.stringContaining(`package ${B} 1.0 is not supported by the distribution (PackageKit's supported filter, local): set allowunsupported: true`)]);
    }
    expect(await repo.installedVersion(B)).toBeUndefined();
  });

  it('GIVEN a running agent WHEN its package is purged with dpkg behind its back THEN the watch sees it and PackageKit installs it again', { timeout: SLOW }, async () => {
    const dir = await tempDir();
    const yaml = await yamlOf(dir, [A]);
    const agent = startMgmt(['run', '--yaml', yaml, '--pkg-backend', 'packagekit', '--tmp-prefix', '--log-format', 'json'], { env: pk.env });
    const applies = (): LogEvent[] => agent.events.filter((e) => e.event === 'apply' && e.resource === `pkg[${A}]`);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === `pkg[${A}]`, 'the first install', 120_000);
    expect(await repo.installedVersion(A)).toBe('1.1');
    // No apt hook tells PackageKit: the agent sees dpkg's status file change.
    await dpkgPurge(A);
    expect(await repo.installedVersion(A)).toBeUndefined();
    await waitFor(() => applies().length >= 2, 'the reinstall', 120_000);
    expect(await repo.installedVersion(A)).toBe('1.1');
    expect(transactions(agent.events).map(backendOf)).toEqual(['packagekit', 'packagekit']);
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
  });

  it('GIVEN --pkg-backend auto WHEN PackageKit answers on the system bus THEN PackageKit installs', { timeout: SLOW }, async () => {
    const dir = await tempDir();
    const seen = await pk.watchTransactions();
    const result = await run(await yamlOf(dir, [B]), 'auto');
    expect(result.code, failureOf(result)).toBe(0);
    expect(transactions(result.events).map(backendOf)).toEqual(['packagekit']);
    expect(await seen.of([B])).toEqual([{ role: 'install-packages', succeeded: true, packages: [B] }]);
    expect(await repo.installedVersion(B)).toBe('1.0');
  });
});
