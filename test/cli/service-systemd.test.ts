// `mgmt service install/uninstall` against a real systemd --user (test/helpers/systemd.ts): the
// unit the agent runs in, its readiness, what a stop does, a restart after a crash, and an
// uninstall that leaves nothing.

import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UNIT_MARKER } from '../../src/cli/service-unit.js';
import { MGMT_BIN, runMgmt, startMgmt } from '../helpers/cli.js';
import { skipSystemdReason, useUserManager, type UserManager } from '../helpers/systemd.js';
import { useTempDirs } from '../helpers/tmp.js';
import { waitFor } from '../helpers/log.js';
import { isAlive, pidIn } from '../helpers/pids.js';

const SERVICE = 'org.freedesktop.systemd1.Service';

/**
 * longCommandGraph runs a long command (writing its pid to `pidFile`) only after the service is
 * ready: a timer re-checks it each second, and its guard lets it run once `go` exists.
 */
function longCommandGraph(pidFile: string, go: string): string {
  return `graph: g
resources:
  timer:
  - {name: tick, interval: 1}
  exec:
  - {name: long, cmd: 'echo $$ > ${pidFile}; exec sleep 600', shell: /bin/sh, ifcmd: 'test -e ${go}', ifshell: /bin/sh}
edges:
- {name: e, from: {kind: timer, name: tick}, to: {kind: exec, name: long}}
`;
}

describe.skipIf(skipSystemdReason !== undefined)(`mgmt service on a real systemd --user${skipSystemdReason ? ` (skipped: ${skipSystemdReason})` : ''}`, () => {
  const userManager = useUserManager();
  const tempDir = useTempDirs();

  /** service runs `mgmt service ARGS --session` as a client of the manager. */
  const service = (manager: UserManager, args: readonly string[], env: Readonly<Record<string, string>> = {}) =>
    runMgmt(['service', ...args, '--session'], { env: { ...manager.env, XDG_CONFIG_HOME: '', ...env }, timeoutMs: 60_000 });

  it('GIVEN a graph in a directory named with spaces, %, $, quotes and a backslash WHEN installed THEN the unit runs exactly that command line, enabled and active, applying and repairing the graph, restarted after a crash, and uninstall leaves nothing', async () => {
    const manager = await userManager();
    const dir = join(await tempDir(), `my graphs %n $HOME "q" 'x' \\ end`);
    await mkdir(dir);
    const managed = join(dir, 'managed file');
    const graph = join(dir, 'graph.yaml');
    await writeFile(graph, `graph: g\nresources:\n  file:\n  - name: f\n    path: ${JSON.stringify(managed)}\n    content: "hello\\n"\n`);

    const installed = await service(manager, ['install', '--yaml', graph, '--no-server', '--tmp-prefix', '--log-format', 'json']);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    expect(installed.stdout).toMatch(/wrote .*mgmt\.service \(Type=notify\) and enabled mgmt\.service\n.*mgmt\.service is active/);

    const unitFile = join(manager.unitDir, 'mgmt.service');
    const text = await readFile(unitFile, 'utf8');
    expect(text.startsWith(UNIT_MARKER)).toBe(true);
    for (const line of ['Type=notify', 'NotifyAccess=main', 'Restart=on-failure', 'KillMode=mixed', 'WantedBy=default.target']) expect(text).toContain(`\n${line}\n`);
    // systemd read back the argument vector as it was meant: no specifier expanded, nothing split.
    const path = await manager.client.loadUnit('mgmt.service');
    const [[binary, argv]] = (await manager.client.getProperty(path, SERVICE, 'ExecStart')) as [string, string[]][];
    expect(binary).toBe(process.execPath);
    // `$` stays doubled in the property: systemd substitutes variables when it runs the command.
    expect(argv).toEqual([process.execPath, '--max-semi-space-size=4', MGMT_BIN, 'run', `--yaml=${graph.replace(/\$/g, '$$$$')}`, '--tmp-prefix', '--no-server', '--log-format=json']);
    const state = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'active' && s.mainPid > 0, 'active');
    expect(state.unitFileState).toBe('enabled');
    // ... and the command ran with the real path: the agent read the graph and applied it.
    expect(await readFile(managed, 'utf8')).toBe('hello\n');

    // The service repairs drift.
    await rm(managed);
    await waitFor(() => existsSync(managed), 'the deleted file to be restored');

    // A crash is not the end: systemd starts the agent again (RestartSec later) and it applies again.
    process.kill(state.mainPid, 'SIGKILL');
    const restarted = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'active' && s.mainPid > 0 && s.mainPid !== state.mainPid, 'restarted after SIGKILL', 30_000);
    expect(Number(await manager.client.getProperty(path, SERVICE, 'NRestarts'))).toBe(1);
    await rm(managed);
    await waitFor(() => existsSync(managed), 'the restarted agent to restore the file');

    const removed = await service(manager, ['uninstall']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/stopped and disabled mgmt\.service, removed /);
    expect(existsSync(unitFile)).toBe(false);
    expect(existsSync(join(manager.unitDir, 'default.target.wants', 'mgmt.service'))).toBe(false);
    expect(isAlive(restarted.mainPid)).toBe(false);
    expect(await manager.client.unitStatus(await manager.client.loadUnit('mgmt.service'))).toMatchObject({ loadState: 'not-found', activeState: 'inactive' });

    const again = await service(manager, ['uninstall']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/does not exist: nothing to do/);
    const status = await service(manager, ['status']);
    expect(status.code).toBe(3);
    expect(status.stdout).toBe('mgmt.service: not-found; no unit file\n');
  });

  it('GIVEN a unit directory other users can write WHEN installed THEN it is refused, exit 1, and nothing is written there', async () => {
    const manager = await userManager();
    const dir = await tempDir();
    const graph = join(dir, 'graph.yaml');
    await writeFile(graph, 'graph: g\nresources:\n  noop:\n  - name: n\n');
    const config = join(dir, 'config');
    await mkdir(config);
    await chmod(config, 0o777);
    const result = await service(manager, ['install', '--yaml', graph, '--no-server', '--tmp-prefix'], { XDG_CONFIG_HOME: config });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mgmt service install: refusing .*\/config\/systemd\/user: its parent .*\/config is writable by other users/);
    expect(existsSync(join(config, 'systemd', 'user', 'mgmt.service'))).toBe(false);
  });

  it('GIVEN a graph broken after install WHEN the agent restarts THEN it fails for good (exit 2 is not retried), and uninstall leaves no failed unit behind', async () => {
    const manager = await userManager();
    const dir = await tempDir();
    const graph = join(dir, 'graph.yaml');
    await writeFile(graph, 'graph: g\nresources:\n  noop:\n  - name: n\n');
    expect((await service(manager, ['install', '--yaml', graph, '--no-server', '--tmp-prefix'])).code).toBe(0);
    const running = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'active' && s.mainPid > 0, 'active');

    await writeFile(graph, 'graph: g\nresources:\n  bogus:\n  - name: n\n');
    process.kill(running.mainPid, 'SIGKILL');
    const failed = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'failed', 'failed after the restart met the broken graph', 30_000);
    expect(failed.mainPid).toBe(0);
    const path = await manager.client.loadUnit('mgmt.service');
    expect(Number(await manager.client.getProperty(path, SERVICE, 'NRestarts'))).toBe(1);
    expect(Number(await manager.client.getProperty(path, SERVICE, 'ExecMainStatus'))).toBe(2);

    expect((await service(manager, ['uninstall'])).code).toBe(0);
    expect(await manager.client.unitStatus(await manager.client.loadUnit('mgmt.service'))).toMatchObject({ loadState: 'not-found', activeState: 'inactive' });
  });

  it('GIVEN a graph whose first resource runs 2 s WHEN installed THEN the unit is activating until that first pass is done, and active after', async () => {
    const manager = await userManager();
    const dir = await tempDir();
    const done = join(dir, 'done');
    const graph = join(dir, 'graph.yaml');
    await writeFile(graph, `graph: g\nresources:\n  exec:\n  - name: slow\n    cmd: sleep 2; touch ${done}\n    shell: /bin/sh\n`);

    const install = startMgmt(['service', 'install', '--session', '--yaml', graph, '--no-server', '--tmp-prefix'], { env: { ...manager.env, XDG_CONFIG_HOME: '' } });
    const activating = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'activating', 'activating');
    expect(existsSync(done)).toBe(false);
    expect(activating.subState).toBe('start');
    const active = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'active', 'active');
    // Ready only once the exec finished: its file is there by the time systemd says active.
    expect(existsSync(done)).toBe(true);
    expect(active.subState).toBe('running');
    const result = await install.exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/is active: its first graph has been applied/);
  });

  it('GIVEN a running command WHEN the unit is stopped THEN the agent exits well within a second or two, the command is killed, and the unit is inactive', async () => {
    const manager = await userManager();
    const dir = await tempDir();
    const pidFile = join(dir, 'pid');
    const go = join(dir, 'go');
    const graph = join(dir, 'graph.yaml');
    await writeFile(graph, longCommandGraph(pidFile, go));
    const installed = await service(manager, ['install', '--yaml', graph, '--no-server', '--tmp-prefix']);
    expect(installed.code).toBe(0);
    await writeFile(go, '');
    const commandPid = await pidIn(pidFile);
    expect(isAlive(commandPid)).toBe(true);
    const agentPid = (await manager.waitForUnit('mgmt.service', (s) => s.mainPid > 0, 'a main pid')).mainPid;

    const started = performance.now();
    await manager.client.stopUnit('mgmt.service');
    const stopMs = performance.now() - started;
    console.log(`stop of mgmt.service with a running command: ${stopMs.toFixed(0)} ms`);
    expect((await manager.client.unitStatus(await manager.client.loadUnit('mgmt.service'))).activeState).toBe('inactive');
    expect(isAlive(agentPid)).toBe(false);
    expect(isAlive(commandPid)).toBe(false);
    // The agent's own shutdown takes under a second; the bound is generous for a loaded machine.
    expect(stopMs).toBeLessThan(5000);
    // A stop asked for is no failure: the unit is not restarted.
    expect(Number(await manager.client.getProperty(await manager.client.loadUnit('mgmt.service'), SERVICE, 'NRestarts'))).toBe(0);
  });

  it('GIVEN no systemd-notify on PATH, and a foreign unit file WHEN installed with --force THEN the unit is Type=exec, replaces that file, and runs', async () => {
    const manager = await userManager();
    const dir = await tempDir();
    const managed = join(dir, 'managed');
    const graph = join(dir, 'graph.yaml');
    await writeFile(graph, `graph: g\nresources:\n  file:\n  - name: ${managed}\n    content: "x\\n"\n`);
    const foreign = await manager.writeUnit('mgmt.service', '[Service]\nExecStart=/bin/sleep infinity\n');

    const refused = await service(manager, ['install', '--yaml', graph, '--no-server', '--tmp-prefix'], { PATH: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/mgmt\.service was not written by mgmt .*--force/);
    expect(await readFile(foreign, 'utf8')).toBe('[Service]\nExecStart=/bin/sleep infinity\n');

    const forced = await service(manager, ['install', '--yaml', graph, '--no-server', '--tmp-prefix', '--force'], { PATH: dir });
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    const text = await readFile(foreign, 'utf8');
    expect(text).toContain('\nType=exec\n');
    expect(text).not.toContain('NotifyAccess');
    await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'active', 'active');
    await waitFor(() => existsSync(managed), 'the service to apply its graph');
    const status = await service(manager, ['status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^mgmt\.service: active \(running\), enabled, main pid \d+; .*mgmt\.service\n$/);
  });

  it('GIVEN an installed agent WHEN installed again with other flags, and a second one with --name THEN the first restarts with its new command line and both run side by side', async () => {
    const manager = await userManager();
    const dir = await tempDir();
    const graph = join(dir, 'graph.yaml');
    await writeFile(graph, `graph: g\nresources:\n  file:\n  - name: ${join(dir, 'a')}\n    content: "a\\n"\n`);
    const other = join(dir, 'other.yaml');
    await writeFile(other, `graph: g\nresources:\n  file:\n  - name: ${join(dir, 'b')}\n    content: "b\\n"\n`);
    const flags = ['--no-server', '--tmp-prefix'];
    expect((await service(manager, ['install', '--yaml', graph, ...flags])).code).toBe(0);
    const first = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'active' && s.mainPid > 0, 'active');

    expect((await service(manager, ['install', '--yaml', graph, ...flags, '--verbose'])).code).toBe(0);
    const again = await manager.waitForUnit('mgmt.service', (s) => s.activeState === 'active' && s.mainPid > 0, 'active again');
    expect(again.mainPid).not.toBe(first.mainPid);
    expect(isAlive(first.mainPid)).toBe(false);
    const [[, argv]] = (await manager.client.getProperty(await manager.client.loadUnit('mgmt.service'), SERVICE, 'ExecStart')) as [string, string[]][];
    expect(argv.slice(-2)).toEqual(['--no-server', '--verbose']);

    const second = await service(manager, ['install', '--name', 'second', '--yaml', other, ...flags]);
    expect(second.stdout).toMatch(/mgmt-second\.service is active/);
    await waitFor(() => existsSync(join(dir, 'b')), 'the second agent to apply its graph');
    expect((await manager.client.unitStatus(await manager.client.loadUnit('mgmt.service'))).activeState).toBe('active');
    expect((await service(manager, ['uninstall', '--name', 'second'])).code).toBe(0);
    expect(existsSync(join(manager.unitDir, 'mgmt-second.service'))).toBe(false);
    expect(existsSync(join(manager.unitDir, 'mgmt.service'))).toBe(true);
  });
});
