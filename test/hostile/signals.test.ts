// Finding 5 of issue 10: a signal never leaves a host worse. SIGHUP reloads the graph file (it
// used to kill the agent, orphaning its commands); every stop, a second ^C included, kills what the
// agent started and removes a temporary prefix; a run whose resources are all OK exits 0.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { isAlive, pidIn } from '../helpers/pids.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

describe('hostile: signals', () => {
  it('finding 5: SIGHUP reloads the graph file (even with --no-watch) and never kills the agent or what it runs', async () => {
    const dir = await tempDir();
    const yaml = join(dir, 'graph.yaml');
    const watchPid = join(dir, 'watch.pid');
    const marker = join(dir, 'reloaded');
    // GIVEN a running agent with a long-running watchcmd, which does not watch its graph file
    const watching = `  - {name: watching, cmd: "true", watchcmd: "echo $$ > ${watchPid}; exec sleep 1000", watchshell: /bin/sh}\n`;
    writeFileSync(yaml, `graph: before\nresources:\n  exec:\n${watching}`);
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--no-watch', '--log-format', 'json']);
    const watcher = await pidIn(watchPid);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'exec[watching]', 'the first apply');
    // WHEN the graph file changes and the agent gets SIGHUP
    writeFileSync(yaml, `graph: after\nresources:\n  exec:\n${watching}  - {name: marker, cmd: "touch ${marker}", shell: /bin/sh}\n`);
    agent.child.kill('SIGHUP');
    // THEN the new graph runs, the agent lives on, and its watchcmd was never orphaned
    await agent.waitForEvent((e) => e.event === 'graph' && e.graph === 'after', 'the reload SIGHUP asks for');
    await waitFor(() => existsSync(marker), 'the reloaded graph to apply', 10_000);
    expect(agent.child.exitCode).toBeNull();
    expect(isAlive(watcher)).toBe(true);
    agent.child.kill('SIGTERM');
    const result = await agent.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'SIGTERM' });
    expect(isAlive(watcher)).toBe(false);
  });

  it('finding 5: a second SIGINT while an all-OK run shuts down exits 0, kills what it started and removes the --tmp-prefix', async () => {
    const dir = await tempDir();
    const yaml = join(dir, 'graph.yaml');
    const watchPid = join(dir, 'watch.pid');
    // A watchcmd that ignores SIGTERM: stopping it takes the kill's grace, so the shutdown is
    // still under way when the second SIGINT comes.
    writeFileSync(yaml, `graph: ok\nresources:\n  exec:\n  - {name: stubborn, cmd: "true", watchcmd: "trap '' TERM; echo $$ > ${watchPid}; while true; do sleep 0.05; done", watchshell: /bin/sh}\n`);
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    const start = await agent.waitForEvent((e) => e.event === 'start', 'start');
    const watcher = await pidIn(watchPid);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'exec[stubborn]', 'the apply');
    // WHEN SIGINT stops the run, and a second SIGINT comes while it stops
    // (Two signals queue in order: the first starts the shutdown, which the watchcmd's kill grace
    // keeps going for 300 ms or more, and the second arrives within it.)
    agent.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    agent.child.kill('SIGINT');
    const result = await agent.exited;
    // THEN all OK is exit 0, the stubborn watchcmd is dead, and the temporary prefix is gone
    expect(result.code, result.stderr).toBe(0);
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'SIGINT, then SIGINT' });
    await waitFor(() => !isAlive(watcher), 'the watchcmd to be killed', 2000);
    expect(existsSync(start.prefix as string)).toBe(false);
  });
});
