// Finding 9 and 11 of issue 10: the prefix is where root keeps its state, so a prefix that cannot
// be written is a clear error (not "internal error"), and one that someone else controls is refused
// before any write, planted symlinks included. Decoys live in temp dirs, never real system files.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MGMT_BIN, runMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const NOBODY = 65534;
const ONCE = ['--converged-timeout=0', '--no-watch', '--no-server'];

/** kvGraph writes a graph that sets one World key, so the run writes under <prefix>/world/strings. */
function kvGraph(dir: string): string {
  const yaml = join(dir, 'graph.yaml');
  writeFileSync(yaml, 'graph: kv\nresources:\n  kv:\n  - {name: planted-key, value: written-by-root}\n');
  return yaml;
}

/** expectRefused asserts a one-line error with exit 1, not a bug report. */
function expectRefused(result: { code: number | null; stderr: string }, reason: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).not.toMatch(/internal error/);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(reason);
}

describe('hostile: the prefix', () => {
  it('finding 9: a prefix on a read-only mount is a one-line error and exit 1, not exit 70', async () => {
    const dir = await tempDir();
    const readOnly = join(dir, 'ro');
    mkdirSync(readOnly);
    const yaml = kvGraph(dir);
    // A read-only bind mount in a private mount namespace: root ignores modes, not a read-only mount.
    const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"';
    for (const prefix of [readOnly, join(readOnly, 'new-prefix')]) {
      let stderr = '';
      let code = 0;
      try {
        execFileSync('unshare', ['-m', '--', 'sh', '-c', script, 'sh', readOnly, process.execPath, MGMT_BIN, 'run', '--yaml', yaml, '--prefix', prefix, ...ONCE], { stdio: 'pipe' });
      } catch (err) {
        const failed = err as { status: number; stderr: Buffer };
        code = failed.status;
        stderr = failed.stderr.toString();
      }
      expectRefused({ code, stderr }, /read-only file system/);
    }
  });

  it('finding 9: a file where the prefix\'s world directory belongs is a one-line error and exit 1', async () => {
    const dir = await tempDir();
    const prefix = join(dir, 'prefix');
    mkdirSync(prefix, { mode: 0o755 });
    writeFileSync(join(prefix, 'world'), 'not a directory\n');
    const result = await runMgmt(['run', '--yaml', kvGraph(dir), '--prefix', prefix, ...ONCE]);
    expectRefused(result, /world: it is not a directory/);
  });

  it('finding 11: a prefix owned by another user is refused, and the symlink that user planted at world/strings is never written through', async () => {
    const dir = await tempDir();
    const decoy = join(dir, 'decoy');
    mkdirSync(decoy, { mode: 0o755 });
    const prefix = join(dir, 'shared-prefix');
    mkdirSync(prefix, { mode: 0o755 });
    chownSync(prefix, NOBODY, NOBODY);
    // GIVEN nobody, who owns the prefix, plants world/strings -> the decoy
    chmodSync(dir, 0o755); // nobody must reach its prefix
    execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', 'sh', '-c', 'mkdir "$1/world" && ln -s "$2" "$1/world/strings"', 'sh', prefix, decoy]);
    // WHEN root runs a graph that sets a key
    const result = await runMgmt(['run', '--yaml', kvGraph(dir), '--prefix', prefix, ...ONCE]);
    // THEN the run is refused and nothing reached the decoy
    expectRefused(result, /owned by uid 65534/);
    expect(readdirSync(decoy)).toEqual([]);
  });

  it('finding 11: a prefix writable by others is refused before anything runs', async () => {
    const dir = await tempDir();
    const prefix = join(dir, 'open-prefix');
    mkdirSync(prefix);
    chmodSync(prefix, 0o777);
    const result = await runMgmt(['run', '--yaml', kvGraph(dir), '--prefix', prefix, ...ONCE]);
    expectRefused(result, /writable by others \(mode 0777\)/);
    expect(readdirSync(prefix)).toEqual([]);
  });

  it('finding 11: a symlink planted in place of the world directory, or of world/strings, in a root-owned prefix is refused, its target untouched', async () => {
    for (const planted of ['world', 'world/strings']) {
      const dir = await tempDir();
      const decoy = join(dir, 'decoy');
      mkdirSync(decoy, { mode: 0o755 });
      const prefix = join(dir, 'prefix');
      mkdirSync(join(prefix, 'world'), { recursive: true, mode: 0o755 });
      // GIVEN a link left from when the prefix was writable by others
      if (planted === 'world') rmdirSync(join(prefix, 'world'));
      symlinkSync(decoy, join(prefix, planted));
      const result = await runMgmt(['run', '--yaml', kvGraph(dir), '--prefix', prefix, ...ONCE]);
      expectRefused(result, new RegExp(`${planted}: it is a symbolic link`));
      expect(readdirSync(decoy), planted).toEqual([]);
    }
  });
});
