import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadGraph } from '../../src/frontend/yaml-load.js';
import { svc, type SvcParams } from '../../src/resources/svc.js';
import type { LiveResource } from '../../src/core/kind.js';
import { makeContext, type TestContext } from '../helpers/context.js';
import { simpleService, skipSystemdReason, useUserManager, type UserManager } from '../helpers/systemd.js';
import { useTempDirs } from '../helpers/tmp.js';
import { record } from '../watchers/recorder.js';

const never = new AbortController().signal;
const tempDir = useTempDirs();
const lives: LiveResource[] = [];
afterEach(async () => {
  await Promise.all(lives.splice(0).map((live) => live.cleanup?.()));
  vi.unstubAllEnvs();
});

const params = (name: string, more: Partial<SvcParams> = {}): SvcParams => ({ ...svc.defaults(name), ...more });

/** start validates a svc resource and runs it against the user manager `manager` (through its bus in the environment). */
function start(manager: UserManager | undefined, name: string, more: Partial<SvcParams> = {}): { ctx: TestContext; live: LiveResource } {
  if (manager) for (const [key, value] of Object.entries(manager.env)) vi.stubEnv(key, value);
  const full = params(name, { session: true, ...more });
  expect(svc.validate(full)).toEqual([]);
  const ctx = makeContext('svc', name);
  const live = svc.init(full, ctx);
  lives.push(live);
  return { ctx, live };
}

describe('svc parameters', () => {
  it('GIVEN the defaults THEN the unit is <name>.service and nothing is managed', () => {
    expect(svc.defaults('web')).toEqual({ state: '', startup: '', session: false, unit: 'web.service' });
    expect(svc.validate(params('web'))).toEqual([]);
    expect(svc.validate(params('getty@tty1', { state: 'running', startup: 'enabled' }))).toEqual([]);
  });

  it('GIVEN a bad state, startup or name WHEN validated THEN each problem is reported, quoting the value', () => {
    expect(svc.validate(params('web', { state: 'started', startup: 'on' }))).toEqual([
      { param: 'state', reason: 'must be "running", "stopped" or "" (leave alone), got "started" (string)' },
      { param: 'startup', reason: 'must be "enabled", "disabled" or "" (leave alone), got "on" (string)' },
    ]);
    expect(svc.validate(params('web.service'))).toEqual([{ param: 'name', reason: '"web.service" ends with .service, which is added to the name: write "web"' }]);
    expect(svc.validate(params('a/b'))[0]?.reason).toMatch(/"a\/b" is not a valid unit name/);
    expect(svc.validate(params('getty@'))[0]?.reason).toMatch(/names a template/);
    expect(svc.validate(params('x'.repeat(250)))[0]?.reason).toMatch(/too long/);
  });
});

describe('svc automatic edges', () => {
  it('GIVEN a system service THEN it wants its unit file in /etc, then /usr/lib, and is found by its uid', () => {
    const search = svc.autoedge!.search(params('web'), 'web');
    expect(search.next()).toEqual([{ type: 'file', key: '/etc/systemd/system/web.service', reversed: true }]);
    expect(search.test([false])).toBe(true);
    expect(search.next()).toEqual([{ type: 'file', key: '/usr/lib/systemd/system/web.service', reversed: true }]);
    expect(svc.autoedge!.uids(params('web'), 'web')).toEqual([{ type: 'svc', key: 'web' }]);
    expect(svc.autoedge!.uids(params('web', { session: true }), 'web')).toEqual([{ type: 'svc', key: 'session/web' }]);
  });

  it('GIVEN a session service and its unit file managed in ~/.config/systemd/user WHEN compiled THEN the unit file comes first', async () => {
    const dir = await tempDir();
    vi.stubEnv('HOME', join(dir, 'home'));
    const yaml = join(dir, 'graph.yaml');
    await writeFile(
      yaml,
      [
        'graph: svc-edges',
        'resources:',
        '  file:',
        '  - name: unit',
        `    path: "${dir}/home/.config/systemd/user/web.service"`,
        '    content: "x"',
        '  - name: system-unit',
        '    path: "/etc/systemd/system/web.service"',
        '    content: "x"',
        '  svc:',
        '  - name: web',
        '    session: true',
        '    state: running',
        '',
      ].join('\n'),
    );
    const { graph } = await loadGraph(yaml, { strict: true });
    // The system unit file is not the session service's: only its own unit file orders it.
    expect(graph.edges.map((edge) => `${edge.from} -> ${edge.to}`)).toEqual(['file[unit] -> svc[web]']);
  });
});

describe.skipIf(skipSystemdReason !== undefined)(`svc against a real systemd --user${skipSystemdReason ? ` (skipped: ${skipSystemdReason})` : ''}`, () => {
  const userManager = useUserManager();

  it('GIVEN a stopped service WHEN applied with state running THEN it is started, and the next check finds it correct', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live, ctx } = start(manager, 'web', { state: 'running' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await manager.show('web.service', 'ActiveState')).toBe('active');
    expect(await live.checkApply(true, never)).toBe(true);
    expect(ctx.logs.map((entry) => entry.message)).toContain('started web.service');
  });

  it('GIVEN a running service WHEN applied with state stopped THEN it is stopped', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    expect((await manager.systemctl('start', 'web.service')).code).toBe(0);
    const { live } = start(manager, 'web', { state: 'stopped' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await manager.show('web.service', 'ActiveState')).toBe('inactive');
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a wrong state WHEN checked without apply (noop) THEN it reports the difference and changes nothing', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live } = start(manager, 'web', { state: 'running', startup: 'enabled' });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(await manager.show('web.service', 'ActiveState')).toBe('inactive');
    expect(await manager.show('web.service', 'UnitFileState')).toBe('disabled');
  });

  it('GIVEN startup enabled, then disabled WHEN applied THEN the unit file is enabled, then disabled', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const enabled = start(manager, 'web', { startup: 'enabled' });
    expect(await enabled.live.checkApply(true, never)).toBe(false);
    expect((await manager.systemctl('is-enabled', 'web.service')).stdout.trim()).toBe('enabled');
    expect(await enabled.live.checkApply(true, never)).toBe(true);
    // startup alone leaves the run state alone
    expect(await manager.show('web.service', 'ActiveState')).toBe('inactive');

    const disabled = start(manager, 'web', { startup: 'disabled' });
    expect(await disabled.live.checkApply(true, never)).toBe(false);
    expect((await manager.systemctl('is-enabled', 'web.service')).stdout.trim()).toBe('disabled');
    expect(await disabled.live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a unit without an [Install] section WHEN enabled THEN it fails saying why', async () => {
    const manager = await userManager();
    await manager.writeUnit('plain.service', '[Service]\nExecStart=/bin/sleep infinity\n');
    const { live } = start(manager, 'plain', { startup: 'enabled' });
    await expect(live.checkApply(true, never)).rejects.toThrow('startup enabled: plain.service is still "static" after enabling it: a unit without an [Install] section cannot be enabled');
  });

  it('GIVEN no unit file WHEN checked THEN it fails with one line naming the unit and where its file belongs', async () => {
    const manager = await userManager();
    const { live } = start(manager, 'ghost', { state: 'running' });
    const err = await live.checkApply(true, never).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe('unit ghost.service not found by the user manager: there is no unit file for it (a user unit lives in ~/.config/systemd/user/ghost.service)');
  });

  it('GIVEN a pending refresh and a running service WHEN applied THEN it is restarted (a new main pid)', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live, ctx } = start(manager, 'web', { state: 'running' });
    await live.checkApply(true, never);
    const before = await manager.show('web.service', 'MainPID');
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    const after = await manager.show('web.service', 'MainPID');
    expect(after).not.toBe(before);
    expect(Number(after)).toBeGreaterThan(0);
    ctx.setRefresh(false);
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a service that can reload and a pending refresh WHEN applied THEN it is reloaded, not restarted (same main pid)', async () => {
    const manager = await userManager();
    const reloads = join(manager.home, 'reloads');
    await manager.writeUnit('web.service', simpleService().replace('[Install]', `ExecReload=/bin/sh -c 'echo reloaded >> ${reloads}'\n\n[Install]`));
    const { live, ctx } = start(manager, 'web', { state: 'running' });
    await live.checkApply(true, never);
    const before = await manager.show('web.service', 'MainPID');
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await manager.show('web.service', 'MainPID')).toBe(before);
    expect(await readFile(reloads, 'utf8')).toBe('reloaded\n');
  });

  it('GIVEN a pending refresh and a service that is and should be stopped WHEN applied THEN it stays stopped', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live, ctx } = start(manager, 'web', { state: 'stopped' });
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await manager.show('web.service', 'ActiveState')).toBe('inactive');
  });

  it('GIVEN a pending refresh and a stopped service that should be started WHEN applied THEN the start covers it (one start, no restart)', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live, ctx } = start(manager, 'web', { state: 'running' });
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(ctx.logs.map((entry) => entry.message)).toEqual(expect.arrayContaining(['started web.service', 'refresh covered by the start']));
    expect(ctx.logs.map((entry) => entry.message)).not.toContain('reloaded or restarted web.service (refresh)');
  });

  it('GIVEN the unit file changed on disk WHEN refreshed THEN the manager reloads first and the service runs the new command', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live, ctx } = start(manager, 'web', { state: 'running' });
    await live.checkApply(true, never);
    await manager.writeUnit('web.service', simpleService().replace('/bin/sleep infinity', '/bin/sleep 86400'));
    ctx.setRefresh(true);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(await manager.show('web.service', 'NeedDaemonReload')).toBe('no');
    expect(await manager.show('web.service', 'ExecStart')).toContain('86400');
  });

  it('GIVEN a watched service WHEN stopped behind its back THEN the watch reports it', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live } = start(manager, 'web', { state: 'running' });
    await live.checkApply(true, never);
    const watch = record(live.watch());
    try {
      await watch.next(); // ready
      const changed = watch.next();
      expect((await manager.systemctl('stop', 'web.service')).code).toBe(0);
      await changed;
      expect(await live.checkApply(false, never)).toBe(false);
      expect(await live.checkApply(true, never)).toBe(false);
      expect(await manager.show('web.service', 'ActiveState')).toBe('active');
    } finally {
      watch.unsubscribe();
    }
  });

  it('GIVEN a daemon reload WHEN watched THEN the watch reports it (unit files may have changed)', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live } = start(manager, 'web');
    const watch = record(live.watch());
    try {
      await watch.next();
      const changed = watch.next();
      expect((await manager.systemctl('daemon-reload')).code).toBe(0);
      await changed;
    } finally {
      watch.unsubscribe();
    }
  });

  it('GIVEN an aborted signal WHEN applied THEN checkApply rejects with its reason and starts nothing', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const { live } = start(manager, 'web', { state: 'running' });
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(live.checkApply(true, controller.signal)).rejects.toThrow('stop now');
    expect(await manager.show('web.service', 'ActiveState')).toBe('inactive');
  });

  it('GIVEN a service whose start fails WHEN applied THEN the error names the unit and the job result', async () => {
    const manager = await userManager();
    await manager.writeUnit('broken.service', '[Service]\nType=oneshot\nExecStart=/bin/false\n');
    const { live } = start(manager, 'broken', { state: 'running' });
    await expect(live.checkApply(true, never)).rejects.toThrow(/^start of broken\.service failed \(job result "failed"/);
  });
});

describe('svc without a manager to talk to', () => {
  it('GIVEN no bus at the address WHEN checked THEN the error says which manager and address could not be reached', async () => {
    const dir = await tempDir();
    vi.stubEnv('DBUS_SYSTEM_BUS_ADDRESS', `unix:path=${dir}/no-bus`);
    const ctx = makeContext('svc', 'web');
    const live = svc.init(params('web', { state: 'running' }), ctx);
    lives.push(live);
    await expect(live.checkApply(true, never)).rejects.toThrow(`cannot talk to the system manager at unix:path=${dir}/no-bus: cannot connect to D-Bus at unix:path=${dir}/no-bus`);
    const watch = record(live.watch());
    await expect(watch.failed()).resolves.toBeInstanceOf(Error);
  });
});
