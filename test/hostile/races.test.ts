// Finding 3 of issue 10 (races): a resource whose checkApply failed keeps watching, so the next
// event on it tries again; and the pkg reinstall race (dpkg's journal read half-deleted).

import { execFile } from 'node:child_process';
import { mkdir, open, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';
import { AptBackend } from '../../src/pkg/apt.js';
import { createAptRepo, testPackage, type AptRepo } from '../helpers/apt-repo.js';
import { startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();
const isRoot = process.getuid?.() === 0;

/** stanza is one package's entry in a dpkg status file or journal entry. */
const stanza = (name: string, status: string): string => `Package: ${name}\nStatus: ${status}\nArchitecture: all\nVersion: 1.0\n\n`;

describe('finding 3: a failed resource keeps watching', () => {
  it('finding 3: a file that failed (its parent was a regular file) is repaired by the next event with retry 0, and the run then exits 0', async () => {
    // GIVEN a managed file whose parent directory is, for now, a regular file: every write fails
    const dir = await tempDir();
    const parent = join(dir, 'blocker');
    await writeFile(parent, 'not a directory\n');
    const yaml = join(dir, 'g.yaml');
    await writeFile(yaml, ['graph: races', 'resources:', '  file:', '  - name: f', `    path: "${join(parent, 'f')}"`, '    content: "hi\\n"', ''].join('\n'));
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    const failed = await agent.waitForEvent((e) => e.event === 'error' && e.resource === 'file[f]', 'the first attempt to fail', 30_000);
    expect(failed).toMatchObject({ phase: 'checkApply' });

    // WHEN the operator fixes the parent (an event on the watched path)
    await rm(parent);
    await mkdir(parent);

    // THEN the file is written without any retry meta, and the failure no longer counts
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'file[f]', 'the repair after the event', 30_000);
    expect(await readFile(join(parent, 'f'), 'utf8')).toBe('hi\n');
    agent.child.kill('SIGTERM');
    const result = await agent.exited;
    expect(result.code, result.stderr).toBe(0);
  });
});

describe('finding 3: the pkg reinstall race (a check in flight when dpkg checkpoints)', () => {
  it('finding 3: a read of dpkg\'s database that overlaps a checkpoint (new status file in place, journal deleted while it is read) is made again, so a removed package is not installed', async () => {
    // GIVEN dpkg's database mid-checkpoint after `dpkg -r pkg`: the new status file (pkg gone) is
    // in place and the journal of the run still lists 0000 (pkg wanted out, still installed) and
    // 0001 (config-files). Both entries are FIFOs: the read blocks in them until the test lets it go.
    const dir = await tempDir();
    await mkdir(join(dir, 'updates'));
    await writeFile(join(dir, 'status.new'), stanza('other', 'install ok installed'));
    await rename(join(dir, 'status.new'), join(dir, 'status'));
    const first = join(dir, 'updates', '0000');
    const last = join(dir, 'updates', '0001');
    await promisify(execFile)('mkfifo', [first, last]);
    const backend = new AptBackend({ paths: { dpkgDir: dir } });

    // WHEN a check reads the database: it has listed both entries and opened them...
    const checked = backend.query(['pkg']);
    const [firstWriter, lastWriter] = await Promise.all([open(first, 'w'), open(last, 'w')]);
    // ...gets the first entry whole, and dpkg deletes the journal before the last one is read
    await firstWriter.writeFile(stanza('pkg', 'deinstall ok installed'));
    await firstWriter.close();
    await unlink(first);
    await unlink(last);
    await lastWriter.close();

    // THEN the check does not take the torn read: the package is not installed
    expect((await checked).get('pkg')?.installed).toBeUndefined();
    await backend.close();
  });

  describe.skipIf(!isRoot)('on a local apt repository', () => {
    const NAMES = ['a', 'b', 'c'].map((role) => testPackage(`race-${role}`));
    let repo: AptRepo;
    beforeAll(async () => {
      repo = await createAptRepo(NAMES.map((name) => ({ name })));
    }, 120_000);
    afterAll(async () => {
      await repo?.close();
    }, 120_000);

    it('finding 3: a running agent reinstalls one of three grouped packages removed by hand with dpkg -r', async () => {
      const dir = await tempDir();
      const yaml = join(dir, 'pkg.yaml');
      await writeFile(yaml, ['graph: race', 'resources:', '  pkg:', ...NAMES.map((name) => `  - name: ${name}`), ''].join('\n'));
      const agent = startMgmt(['run', '--yaml', yaml, '--pkg-backend', 'apt', '--tmp-prefix', '--log-format', 'json'], { env: repo.env });
      const applies = (): LogEvent[] => agent.events.filter((e) => e.event === 'apply' && e.resource === `pkg[${NAMES[1]}]`);
      await agent.waitForEvent((e) => e.event === 'apply' && e.resource === `pkg[${NAMES[1]}]`, 'the first install', 60_000);
      expect(await repo.installedVersion(NAMES[1]!)).toBe('1.0');
      await dpkgRemove(NAMES[1]!);
      await waitFor(() => applies().length === 2, 'the reinstall', 60_000);
      expect(await repo.installedVersion(NAMES[1]!)).toBe('1.0');
      agent.child.kill('SIGTERM');
      expect((await agent.exited).code).toBe(0);
    }, 180_000);
  });
});

/** dpkgRemove runs `dpkg -r name` as an operator would, waiting its turn if another test holds dpkg's lock. */
async function dpkgRemove(name: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await promisify(execFile)('dpkg', ['-r', name]);
      return;
    } catch (err) {
      if (tries > 240 || !/lock/i.test(String((err as { stderr?: string }).stderr))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
