import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMgmt, startMgmt, type MgmtProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { simpleService, skipSystemdReason, useUserManager, type UserManager } from '../helpers/systemd.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

/** yamlFile writes a graph's lines to `dir/name` and returns its path. */
async function yamlFile(dir: string, name: string, lines: readonly string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, [...lines, ''].join('\n'));
  return path;
}

/** unitGraph manages web's unit file (an automatic edge orders it first), web itself, and ghost, which has no unit file. */
function unitGraph(manager: UserManager, dir: string): Promise<string> {
  return yamlFile(dir, 'unit.yaml', [
    'graph: svc-unit',
    'resources:',
    '  file:',
    '  - name: unit',
    `    path: "${manager.unitDir}/web.service"`,
    `    content: ${JSON.stringify(simpleService('mgmt e2e'))}`,
    '  svc:',
    '  - name: web',
    '    session: true',
    '    state: running',
    '    startup: enabled',
    '  - name: ghost',
    '    session: true',
    '    state: running',
  ]);
}

describe.skipIf(skipSystemdReason !== undefined)(`mgmt run with svc on a real systemd --user${skipSystemdReason ? ` (skipped: ${skipSystemdReason})` : ''}`, () => {
  const userManager = useUserManager();
  // Registered after the manager's hook, so it runs before it: an agent left running would rewrite
  // the unit file while the manager's directories are being removed.
  const agents: MgmtProcess[] = [];
  afterEach(() => {
    for (const agent of agents.splice(0)) agent.child.kill('SIGKILL');
  });

  it('GIVEN a managed unit file WHEN checked THEN it comes before its service by an automatic edge', async () => {
    const manager = await userManager();
    const yaml = await unitGraph(manager, await tempDir());
    const result = await runMgmt(['check', '--yaml', yaml, '--format', 'json'], { env: manager.env });
    expect(result.code, result.stderr).toBe(0);
    const edges = (JSON.parse(result.stdout) as { edges: { from: string; to: string }[] }).edges.map((edge) => `${edge.from} -> ${edge.to}`);
    expect(edges).toEqual(['file[unit] -> svc[web]']);
  });

  it('GIVEN the unit file graph running WHEN the service is stopped by hand THEN it runs again, and the service without a unit fails alone', async () => {
    const manager = await userManager();
    const yaml = await unitGraph(manager, await tempDir());
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--no-watch', '--log-format', 'json'], { env: manager.env });
    agents.push(agent);
    const appliedWeb = (): number => agent.events.filter((e) => e.event === 'apply' && e.resource === 'svc[web]').length;

    // The unit file is written first (the automatic edge), so the service starts in the first run.
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'svc[web]', 'svc[web] to be applied');
    const first = await manager.waitForUnit('web.service', (s) => s.activeState === 'active' && s.mainPid > 0, 'running');
    expect((await manager.systemctl('is-enabled', 'web.service')).stdout.trim()).toBe('enabled');

    // A missing unit is an error on that resource only, in one line naming the unit.
    const ghost = await agent.waitForEvent((e) => e.event === 'error' && e.resource === 'svc[ghost]', 'svc[ghost] to fail');
    expect(ghost.message).toContain('unit ghost.service not found by the user manager');
    expect(String(ghost.message)).not.toContain('\n');

    // Stopped behind the agent's back: running again (a new process) within moments.
    const stopped = await manager.systemctl('stop', 'web.service');
    expect(stopped.code, stopped.stderr).toBe(0);
    await manager.waitForUnit('web.service', (s) => s.activeState === 'active' && s.mainPid > 0 && s.mainPid !== first.mainPid, 'started again');
    await waitFor(() => appliedWeb() >= 2, 'the repair to be reported as an apply of svc[web]');
    const errors = agent.events.filter((e) => e.event === 'error');
    // svc[ghost] may fail again on a later event (a failed resource keeps watching); no other fails.
    expect([...new Set(errors.map((e) => e.resource))], JSON.stringify(errors)).toEqual(['svc[ghost]']);

    agent.child.kill('SIGTERM');
    const result = await agent.exited;
    expect(result.signal).toBeNull();
    // Stopping the agent leaves the service running: it manages state, it does not own the process.
    expect(await manager.show('web.service', 'ActiveState')).toBe('active');
  });

  it('GIVEN a config file notifying the service WHEN the config drifts THEN it is repaired and the service restarted', async () => {
    const manager = await userManager();
    const dir = await tempDir();
    await manager.writeUnit('web.service', simpleService('mgmt e2e'));
    const config = join(dir, 'app.conf');
    const yaml = await yamlFile(dir, 'notify.yaml', [
      'graph: svc-notify',
      'resources:',
      '  file:',
      '  - name: config',
      `    path: "${config}"`,
      '    content: "listen = 8080\\n"',
      '  svc:',
      '  - name: web',
      '    session: true',
      '    state: running',
      'edges:',
      '- name: config-restarts-web',
      '  from: {kind: file, name: config}',
      '  to: {kind: svc, name: web}',
      '  notify: true',
    ]);
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--no-watch', '--log-format', 'json'], { env: manager.env });
    agents.push(agent);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'svc[web]', 'svc[web] to be applied');
    const running = await manager.waitForUnit('web.service', (s) => s.activeState === 'active' && s.mainPid > 0, 'running');
    const refreshes = (): number => agent.events.filter((e) => e.event === 'refresh' && e.resource === 'svc[web]').length;
    const refreshedBefore = refreshes();

    await writeFile(config, 'junk\n');
    const restarted = await manager.waitForUnit('web.service', (s) => s.activeState === 'active' && s.mainPid > 0 && s.mainPid !== running.mainPid, 'restarted by the refresh');
    expect(restarted.mainPid).not.toBe(running.mainPid);
    expect(await readFile(config, 'utf8')).toBe('listen = 8080\n');
    await waitFor(() => refreshes() > refreshedBefore, 'the refresh event of svc[web]');

    agent.child.kill('SIGTERM');
    expect((await agent.exited).signal).toBeNull();
  });
});
