// The D-Bus layer under svc (src/dbus/connection.ts, src/dbus/systemd.ts), against a real
// systemd --user. It lives beside the svc tests because it needs their user manager.

import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { leaseBus } from '../../src/dbus/connection.js';
import { openSystemd, SystemdClient, unitNameProblem, type UnitWatchEvent } from '../../src/dbus/systemd.js';
import { simpleService, skipSystemdReason, useUserManager } from '../helpers/systemd.js';

describe('systemd unit names', () => {
  it('GIVEN service names THEN only those systemd accepts pass', () => {
    for (const name of ['web', 'getty@tty1', 'a-b_c.d:e', 'x\\x2dy']) expect(unitNameProblem(name), name).toBeUndefined();
    expect(unitNameProblem('')).toBe('is empty');
    expect(unitNameProblem('a b')).toMatch(/not a valid unit name/);
    expect(unitNameProblem('a@b@c')).toMatch(/not a valid unit name/);
  });
});

describe.skipIf(skipSystemdReason !== undefined)(`SystemdClient on a real systemd --user${skipSystemdReason ? ` (skipped: ${skipSystemdReason})` : ''}`, () => {
  const userManager = useUserManager();

  /** client opens a client of the manager's bus, released after the test with the manager. */
  const clientOf = (address: string): SystemdClient => openSystemd('user', { DBUS_SESSION_BUS_ADDRESS: address });

  it('GIVEN a unit nobody used WHEN looked up THEN GetUnit knows nothing of it, LoadUnit loads it, and a running unit is known to both', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const client = clientOf(manager.busAddress);
    try {
      expect(await client.getUnit('web.service')).toBeUndefined();
      const path = await client.loadUnit('web.service');
      expect(path).toBe('/org/freedesktop/systemd1/unit/web_2eservice');
      expect(await client.unitStatus(path)).toMatchObject({ loadState: 'loaded', activeState: 'inactive', unitFileState: 'disabled', job: undefined });
      // An inactive unit is unloaded again at once; a running one stays.
      await client.startUnit('web.service');
      expect(await client.getUnit('web.service')).toBe(path);
      expect((await client.unitStatus(await client.loadUnit('ghost.service'))).loadState).toBe('not-found');
    } finally {
      client.release();
    }
  });

  it('GIVEN a unit WHEN started, enabled, disabled and stopped THEN each call returns once systemd is done', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const client = clientOf(manager.busAddress);
    try {
      const path = await client.loadUnit('web.service');
      await client.startUnit('web.service');
      expect((await client.unitStatus(path)).activeState).toBe('active');
      const enabled = await client.enableUnitFiles(['web.service']);
      expect(enabled).toEqual([{ type: 'symlink', file: `${manager.unitDir}/default.target.wants/web.service`, destination: `${manager.unitDir}/web.service` }]);
      await client.reload();
      expect((await client.unitStatus(path)).unitFileState).toBe('enabled');
      expect((await client.disableUnitFiles(['web.service'])).map((change) => change.type)).toEqual(['unlink']);
      await client.reload();
      expect((await client.unitStatus(path)).unitFileState).toBe('disabled');
      await client.stopUnit('web.service');
      expect((await client.unitStatus(path)).activeState).toBe('inactive');
    } finally {
      client.release();
    }
  });

  it('GIVEN a start already queued WHEN the settled status is read THEN it waits for that job to end', async () => {
    const manager = await userManager();
    await manager.writeUnit('slow.service', '[Service]\nExecStartPre=/bin/sleep 0.3\nExecStart=/bin/sleep infinity\n');
    const client = clientOf(manager.busAddress);
    try {
      const path = await client.loadUnit('slow.service');
      expect((await manager.systemctl('start', '--no-block', 'slow.service')).code).toBe(0);
      expect((await client.unitStatus(path)).job).toBeDefined();
      const settled = await client.settledUnitStatus(path);
      expect(settled).toMatchObject({ activeState: 'active', job: undefined });
    } finally {
      client.release();
    }
  });

  it('GIVEN watches of a unit and of reloads WHEN it starts and the manager reloads THEN each says ready, then what changed', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const client = clientOf(manager.busAddress);
    try {
      const path = await client.loadUnit('web.service');
      const events: UnitWatchEvent[] = [];
      const active = firstValueFrom(
        client.unitChanges(path).pipe(
          filter((event) => {
            events.push(event);
            return event.type === 'changed' && event.properties.ActiveState === 'active';
          }),
        ),
      );
      const reloads = firstValueFrom(client.reloading().pipe(take(3), toArray()));
      // Both watches are established before anything happens: ready is their first event.
      await firstValueFrom(client.unitChanges(path));
      await firstValueFrom(client.reloading());
      await client.startUnit('web.service');
      await active;
      expect(events[0]).toEqual({ type: 'ready' });
      await client.reload();
      expect(await reloads).toEqual([{ type: 'ready' }, { type: 'reloading', active: true }, { type: 'reloading', active: false }]);
    } finally {
      client.release();
    }
  });

  it('GIVEN clients of one bus THEN they share one connection, closed with the last release', async () => {
    const manager = await userManager();
    const one = leaseBus(manager.busAddress);
    const two = leaseBus(manager.busAddress);
    const conn = await one.connection();
    expect(await two.connection()).toBe(conn);
    expect(await manager.client.getUnit('init.scope')).toBeDefined(); // the manager's own client: a third share
    one.release();
    two.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(conn.closed).toBeUndefined();
    manager.client.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(conn.closed?.message).toMatch(/was closed/);
  });

  it('GIVEN a watch and a job in flight WHEN the manager goes away THEN the watch errors and calls fail instead of hanging', async () => {
    const manager = await userManager();
    await manager.writeUnit('web.service', simpleService());
    const client = clientOf(manager.busAddress);
    try {
      const path = await client.loadUnit('web.service');
      let watchError: unknown;
      const watching = new Promise<void>((ready) => {
        client.unitChanges(path).subscribe({ next: (event) => event.type === 'ready' && ready(), error: (err: unknown) => (watchError = err) });
      });
      await watching;
      await manager.stop();
      await expect(client.unitStatus(path)).rejects.toThrow(/cannot (talk to the user manager|read the properties)/);
      expect(String(watchError)).toMatch(/cannot talk to the user manager at unix:path=.*: D-Bus connection to .* (was closed|failed)/);
    } finally {
      client.release();
    }
  });
});
