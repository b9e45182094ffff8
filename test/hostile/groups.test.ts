// Finding 11 of issue 10 (grouped resources): a group runs with one meta, so members whose meta
// differ do not group (noop is a promise); and a timeout kills the package transaction it cut.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
    let repo: AptRepo;
    beforeAll(async () => {
      repo = await createAptRepo([{ name: A }, { name: B }, { name: NOOP }]);
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
  });
});
