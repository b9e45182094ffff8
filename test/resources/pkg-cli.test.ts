import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/cli/check.js';
import type { LogEvent } from '../../src/log/events.js';
import { aptHistoryMark, aptHistorySince, createAptRepo, shippedFile, testPackage, type AptRepo } from '../helpers/apt-repo.js';
import { runMgmt, startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;
const tempDir = useTempDirs();
const RUN_ONCE = ['--pkg-backend', 'apt', '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];

const A = testPackage('cli-a');
const B = testPackage('cli-b');
const C = testPackage('cli-c');
const U = testPackage('cli-unit');
const NOPE = testPackage('cli-nope');

/** yamlOf writes a graph of `pkg` resources (name, then extra YAML lines) and files written into `dir`. */
async function yamlOf(dir: string, pkgs: readonly (string | [string, ...string[]])[], files: readonly string[] = [], extra: readonly string[] = []): Promise<string> {
  const lines = ['graph: pkg-e2e', 'resources:', '  pkg:'];
  for (const entry of pkgs) {
    const [name, ...more] = typeof entry === 'string' ? [entry] : entry;
    lines.push(`  - name: ${name}`, ...more.map((line) => `    ${line}`));
  }
  if (files.length > 0) lines.push('  file:', ...files.flatMap((name) => [`  - name: ${name}`, `    path: "${join(dir, name)}"`, '    content: "hi\\n"']));
  lines.push(...extra);
  const yaml = join(dir, 'pkg.yaml');
  await writeFile(yaml, `${lines.join('\n')}\n`);
  return yaml;
}

const ofEvent = (events: readonly LogEvent[], event: string): LogEvent[] => events.filter((e) => e.event === event);

describe.skipIf(!isRoot)('mgmt with pkg resources on a local apt repository', () => {
  let repo: AptRepo;
  beforeAll(async () => {
    repo = await createAptRepo([{ name: A }, { name: B }, { name: C }, { name: U, unit: true }]);
  });
  afterAll(async () => {
    await repo?.close();
  });
  afterEach(async () => {
    await repo.purge();
  });

  it('GIVEN three packages and a file WHEN run with --pkg-backend apt THEN one transaction installs them and it converges with exit 0; a second run changes nothing (#988)', async () => {
    const dir = await tempDir();
    const yaml = await yamlOf(dir, [A, B, C], ['f1']);
    const mark = await aptHistoryMark();
    const first = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: repo.env });
    expect(first.code, first.stderr).toBe(0);
    expect(await aptHistorySince(mark, [A, B, C])).toEqual([expect.stringMatching(new RegExp(`^apt-get install .* ${A} ${B} ${C}$`))]);
    expect(first.events.filter((e) => e.transaction !== undefined)).toHaveLength(1);
    expect(ofEvent(first.events, 'apply').map((e) => e.resource).sort()).toEqual([`file[f1]`, `pkg[${A}]`, `pkg[${B}]`, `pkg[${C}]`]);
    expect(ofEvent(first.events, 'apply').find((e) => e.resource === `pkg[${A}]`)?.group).toBe(`pkg[autogroup:(${A},${B},${C})]`);
    for (const name of [A, B, C]) expect(await repo.installedVersion(name)).toBe('1.0');

    const second = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: repo.env });
    expect(second.code, second.stderr).toBe(0);
    expect(ofEvent(second.events, 'apply')).toEqual([]);
    expect(ofEvent(second.events, 'check').filter((e) => e.ok === true).map((e) => e.resource)).toEqual(expect.arrayContaining([`pkg[${A}]`, `pkg[${B}]`, `pkg[${C}]`]));
    expect(await aptHistorySince(mark, [A, B, C])).toHaveLength(1);
  });

  it('GIVEN an unknown package among others WHEN run THEN only it fails, with one line naming it; the rest converge', async () => {
    const dir = await tempDir();
    const yaml = await yamlOf(dir, [A, [NOPE, 'meta:', '  autogroup: false']], ['f1']);
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: repo.env });
    expect(result.code).toBe(1);
    const errors = ofEvent(result.events, 'error');
    // It may fail more than once: the others' install changes dpkg's database, an event on it too.
    expect([...new Set(errors.map((e) => e.resource))]).toEqual([`pkg[${NOPE}]`]);
    expect(errors[0]!.message).toBe(`package ${NOPE} is not known to apt: it is not installed and no configured source offers it (check the name, or refresh the package lists: apt-get update)`);
    expect(ofEvent(result.events, 'exit')[0]).toMatchObject({ code: 1, failed: [`pkg[${NOPE}]`] });
    expect(await repo.installedVersion(A)).toBe('1.0');
    expect(existsSync(join(dir, 'f1'))).toBe(true);
    // Its automatic edges were skipped with a warning, never the graph's (#922).
    expect(result.stderr).toContain(`pkg[${NOPE}]: automatic edges skipped: package ${NOPE} is not known to apt, so its files are unknown`);
  });

  it('GIVEN a running agent WHEN its package is purged behind its back THEN the watch sees it and it is installed again', async () => {
    const dir = await tempDir();
    const yaml = await yamlOf(dir, [A]);
    const agent = startMgmt(['run', '--yaml', yaml, '--pkg-backend', 'apt', '--tmp-prefix', '--log-format', 'json'], { env: repo.env });
    const applies = (): LogEvent[] => agent.events.filter((e) => e.event === 'apply' && e.resource === `pkg[${A}]`);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === `pkg[${A}]`, 'the first install', 30_000);
    expect(await repo.installedVersion(A)).toBe('1.0');
    await repo.purge([A]);
    await waitFor(() => applies().length >= 2, 'the reinstall', 30_000);
    expect(await repo.installedVersion(A)).toBe('1.0');
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
  });

  it('GIVEN an installed package shipping a file and a unit WHEN checked THEN pkg -> file and pkg -> svc edges are in the JSON', async () => {
    await repo.aptGet(['install', '-y', U]);
    const dir = await tempDir();
    const yaml = await yamlOf(
      dir,
      [U, [NOPE, 'meta:', '  autogroup: false']],
      [],
      ['  file:', '  - name: shipped', `    path: "${shippedFile(U)}"`, '    content: "mine\\n"', '  svc:', `  - name: ${U}`, '    state: stopped'],
    );
    // check has no --pkg-backend: with no system bus to find PackageKit on, auto is apt, which reads the local repository.
    const result = await runMgmt(['check', '--yaml', yaml, '--format', 'json'], { env: { ...repo.env, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/mgmt-test-bus' } });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.edges.map((e) => `${e.from} -> ${e.to}`)).toEqual([`pkg[${U}] -> file[shipped]`, `pkg[${U}] -> svc[${U}]`]);
    expect(report.warnings).toEqual([expect.stringContaining(`pkg[${NOPE}]: automatic edges skipped: package ${NOPE} is not known to apt`)]);
  });
});
