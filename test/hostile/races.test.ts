// Finding 3 of issue 10 (races): a resource whose checkApply failed keeps watching, so the next
// event on it tries again; and the pkg reinstall race (dpkg's journal read half-deleted).

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

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
