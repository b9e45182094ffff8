import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGraph } from '../../src/frontend/yaml-load.js';
import { REPO_ROOT, runMgmt, startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { useTempDirs } from '../helpers/tmp.js';

const EXAMPLES = join(REPO_ROOT, 'examples');
const tempDir = useTempDirs();

/** localCopy writes the example with its /tmp paths moved into `dir`, so tests never share paths. */
async function localCopy(example: string, dir: string, replacements: Record<string, string>): Promise<string> {
  let text = await readFile(join(EXAMPLES, example), 'utf8');
  for (const [from, to] of Object.entries(replacements)) text = text.split(from).join(to);
  const file = join(dir, example);
  await writeFile(file, text);
  return file;
}

const RUN_ONCE = ['--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];

describe('examples', () => {
  const files = readdirSync(EXAMPLES).filter((name) => name.endsWith('.yaml'));

  it('GIVEN the examples folder THEN it holds the seed demos', () => {
    expect(files).toEqual(expect.arrayContaining(['hello.yaml', 'parallel-chain.yaml', 'self-healing.yaml', 'notify.yaml', 'timer.yaml']));
  });

  it.each(files)('GIVEN examples/%s THEN it loads and compiles without warnings', async (name) => {
    const loaded = await loadGraph(join(EXAMPLES, name), { strict: true });
    expect(loaded.graph.vertices.size).toBeGreaterThan(0);
    expect(loaded.warnings).toEqual([]);
  });

  it('GIVEN hello.yaml WHEN run THEN the file is written and the run converges with exit 0', async () => {
    const dir = await tempDir();
    const target = join(dir, 'hello');
    const yaml = await localCopy('hello.yaml', dir, { '/tmp/mgmt-hello-world': target });
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(target, 'utf8')).toBe('hello world from mgmt\n');
  });

  it('GIVEN parallel-chain.yaml with short sleeps WHEN run THEN it converges with every exec applied', async () => {
    const dir = await tempDir();
    const yaml = await localCopy('parallel-chain.yaml', dir, { 'sleep 10': 'sleep 0.2' });
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.events.filter((e) => e.event === 'apply').map((e) => e.resource).sort()).toEqual([
      'exec[exec1]',
      'exec[exec2]',
      'exec[exec3]',
      'exec[exec4]',
    ]);
  });

  it('GIVEN self-healing.yaml running WHEN files are deleted, edited or created THEN each is repaired', async () => {
    const dir = await tempDir();
    const yaml = await localCopy('self-healing.yaml', dir, { '/tmp/mgmt/': `${dir}/` });
    const f2 = join(dir, 'f2');
    const f4 = join(dir, 'f4');
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await waitFor(() => existsSync(join(dir, 'f3')), 'f1-f3 to be written');
    expect(await readFile(join(dir, 'f1'), 'utf8')).toBe('i am f1\n');

    await rm(f2);
    await waitFor(() => existsSync(f2), 'f2 to be restored');
    await waitFor(() => agent.events.filter((e) => e.event === 'apply' && e.resource === 'file[file2]').length >= 2, 'the repair event');
    expect(await readFile(f2, 'utf8')).toBe('i am f2\n');

    await writeFile(f2, 'blah blah\n');
    await waitFor(() => readFileText(f2) === 'i am f2\n', 'f2 content to be repaired');

    await writeFile(f4, '');
    await waitFor(() => !existsSync(f4), 'f4 to be removed');

    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
  });

  it('GIVEN notify.yaml WHEN the config drifts THEN it is repaired and the reload runs again', async () => {
    const dir = await tempDir();
    const yaml = await localCopy('notify.yaml', dir, { '/tmp/mgmt-notify': dir });
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    const reloadLog = join(dir, 'reload.log');
    await waitFor(() => readFileText(reloadLog) === 'reloaded\n', 'the first reload');
    await writeFile(join(dir, 'app.conf'), 'junk\n');
    await waitFor(() => readFileText(reloadLog) === 'reloaded\nreloaded\n', 'the reload after the repair');
    expect(readFileText(join(dir, 'app.conf'))).toBe('listen = 8080\n');
    agent.child.kill('SIGTERM');
    await agent.exited;
  });

  it('GIVEN timer.yaml THEN the command runs again on each tick', async () => {
    const dir = await tempDir();
    const stamps = join(dir, 'timer.log');
    const yaml = await localCopy('timer.yaml', dir, { '/tmp/mgmt-timer.log': stamps, 'interval: 2': 'interval: 1' });
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await waitFor(() => (readFileText(stamps) ?? '').split('\n').length >= 3, 'two runs', 15_000);
    agent.child.kill('SIGTERM');
    await agent.exited;
  });
});

function readFileText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
