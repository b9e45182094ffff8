import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, runMgmt, startMgmt, type MgmtProcess } from '../helpers/cli.js';
import { waitFor } from '../helpers/log.js';
import { skipSystemdReason, useUserManager, type UserManager } from '../helpers/systemd.js';
import { useTempDirs } from '../helpers/tmp.js';

const tempDir = useTempDirs();

/** sessionVariant writes examples/svc.yaml as its header tells a non-root user to: the unit file in ~/.config/systemd/user, `session: true`. */
async function sessionVariant(manager: UserManager, dir: string): Promise<string> {
  const text = await readFile(join(REPO_ROOT, 'examples', 'svc.yaml'), 'utf8');
  expect(text).toContain('/etc/systemd/system/');
  expect(text).toContain('session: false');
  const file = join(dir, 'svc-session.yaml');
  await writeFile(file, text.split('/etc/systemd/system/').join(`${manager.home}/.config/systemd/user/`).split('session: false').join('session: true'));
  return file;
}

describe.skipIf(skipSystemdReason !== undefined)(`examples/svc.yaml on a real systemd --user${skipSystemdReason ? ` (skipped: ${skipSystemdReason})` : ''}`, () => {
  const userManager = useUserManager();
  const agents: MgmtProcess[] = [];
  // Runs before the manager's hook (hooks run in reverse): a live agent would rewrite the unit file.
  afterEach(() => {
    for (const agent of agents.splice(0)) agent.child.kill('SIGKILL');
  });

  it('GIVEN the session variant WHEN run once THEN it converges with exit 0, the service running and enabled', async () => {
    const manager = await userManager();
    const yaml = await sessionVariant(manager, await tempDir());
    const result = await runMgmt(['run', '--yaml', yaml, '--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'], { env: manager.env });
    expect(result.code, result.stderr).toBe(0);
    expect(await manager.show('mgmt-demo.service', 'ActiveState')).toBe('active');
    expect((await manager.systemctl('is-enabled', 'mgmt-demo.service')).stdout.trim()).toBe('enabled');
  });

  it('GIVEN the session variant running WHEN the service is stopped by hand or its unit file drifts THEN it is running again, restarted on the repaired unit', async () => {
    const manager = await userManager();
    const yaml = await sessionVariant(manager, await tempDir());
    const agent = startMgmt(['run', '--yaml', yaml, '--tmp-prefix', '--no-watch', '--log-format', 'json'], { env: manager.env });
    agents.push(agent);
    await agent.waitForEvent((e) => e.event === 'apply' && e.resource === 'svc[mgmt-demo]', 'the service to be applied');
    const first = await manager.waitForUnit('mgmt-demo.service', (s) => s.activeState === 'active' && s.mainPid > 0, 'running');

    expect((await manager.systemctl('stop', 'mgmt-demo.service')).code).toBe(0);
    const again = await manager.waitForUnit('mgmt-demo.service', (s) => s.activeState === 'active' && s.mainPid !== first.mainPid, 'running again');

    const refreshes = (): number => agent.events.filter((e) => e.event === 'refresh' && e.resource === 'svc[mgmt-demo]').length;
    const refreshedBefore = refreshes();
    const unitFile = join(manager.unitDir, 'mgmt-demo.service');
    const unitText = await readFile(unitFile, 'utf8');
    await writeFile(unitFile, unitText.replace('sleep infinity', 'sleep 1'));
    const restarted = await manager.waitForUnit('mgmt-demo.service', (s) => s.activeState === 'active' && s.mainPid !== again.mainPid, 'restarted by the refresh');
    await waitFor(() => refreshes() > refreshedBefore, 'the refresh event');
    expect(await readFile(unitFile, 'utf8')).toBe(unitText);
    expect(await manager.show('mgmt-demo.service', 'ExecStart')).toContain('sleep infinity');
    expect(restarted.needDaemonReload).toBe(false);

    agent.child.kill('SIGTERM');
    expect((await agent.exited).signal).toBeNull();
  });
});
