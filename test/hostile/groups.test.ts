// Finding 11 of issue 10 (grouped resources): a group runs with one meta, so members whose meta
// differ do not group (noop is a promise); and a timeout kills the package transaction it cut.

import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/cli/check.js';
import { createAptRepo, testPackage, type AptRepo } from '../helpers/apt-repo.js';
import { runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;
const tempDir = useTempDirs();
const RUN_ONCE = ['--pkg-backend', 'apt', '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];

/** pkgGraph writes a graph of pkg resources, each a name and its extra YAML lines. */
async function pkgGraph(entries: readonly (readonly [string, ...string[]])[]): Promise<string> {
  const lines = ['graph: groups', 'resources:', '  pkg:'];
  for (const [name, ...more] of entries) lines.push(`  - name: ${name}`, ...more.map((line) => `    ${line}`));
  const yaml = join(await tempDir(), 'groups.yaml');
  await writeFile(yaml, `${lines.join('\n')}\n`);
  return yaml;
}

describe('finding 11: grouped members keep their own meta', () => {
  it('finding 11: pkg resources whose noop, poll, timeout or retry differ are separate vertices; equal meta still groups', async () => {
    const yaml = await pkgGraph([
      ['g-plain-a'],
      ['g-plain-b'],
      ['g-noop', 'meta:', '  noop: true'],
      ['g-poll', 'meta:', '  poll: 30'],
      ['g-timeout', 'meta:', '  timeout: 5000'],
      ['g-retry', 'meta:', '  retry: 3'],
      ['g-retry-too', 'meta:', '  retry: 3'],
      ['g-sema', 'meta:', '  sema: ["lock:1"]'],
    ]);
    const result = await runMgmt(['check', '--yaml', yaml, '--format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as CheckReport;
    expect(report.vertices.map((v) => v.members).sort()).toEqual(
      [
        // Semaphores may differ: the group holds them all.
        ['pkg[g-plain-a]', 'pkg[g-plain-b]', 'pkg[g-sema]'],
        ['pkg[g-noop]'],
        ['pkg[g-poll]'],
        ['pkg[g-retry-too]', 'pkg[g-retry]'].sort(),
        ['pkg[g-timeout]'],
      ].sort(),
    );
  });

  describe.skipIf(!isRoot)('on a local apt repository', () => {
    const A = testPackage('grp-a');
    const B = testPackage('grp-b');
    const NOOP = testPackage('grp-noop');
    // Its preinst sleeps far past the timeouts below: the transaction is cut in dpkg's hands.
    const SLOW = testPackage('grp-slow');
    let repo: AptRepo;
    beforeAll(async () => {
      repo = await createAptRepo([{ name: A }, { name: B }, { name: NOOP }, { name: SLOW, preinst: 'sleep 30' }]);
    }, 120_000);
    afterAll(async () => {
      await repo?.close();
    }, 120_000);
    afterEach(async () => {
      await repo.purge();
    }, 120_000);

    it('finding 11: a pkg with meta noop next to two others is only reported, never installed; the others are installed in one transaction', async () => {
      const yaml = await pkgGraph([[A], [B], [NOOP, 'meta:', '  noop: true']]);
      const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: repo.env, timeoutMs: 120_000 });
      expect(result.code, result.stdout).toBe(0);
      expect(await repo.installedVersion(NOOP)).toBeUndefined();
      expect(await repo.installedVersion(A)).toBe('1.0');
      expect(await repo.installedVersion(B)).toBe('1.0');
      expect(result.events.find((e) => e.event === 'check' && e.resource === `pkg[${NOOP}]`)).toMatchObject({ ok: false, noop: true });
      expect(result.events.filter((e) => e.transaction !== undefined)).toHaveLength(1);
    }, 180_000);

    it('finding 11: a timeout on a grouped pkg stops apt-get and dpkg before the one-shot run exits: nothing of them runs on, the slow package is not installed, dpkg is left consistent', async () => {
      const yaml = await pkgGraph([
        [A, 'meta:', '  timeout: 4000'],
        [SLOW, 'meta:', '  timeout: 4000'],
      ]);
      const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: repo.env, timeoutMs: 120_000 });
      expect(result.code, result.stdout).toBe(1);
      expect(result.events.find((e) => e.event === 'error')).toMatchObject({ resource: `pkg[autogroup:(${A},${SLOW})]`, message: 'timeout after 4000 ms' });
      // Nothing the transaction started outlives the agent: no apt-get, no dpkg, no preinst still sleeping.
      expect(await processesNaming(SLOW)).toEqual([]);
      expect(await repo.installedVersion(SLOW)).toBeUndefined();
      // dpkg unwound the package itself: no journal left behind ("dpkg was interrupted"), nothing half-installed.
      expect((await readdir('/var/lib/dpkg/updates')).filter((file) => /^\d+$/.test(file))).toEqual([]);
      expect(await dpkgAudit()).toBe('');
    }, 180_000);
  });
});

/** processesNaming lists the command lines of running processes that mention `word`. */
async function processesNaming(word: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ps', ['-eo', 'args=']);
  return stdout.split('\n').filter((line) => line.includes(word));
}

/**
 * dpkgAudit is what `dpkg --audit` finds wrong with dpkg's database (empty when nothing). While
 * another test file's transaction holds dpkg's lock, its packages are half-installed on purpose
 * (dpkg says so): the audit is read again once that lock is free (up to a minute).
 */
async function dpkgAudit(): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { stdout } = await promisify(execFile)('dpkg', ['--audit']).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? 'dpkg --audit failed' }));
    if (!stdout.includes('Another process has locked the database') || Date.now() > deadline) return stdout.trim();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
