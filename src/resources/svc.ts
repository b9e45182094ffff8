import { homedir } from 'node:os';
import { defer, filter, from, switchMap } from 'rxjs';
import { whenAllReady } from '../../streams/when-all-ready.js';
import { abortable } from '../os/time.js';
import { openSystemd, SystemdError, unitNameProblem, type SystemdClient, type UnitStatus } from '../dbus/systemd.js';
import type { ResourceContext } from '../core/context.js';
import type { LiveResource, ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';
import { svcSearch, svcUid, userDirsOf } from './uids.js';

/** svcParams declares the YAML parameters of a svc resource; "" leaves that part of the service alone. */
export const svcParams = paramTable({
  state: { type: 'string', doc: 'running or stopped; "" leaves it alone', default: '' },
  startup: { type: 'string', doc: 'enabled or disabled (started at boot/login or not); "" leaves it alone', default: '' },
  // The user manager listens on `$XDG_RUNTIME_DIR/bus`.
  session: { type: 'bool', doc: 'a unit of the user manager (systemd --user) instead of the system manager', default: false },
});

/** SvcParams are the parameters of a svc resource, with its unit `<name>.service`: set from the resource name, not a YAML key. */
export type SvcParams = ParamsOf<typeof svcParams> & { readonly unit: string };

const svcDefaults = defaultsOf(svcParams);

const SUFFIX = '.service';
const STATES = ['running', 'stopped', ''] as const;
const STARTUPS = ['enabled', 'disabled', ''] as const;
// ActiveStates in which the service counts as running ("reloading" is active, reloading its configuration).
const RUNNING: ReadonlySet<string> = new Set(['active', 'reloading']);
// UnitFileStates that start the unit at boot or login; `-runtime` ones only until the next one.
const ENABLED: ReadonlySet<string> = new Set(['enabled', 'enabled-runtime']);
const UNIT = 'org.freedesktop.systemd1.Unit';

/** svc keeps a systemd service running or stopped, enabled or disabled, over D-Bus; a refresh reloads or restarts it. */
export const svc: ResourceKind<SvcParams> = {
  kind: 'svc',
  doc: 'a systemd service (<name>.service): running or stopped, enabled or disabled; refreshed = reload-or-try-restart',
  params: svcParams,
  refreshable: true,

  defaults: (name) => ({ ...svcDefaults(name), unit: name + SUFFIX }),

  validate(p) {
    const problems: ParamProblem[] = [];
    if (!(STATES as readonly unknown[]).includes(p.state)) {
      problems.push({ param: 'state', reason: `must be "running", "stopped" or "" (leave alone), got ${describe(p.state)}` });
    }
    if (!(STARTUPS as readonly unknown[]).includes(p.startup)) {
      problems.push({ param: 'startup', reason: `must be "enabled", "disabled" or "" (leave alone), got ${describe(p.startup)}` });
    }
    const nameProblem = p.unit.endsWith(SUFFIX) ? unitNameProblem(p.unit.slice(0, -SUFFIX.length)) : `unit "${p.unit}" does not end with ${SUFFIX}`;
    if (nameProblem !== undefined) problems.push({ param: 'name', reason: nameProblem });
    return problems;
  },

  init: (params, ctx) => createLiveSvc(params, ctx),

  // A service comes after the unit file that defines it, the first of systemd's places that is
  // managed; a package shipping the unit finds the service by its uid.
  autoedge: {
    uids: (p, name) => [svcUid(name, p.session)],
    search: (p, name) => svcSearch(name, p.session, userDirsOf(process.env, homedir())),
  },
};

function createLiveSvc(p: SvcParams, ctx: ResourceContext): LiveResource {
  const manager = p.session ? 'the user manager' : 'the system manager';
  let client: SystemdClient | undefined;
  // One client per resource, opened on first use: init must not touch the system.
  const systemd = (): SystemdClient => (client ??= openSystemd(p.session ? 'user' : 'system'));
  // A unit's object path follows from its name, so one lookup serves every later check (systemd
  // loads a unit again when its path is used after it was unloaded).
  // The lookup is shared, so no caller's abort cuts it short for the others.
  let unitPath: Promise<string> | undefined;
  const pathOf = (client: SystemdClient, signal?: AbortSignal): Promise<string> => {
    unitPath ??= client.loadUnit(p.unit).catch((err: unknown) => {
      unitPath = undefined;
      throw err;
    });
    return abortable(unitPath, signal);
  };

  const assertUsable = (status: UnitStatus): void => {
    switch (status.loadState) {
      case 'not-found':
        throw new SystemdError(`unit ${p.unit} not found by ${manager}: there is no unit file for it${unitFileHint(p)}`);
      case 'bad-setting':
      case 'error':
        throw new SystemdError(`unit ${p.unit} could not be loaded by ${manager} (${status.loadState})${status.loadError ? `: ${status.loadError}` : ''}`);
      case 'masked':
        if (p.state === 'running' || p.startup === 'enabled') {
          throw new SystemdError(`unit ${p.unit} is masked, so it cannot be ${p.state === 'running' ? 'started' : 'enabled'} (unmask it: systemctl${p.session ? ' --user' : ''} unmask ${p.unit})`);
        }
    }
  };

  const applyStartup = async (systemd: SystemdClient, path: string, status: UnitStatus, signal: AbortSignal): Promise<void> => {
    const enable = p.startup === 'enabled';
    const changes = enable
      ? await systemd.enableUnitFiles([p.unit], signal)
      : await systemd.disableUnitFiles([p.unit], status.unitFileState === 'enabled-runtime', signal);
    // The manager reads unit file states once; a reload makes it see the new links.
    await systemd.reload(signal);
    const after = await systemd.unitStatus(path, signal);
    if (!startupOK(after)) {
      const why = enable && after.unitFileState === 'static' ? ': a unit without an [Install] section cannot be enabled' : '';
      throw new SystemdError(`startup ${p.startup}: ${p.unit} is still "${after.unitFileState}" after ${enable ? 'enabling' : 'disabling'} it${why}`);
    }
    ctx.log.info(`${enable ? 'enabled' : 'disabled'} ${p.unit}`, { changes: changes.length });
  };

  const startupOK = (status: UnitStatus): boolean =>
    p.startup === '' || (p.startup === 'enabled' ? status.unitFileState === 'enabled' : !ENABLED.has(status.unitFileState));

  const checkApply = async (apply: boolean, signal: AbortSignal): Promise<boolean> => {
    const client = systemd();
    const path = await pathOf(client, signal);
    const status = await client.settledUnitStatus(path, signal);
    assertUsable(status);
    const running = RUNNING.has(status.activeState);
    const stateOK = p.state === '' || (p.state === 'running') === running;
    const refresh = ctx.refreshPending();
    if (stateOK && startupOK(status) && !refresh) return true;
    if (!apply) return false;

    if (status.needDaemonReload) {
      // The unit file changed on disk (a file resource wrote it): start or restart what it says now.
      ctx.log.info(`reloading ${manager}: ${p.unit} changed on disk`);
      await client.reload(signal);
    }
    if (!startupOK(status)) await applyStartup(client, path, status, signal);
    if (!stateOK) {
      if (p.state === 'running') await client.startUnit(p.unit, signal);
      else await client.stopUnit(p.unit, signal);
      ctx.log.info(`${p.state === 'running' ? 'started' : 'stopped'} ${p.unit}`, { was: status.activeState });
      if (refresh) ctx.log.debug(`refresh covered by the ${p.state === 'running' ? 'start' : 'stop'}`);
    } else if (refresh) {
      // A refresh with no start or stop: reload (or restart) a running service; a stopped one stays so.
      await client.reloadOrTryRestartUnit(p.unit, signal);
      ctx.log.info(`reloaded or restarted ${p.unit} (refresh)`, { was: status.activeState });
    }
    return false;
  };

  return {
    // Its state changes (someone's `systemctl stop`) and the manager's reloads (unit files and
    // their links read again) are the events; the first of both is "ready".
    watch: () =>
      defer(() => {
        const client = systemd();
        return from(pathOf(client)).pipe(
          switchMap((path) =>
            whenAllReady<unknown>([
              client.unitChanges(path).pipe(filter((event) => event.type === 'ready' || event.interface === UNIT)),
              client.reloading().pipe(filter((event) => event.type === 'ready' || !event.active)),
            ]),
          ),
        );
      }),

    checkApply,

    async cleanup() {
      client?.release();
      client = undefined;
    },
  };
}

/** unitFileHint says where the unit file of a service belongs. */
function unitFileHint(p: SvcParams): string {
  return p.session ? ` (a user unit lives in ~/.config/systemd/user/${p.unit})` : ` (a system unit lives in /etc/systemd/system/${p.unit})`;
}

function describe(value: unknown): string {
  return `${JSON.stringify(value)} (${typeof value})`;
}
