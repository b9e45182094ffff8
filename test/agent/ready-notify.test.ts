// What the agent tells systemd when it runs as a Type=notify service (src/agent/ready-notify.ts).
// The real systemd-notify and a real manager are in test/cli/service-systemd.test.ts; here a
// stand-in systemd-notify on PATH records what the agent asks it to send and when, and a missing
// one shows that it is never fatal.

import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { firstPassDone } from '../../src/agent/ready-notify.js';
import { runMgmt, startMgmt } from '../helpers/cli.js';
import { useTempDirs } from '../helpers/tmp.js';

const RUN_ONCE = ['--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];

/** graphWritingEnv is a graph whose one command sleeps, then writes the NOTIFY_SOCKET it sees into `done`. */
function graphWritingEnv(done: string): string {
  return `graph: g\nresources:\n  exec:\n  - name: e\n    cmd: sleep 0.3; echo "\${NOTIFY_SOCKET-unset}" > ${done}\n    shell: /bin/sh\n`;
}

describe('the agent under systemd (NOTIFY_SOCKET set)', () => {
  const tempDir = useTempDirs();

  it('GIVEN systemd-notify WHEN the first pass is done THEN READY=1 goes for the agent\'s pid, STOPPING=1 at the exit, and no command sees NOTIFY_SOCKET', async () => {
    const dir = await tempDir();
    const done = join(dir, 'done');
    const log = join(dir, 'notify.log');
    const notify = join(dir, 'systemd-notify');
    // Records its arguments, its NOTIFY_SOCKET, and whether the graph's command had finished.
    await writeFile(notify, `#!/bin/sh\nif [ -e ${done} ]; then pass=after; else pass=before; fi\necho "$NOTIFY_SOCKET $* $pass" >> ${log}\n`);
    await chmod(notify, 0o755);
    const yaml = join(dir, 'graph.yaml');
    await writeFile(yaml, graphWritingEnv(done));

    const agent = startMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: { NOTIFY_SOCKET: '/run/test/notify', PATH: `${dir}:/usr/bin:/bin` } });
    const result = await agent.exited;
    expect(result.code).toBe(0);
    expect(await readFile(done, 'utf8')).toBe('unset\n');
    // Each message is its own process: they may finish in either order.
    let lines: string[] = [];
    for (let i = 0; i < 200 && lines.length < 2; i++) {
      lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const pid = agent.child.pid!;
    expect(lines.sort()).toEqual([`/run/test/notify --pid=${pid} READY=1 after`, `/run/test/notify --pid=${pid} STOPPING=1 after`]);
    expect(result.events.filter((event) => event.event === 'warning')).toEqual([]);
  });

  it('GIVEN no systemd-notify on PATH THEN the run warns once and goes on as usual', async () => {
    const dir = await tempDir();
    const done = join(dir, 'done');
    const yaml = join(dir, 'graph.yaml');
    await writeFile(yaml, graphWritingEnv(done));

    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: { NOTIFY_SOCKET: '/run/test/notify', PATH: dir } });
    expect(result.code).toBe(0);
    expect(await readFile(done, 'utf8')).toBe('unset\n');
    const warnings = result.events.filter((event) => event.event === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/^cannot tell systemd READY=1 with systemd-notify: .*ENOENT.* \(the service's readiness is not reported\)$/);
  });

  it('GIVEN no NOTIFY_SOCKET THEN nothing is sent and nothing warns', async () => {
    const dir = await tempDir();
    const yaml = join(dir, 'graph.yaml');
    await writeFile(yaml, graphWritingEnv(join(dir, 'done')));
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE], { env: { NOTIFY_SOCKET: '', PATH: dir } });
    expect(result.code).toBe(0);
    expect(result.events.filter((event) => event.event === 'warning')).toEqual([]);
  });
});

describe('firstPassDone', () => {
  const newScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  const idle = { t: true, f: false };

  it('GIVEN an engine idle from the start THEN the first pass is done at once', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(firstPassDone(cold('t', idle), 1000)).toBe('(t|)', idle);
    });
  });

  it('GIVEN an engine busy for 50 ms THEN the first pass is done when it goes idle, once', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(firstPassDone(cold('f 49ms t 9ms f 9ms t', idle), 1000)).toBe('50ms (t|)', idle);
    });
  });

  it('GIVEN an engine that never goes idle THEN it is called done, late, after latestMs', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(firstPassDone(cold('f', idle), 1000)).toBe('1000ms (f|)', idle);
    });
  });
});
