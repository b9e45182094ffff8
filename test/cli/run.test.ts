import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMgmt, startMgmt } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { isAlive, pidIn } from '../helpers/pids.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

async function graphFile(dir: string, yaml: string): Promise<string> {
  const file = join(dir, 'graph.yaml');
  await writeFile(file, yaml);
  return file;
}

const RUN_ONCE = ['--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];

describe('mgmt run', () => {
  it('GIVEN execs with a chain WHEN run to convergence THEN independent ones overlap and the chain runs in order', async () => {
    const dir = await tempDir();
    const yaml = await graphFile(
      dir,
      `graph: chain
resources:
  exec:
  - {name: exec1, cmd: sleep 0.5}
  - {name: exec2, cmd: sleep 0.5}
  - {name: exec3, cmd: sleep 0.5}
  - {name: exec4, cmd: sleep 0.5}
edges:
- {name: e1, from: {kind: exec, name: exec1}, to: {kind: exec, name: exec2}}
- {name: e2, from: {kind: exec, name: exec2}, to: {kind: exec, name: exec3}}
`,
    );
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(0);
    const finished = new Map(result.events.filter((e) => e.event === 'apply').map((e) => [e.resource, Date.parse(e.ts as string)]));
    const began = (id: string) => finished.get(id)! - (result.events.find((e) => e.event === 'apply' && e.resource === id)!.ms as number);
    // exec4 ran alongside exec1, not after the chain
    expect(began('exec[exec4]')).toBeLessThan(finished.get('exec[exec1]')!);
    // the chain ran in order
    expect(began('exec[exec2]')).toBeGreaterThanOrEqual(finished.get('exec[exec1]')! - 5);
    expect(began('exec[exec3]')).toBeGreaterThanOrEqual(finished.get('exec[exec2]')! - 5);
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: 'converged' });
  });

  it('GIVEN a resource that fails THEN its dependant never runs, the independent one does, and the exit code is 1', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'dependant-ran');
    const other = join(dir, 'other-ran');
    const yaml = await graphFile(
      dir,
      `graph: failing
resources:
  exec:
  - {name: bad, cmd: /bin/false}
  - {name: dependant, cmd: touch ${marker}}
  - {name: other, cmd: touch ${other}}
edges:
- {name: e1, from: {kind: exec, name: bad}, to: {kind: exec, name: dependant}}
`,
    );
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE]);
    expect(result.code).toBe(1);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(other)).toBe(true);
    expect(result.events.find((e) => e.event === 'error')).toMatchObject({ resource: 'exec[bad]', permanent: true });
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', code: 1, failed: ['exec[bad]'] });
  });

  it('GIVEN a graph with one bad resource THEN nothing is applied, one clear line is printed, and the exit code is 2', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'should-not-exist');
    const yaml = await graphFile(
      dir,
      `graph: bad
resources:
  exec:
  - {name: good, cmd: touch ${marker}}
  - {name: broken, cmd: echo, timeout: soon}
`,
    );
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE]);
    expect(result.code).toBe(2);
    expect(existsSync(marker)).toBe(false);
    expect(result.stderr).toContain(`${yaml}:5:`);
    expect(result.stderr).toContain('exec[broken]');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).toBe('');
  });

  it('GIVEN --noop THEN commands are not run and the run still converges with exit 0', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'noop-marker');
    const yaml = await graphFile(dir, `graph: noop\nresources:\n  exec:\n  - {name: touch, cmd: touch ${marker}}\n`);
    const result = await runMgmt(['run', '--yaml', yaml, '--noop', ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(result.events.find((e) => e.event === 'check' && e.resource === 'exec[touch]')).toMatchObject({ ok: false, noop: true });
  });

  it('GIVEN a notify edge from a changed exec THEN the child runs again with a refresh', async () => {
    const dir = await tempDir();
    const log = join(dir, 'log');
    const yaml = await graphFile(
      dir,
      `graph: notify
resources:
  exec:
  - {name: change, cmd: "true"}
  - {name: reload, cmd: "echo ran >> ${log}", shell: /bin/sh}
edges:
- {name: e1, from: {kind: exec, name: change}, to: {kind: exec, name: reload}, notify: true}
`,
    );
    const result = await runMgmt(['run', '--yaml', yaml, ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.events.filter((e) => e.event === 'refresh' && e.resource === 'exec[reload]')).toHaveLength(1);
  });

  it('GIVEN a timer pointing at an exec THEN the exec runs again on each tick', async () => {
    const dir = await tempDir();
    const log = join(dir, 'ticks');
    const yaml = await graphFile(
      dir,
      `graph: timer
resources:
  timer:
  - {name: t, interval: 1}
  exec:
  - {name: stamp, cmd: "echo tick >> ${log}", shell: /bin/sh}
edges:
- {name: e1, from: {kind: timer, name: t}, to: {kind: exec, name: stamp}}
`,
    );
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await waitFor(() => agent.events.filter((e) => e.event === 'apply' && e.resource === 'exec[stamp]').length >= 3, 'three runs of the exec', 15_000);
    agent.child.kill('SIGTERM');
    await agent.exited;
    expect((await readFile(log, 'utf8')).trim().split('\n').length).toBeGreaterThanOrEqual(3);
  });

  it('GIVEN a running exec WHEN SIGTERM arrives THEN mgmt exits within a second and kills the command', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pid');
    const yaml = await graphFile(dir, `graph: slow\nresources:\n  exec:\n  - {name: slow, cmd: "echo $$ > ${pidFile}; exec sleep 30", shell: /bin/sh}\n`);
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await waitFor(() => existsSync(pidFile), 'the command to start');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    const signalled = performance.now();
    agent.child.kill('SIGTERM');
    const result = await agent.exited;
    // The 1 s promise is measured by the drift and hostile-flood benches; here, generously (the
    // command sleeps 30 s).
    expect(performance.now() - signalled).toBeLessThan(3000);
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', reason: 'SIGTERM' });
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('GIVEN a command that ignores SIGTERM WHEN a second SIGTERM follows the first THEN mgmt exits at once and the command is killed', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pid');
    const yaml = await graphFile(
      dir,
      `graph: stubborn\nresources:\n  exec:\n  - {name: stubborn, cmd: "trap '' TERM; echo $$ > ${pidFile}; while true; do sleep 0.05; done", shell: /bin/sh}\n`,
    );
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    const pid = await pidIn(pidFile);
    const signalled = performance.now();
    agent.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 30));
    agent.child.kill('SIGTERM');
    const result = await agent.exited;
    // The second signal cut the shutdown's grace short (a time bound cannot tell: the grace is 0.8 s).
    expect(result.events.at(-1)).toMatchObject({ event: 'exit', reason: 'SIGTERM, then SIGTERM' });
    expect(performance.now() - signalled).toBeLessThan(3000);
    expect(result.code).toBe(1);
    await waitFor(() => !isAlive(pid), 'the stubborn command to be killed', 2000);
  });

  it('GIVEN --converged-timeout=1 THEN mgmt exits 0 only after a full second with nothing to do', async () => {
    const dir = await tempDir();
    const yaml = await graphFile(dir, `graph: idle\nresources:\n  noop:\n  - {name: n1}\n`);
    const result = await runMgmt(['run', '--yaml', yaml, '--converged-timeout=1', '--tmp-prefix', '--no-watch', '--log-format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const checked = Date.parse(result.events.find((e) => e.event === 'check' && e.resource === 'noop[n1]')!.ts as string);
    const converged = Date.parse(result.events.find((e) => e.event === 'converged')!.ts as string);
    expect(converged - checked).toBeGreaterThanOrEqual(990);
  });

  it('GIVEN --log-format json THEN every stdout line is one JSON event with ts, level, event and host', async () => {
    const dir = await tempDir();
    const yaml = await graphFile(dir, `graph: json\nresources:\n  noop:\n  - {name: n1}\n  - {name: n2}\n`);
    const result = await runMgmt(['run', '--yaml', yaml, '--hostname', 'h1', ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBe(result.events.length);
    for (const event of result.events) {
      expect(event).toMatchObject({ host: 'h1', level: expect.any(String), event: expect.any(String), ts: expect.any(String) });
    }
    // the two noops are grouped into one vertex, and each still reports its own check
    expect(result.events.find((e) => e.event === 'graph')).toMatchObject({ vertices: 1, edges: 0, ms: { parse: expect.any(Number) } });
    expect(result.events.filter((e) => e.event === 'check').map((e) => [e.resource, e.group])).toEqual([
      ['noop[n1]', 'noop[autogroup:(n1,n2)]'],
      ['noop[n2]', 'noop[autogroup:(n1,n2)]'],
    ]);
    expect(result.events.map((e) => e.event)).toContain('converged');
  });

  it('GIVEN a reader that stops reading the JSON log early THEN mgmt still finishes cleanly and removes its temporary prefix', async () => {
    const dir = await tempDir();
    const yaml = await graphFile(dir, `graph: pipe\nresources:\n  noop:\n${Array.from({ length: 200 }, (_, i) => `  - {name: n${i}}`).join('\n')}\n`);
    const agent = startMgmt(['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json']);
    const start = await agent.waitForEvent((e) => e.event === 'start', 'the start event');
    agent.child.stdout!.destroy(); // like `| head -1`
    const result = await agent.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('Error');
    expect(existsSync(start.prefix as string)).toBe(false);
  });

  it('GIVEN --graphviz out.dot THEN the graph is written as DOT', async () => {
    const dir = await tempDir();
    const dot = join(dir, 'out.dot');
    const yaml = await graphFile(
      dir,
      `graph: gv\nresources:\n  noop:\n  - {name: a}\n  - {name: b}\nedges:\n- {name: e1, from: {kind: noop, name: a}, to: {kind: noop, name: b}}\n`,
    );
    const result = await runMgmt(['run', '--yaml', yaml, '--graphviz', dot, ...RUN_ONCE]);
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(dot, 'utf8');
    expect(text).toContain('noop[a]');
    expect(text).toMatch(/"noop\[a\]" -> "noop\[b\]"/);
  });

  it('GIVEN --graphviz with an unknown filter THEN a one-line usage error, exit 2, nothing applied', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'marker');
    const yaml = await graphFile(dir, `graph: gv\nresources:\n  exec:\n  - {name: touch, cmd: touch ${marker}}\n`);
    const result = await runMgmt(['run', '--yaml', yaml, '--graphviz', join(dir, 'g.dot'), '--graphviz-filter', 'rm -rf', ...RUN_ONCE]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('mgmt run: invalid graphviz filter selected: rm -rf (one of dot, neato, twopi, circo, fdp, sfdp, patchwork, osage)');
    expect(existsSync(marker)).toBe(false);
  });

  it('GIVEN an unknown flag or a missing --yaml THEN a one-line usage error and exit 2', async () => {
    const unknown = await runMgmt(['run', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("mgmt run: unknown flag --bogus (see 'mgmt run --help')");
    const missing = await runMgmt(['run']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('mgmt run: --yaml FILE is required');
    const absent = await runMgmt(['run', '--yaml', '/nonexistent/graph.yaml', '--tmp-prefix']);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('/nonexistent/graph.yaml');
  });

  it('GIVEN a watchcmd with a child WHEN the run exits converged or on SIGTERM THEN the whole process group is killed and the --tmp-prefix removed', async () => {
    for (const how of ['converged', 'SIGTERM'] as const) {
      const dir = await tempDir();
      const yaml = join(dir, 'graph.yaml');
      const childPid = join(dir, 'child.pid');
      // The watchcmd's own child (a grandchild of the agent) must die with the group.
      await writeFile(yaml, `graph: group\nresources:\n  exec:\n  - {name: w, cmd: "true", watchcmd: "sh -c 'echo $$ > ${childPid}; exec sleep 1000' & wait", watchshell: /bin/sh}\n`);
      const timeout = how === 'converged' ? ['--converged-timeout=1'] : [];
      const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json', ...timeout]);
      const start = await agent.waitForEvent((e) => e.event === 'start', 'start');
      const grandchild = await pidIn(childPid);
      if (how === 'SIGTERM') {
        await agent.waitForEvent((e) => e.event === 'apply', 'the apply');
        const signalled = performance.now();
        agent.child.kill('SIGTERM');
        await agent.exited;
        // The 1 s promise is measured by the drift and hostile-flood benches; here, generously.
        expect(performance.now() - signalled, 'SIGTERM exits promptly').toBeLessThan(3000);
      }
      const result = await agent.exited;
      expect(result.code, `${how}: ${result.stderr}`).toBe(0);
      expect(result.events.at(-1)).toMatchObject({ event: 'exit', code: 0, reason: how });
      await waitFor(() => !isAlive(grandchild), `${how}: the watchcmd's child to be killed`, 2000);
      expect(existsSync(start.prefix as string)).toBe(false);
    }
  });
});

describe('mgmt run live graph swap', () => {
  it('GIVEN a running agent WHEN the YAML changes THEN the new graph is swapped in, equal vertices untouched; a broken edit is refused', async () => {
    const dir = await tempDir();
    const log = join(dir, 'runs');
    const graph = (extra: string) => `graph: live
resources:
  exec:
  - {name: stays, cmd: "echo stays >> ${log}", shell: /bin/sh}
${extra}`;
    const yaml = await graphFile(dir, graph(''));
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--log-format', 'json']);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'exec[stays]', 'the first run');

    await writeFile(yaml, graph(`  - {name: added, cmd: "echo added >> ${log}", shell: /bin/sh}\n`));
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'exec[added]', 'the added exec');
    const swap = agent.events.filter((e) => e.event === 'graph')[1]!;
    expect(swap).toMatchObject({ vertices: 2, swap: { kept: 1, added: 1, removed: 0 } });

    await writeFile(yaml, 'graph: live\nresources: [this is: not valid\n');
    await agent.waitForEvent((e) => e.event === 'error' && e.phase === 'reload', 'the broken edit to be refused');

    await writeFile(yaml, graph(''));
    await agent.waitForEvent((e) => e.event === 'graph' && e.vertices === 1, 'the removal');
    agent.child.kill('SIGTERM');
    const result = await agent.exited;
    expect(result.code).toBe(0);
    const runs = (await readFile(log, 'utf8')).trim().split('\n');
    // stays ran once: neither swap re-ran it
    expect(runs.filter((line) => line === 'stays')).toHaveLength(1);
    expect(runs.filter((line) => line === 'added')).toHaveLength(1);
  });
});

describe('mgmt check and --version', () => {
  it('GIVEN --version THEN it prints the version and exits 0', async () => {
    const result = await runMgmt(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^mgmt \d+\.\d+\.\d+\n$/);
  });

  it('GIVEN a bad graph WHEN checked THEN exit 2 and nothing touched', async () => {
    const dir = await tempDir();
    const yaml = await graphFile(dir, 'graph: x\nresources:\n  nosuchkind:\n  - {name: a}\n');
    const result = await runMgmt(['check', '--yaml', yaml]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nosuchkind');
    await rm(yaml);
  });
});

