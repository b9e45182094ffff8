// A small typed client of systemd's manager over D-Bus (org.freedesktop.systemd1), on the system
// bus or on a user manager's bus, sharing one connection per bus per process (connection.ts).
// Jobs are started in mode "fail" and awaited: a call such as startUnit resolves only once
// systemd reports the job's result, and rejects unless that result is "done".

import { Observable } from 'rxjs';
import { errorMessage } from '../errors.js';
import { abortable } from '../os/time.js';
import { busAddress, busWatch, DBusCallError, leaseBus, type BusConnection, type BusKind, type BusLease, type BusSignal, type Env, type MethodCall } from './connection.js';

/** SystemdBus says which manager to talk to: the system one, or the user manager (`systemd --user`). */
export type SystemdBus = BusKind;

const SERVICE = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
const UNIT = 'org.freedesktop.systemd1.Unit';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
// A unit name is at most 255 characters (systemd's UNIT_NAME_MAX, less its NUL).
const UNIT_NAME_MAX = 255;

/** UnitStatus is what a unit's state is made of, as the Unit interface's properties say. */
export interface UnitStatus {
  /** `loaded`, `not-found`, `bad-setting`, `error`, `masked`, ... */
  readonly loadState: string;
  /** `active`, `reloading`, `inactive`, `failed`, `activating`, `deactivating`, ... */
  readonly activeState: string;
  /** The unit type's own state (`running`, `dead`, `stop-sigterm`, ...). */
  readonly subState: string;
  /** `enabled`, `disabled`, `static`, `masked`, `enabled-runtime`, ... or "" when systemd does not know. */
  readonly unitFileState: string;
  /** The unit file changed on disk since systemd loaded it: a daemon reload is due. */
  readonly needDaemonReload: boolean;
  /** The job queued for the unit (a start or stop in progress), if any. */
  readonly job: { readonly id: number; readonly path: string } | undefined;
  /** Why the unit could not be loaded (LoadError), "" when it could. */
  readonly loadError: string;
}

/** UnitFileChange is one change EnableUnitFiles or DisableUnitFiles made (`symlink` or `unlink`, the link, its target). */
export interface UnitFileChange {
  readonly type: string;
  readonly file: string;
  readonly destination: string;
}

/** UnitWatchEvent is what unitChanges emits: `ready` first, then one `changed` per PropertiesChanged of the unit. */
export type UnitWatchEvent =
  | { readonly type: 'ready' }
  | { readonly type: 'changed'; readonly interface: string; readonly properties: Readonly<Record<string, unknown>> };

/** ReloadingEvent is what reloading emits: `ready` first, then `reloading` with whether a reload starts (true) or ended (false). */
export type ReloadingEvent = { readonly type: 'ready' } | { readonly type: 'reloading'; readonly active: boolean };

/** JobMode is how systemd merges a new job with those queued: "fail" refuses to undo a queued job. */
export type JobMode = 'fail' | 'replace';

/** SystemdError is a failed systemd operation; its message names the unit and what went wrong. */
export class SystemdError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SystemdError';
  }
}

/**
 * openSystemd returns a client of the manager on `bus`. It shares the process's connection to
 * that bus (opened on first use); `release` gives the share back.
 */
export function openSystemd(bus: SystemdBus, env: Env = process.env): SystemdClient {
  return new SystemdClient(bus, leaseBus(busAddress(bus, env)));
}

/** SystemdClient calls one manager's D-Bus API; every method names the unit in its errors. */
export class SystemdClient {
  readonly bus: SystemdBus;
  private readonly lease: BusLease;

  constructor(bus: SystemdBus, lease: BusLease) {
    this.bus = bus;
    this.lease = lease;
  }

  /** address is the D-Bus address of the manager's bus. */
  get address(): string {
    return this.lease.address;
  }

  /** release gives this client's share of the connection back; the client is unusable after it. */
  release(): void {
    this.lease.release();
  }

  /** loadUnit loads a unit (if it is not loaded) and returns its object path; a missing unit loads as `not-found`. */
  async loadUnit(name: string, signal?: AbortSignal): Promise<string> {
    const [path] = await this.managerCall('LoadUnit', 's', [name], signal, `look up unit ${name}`);
    return path as string;
  }

  /** getUnit returns the object path of a loaded unit, or undefined when systemd has not loaded it. */
  async getUnit(name: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const [path] = await this.managerCall('GetUnit', 's', [name], signal, `look up unit ${name}`);
      return path as string;
    } catch (err) {
      if (err instanceof SystemdError && err.cause instanceof DBusCallError && err.cause.type === `${SERVICE}.NoSuchUnit`) return undefined;
      throw err;
    }
  }

  /** unitStatus reads a unit's load, active, sub and unit-file states and its queued job in one round trip. */
  async unitStatus(path: string, signal?: AbortSignal): Promise<UnitStatus> {
    const props = await this.getAll(path, UNIT, signal);
    const job = props.Job as [number, string] | undefined;
    const loadError = props.LoadError as [string, string] | undefined;
    return {
      loadState: String(props.LoadState ?? ''),
      activeState: String(props.ActiveState ?? ''),
      subState: String(props.SubState ?? ''),
      unitFileState: String(props.UnitFileState ?? ''),
      needDaemonReload: props.NeedDaemonReload === true,
      job: job && job[0] !== 0 ? { id: job[0], path: job[1] } : undefined,
      loadError: loadError?.[1] ?? '',
    };
  }

  /**
   * settledUnitStatus reads a unit's status once no job is queued for it: a start or stop in
   * progress (someone's `systemctl stop`) is waited for first, at most `maxWaits` times, so the
   * caller decides on a state that holds and its own job does not collide with a queued one.
   */
  async settledUnitStatus(path: string, signal?: AbortSignal, maxWaits = 8): Promise<UnitStatus> {
    const conn = await this.connection(signal);
    // Listening for JobRemoved before the read, so a job that ends right after it is not missed.
    const jobs = await this.jobs(conn, signal);
    for (let waits = 0; ; waits++) {
      const status = await this.unitStatus(path, signal);
      if (!status.job || waits === maxWaits) return status;
      await jobs.wait(status.job.path, signal);
    }
  }

  /** getProperty reads one property of an object of the manager (e.g. a service's MainPID). */
  async getProperty(path: string, iface: string, name: string, signal?: AbortSignal): Promise<unknown> {
    const conn = await this.connection(signal);
    const [value] = await this.call(conn, { destination: SERVICE, path, interface: PROPERTIES, member: 'Get', signature: 'ss', body: [iface, name] }, signal, `read ${name} of ${path}`);
    return unwrap(value);
  }

  /** startUnit starts a unit and waits for the job to finish; it rejects unless the job's result is "done". */
  startUnit(name: string, signal?: AbortSignal, mode: JobMode = 'fail'): Promise<void> {
    return this.runJob('StartUnit', 'start', name, mode, signal);
  }

  /** stopUnit stops a unit and waits for the job to finish, like startUnit. */
  stopUnit(name: string, signal?: AbortSignal, mode: JobMode = 'fail'): Promise<void> {
    return this.runJob('StopUnit', 'stop', name, mode, signal);
  }

  /** reloadOrTryRestartUnit reloads a running unit (restarts it if it cannot reload) and leaves a stopped one alone. */
  reloadOrTryRestartUnit(name: string, signal?: AbortSignal, mode: JobMode = 'fail'): Promise<void> {
    return this.runJob('ReloadOrTryRestartUnit', 'reload-or-try-restart', name, mode, signal);
  }

  /** resetFailedUnit forgets that a unit failed (`systemctl reset-failed`); a unit systemd has not loaded has nothing to forget. */
  async resetFailedUnit(name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.managerCall('ResetFailedUnit', 's', [name], signal, `reset the failed state of ${name}`);
    } catch (err) {
      if (!(err instanceof SystemdError && err.cause instanceof DBusCallError && err.cause.type === `${SERVICE}.NoSuchUnit`)) throw err;
    }
  }

  /** enableUnitFiles enables unit files (persistently), returning the links systemd made; call reload afterwards. */
  async enableUnitFiles(names: readonly string[], signal?: AbortSignal): Promise<readonly UnitFileChange[]> {
    const [, changes] = await this.managerCall('EnableUnitFiles', 'asbb', [[...names], false, false], signal, `enable ${names.join(', ')}`);
    return toChanges(changes);
  }

  /** disableUnitFiles disables unit files (`runtime`: the links under /run), returning the links removed; call reload afterwards. */
  async disableUnitFiles(names: readonly string[], runtime = false, signal?: AbortSignal): Promise<readonly UnitFileChange[]> {
    const [changes] = await this.managerCall('DisableUnitFiles', 'asb', [[...names], runtime], signal, `disable ${names.join(', ')}`);
    return toChanges(changes);
  }

  /** reload makes the manager reload its configuration (daemon-reload) and resolves when it is done. */
  async reload(signal?: AbortSignal): Promise<void> {
    await this.managerCall('Reload', '', [], signal, 'reload its configuration');
  }

  /**
   * unitChanges watches the PropertiesChanged signals of the unit at `path` (its state changes):
   * it emits `ready` once they are subscribed to, then one event per signal. It errors when the
   * connection to the bus is lost.
   */
  unitChanges(path: string): Observable<UnitWatchEvent> {
    return this.watchSignals<UnitWatchEvent>({ path, interface: PROPERTIES, member: 'PropertiesChanged' }, (signal) => ({
      type: 'changed',
      interface: String(signal.body[0]),
      properties: unwrapAll(signal.body[1]),
    }));
  }

  /** reloading watches the manager's Reloading signal (a daemon reload starts: true, ends: false), `ready` first. */
  reloading(): Observable<ReloadingEvent> {
    return this.watchSignals<ReloadingEvent>({ path: MANAGER_PATH, interface: MANAGER, member: 'Reloading' }, (signal) => ({
      type: 'reloading',
      active: signal.body[0] === true,
    }));
  }

  private watchSignals<T extends { readonly type: string }>(rule: { path: string; interface: string; member: string }, toEvent: (signal: BusSignal) => T): Observable<T> {
    return busWatch<T>(async ({ signal, keep, next, error }) => {
      const conn = await this.connection(signal);
      keep(conn.onClose((err) => error(this.lost(err))));
      // Systemd sends most signals only while a client is subscribed.
      await this.subscribed(conn, signal);
      keep(await conn.listen({ sender: SERVICE, ...rule }, (bus) => next(toEvent(bus)), signal));
      if (!signal.aborted) next({ type: 'ready' } as T);
    });
  }

  private async runJob(method: string, verb: string, name: string, mode: JobMode, signal: AbortSignal | undefined): Promise<void> {
    const conn = await this.connection(signal);
    // The JobRemoved listener is in place before the job exists, so its end cannot be missed.
    const jobs = await this.jobs(conn, signal);
    const [job] = await this.call(conn, managerMethod(method, 'ss', [name, mode]), signal, `${verb} ${name}`);
    const { result } = await jobs.wait(job as string, signal);
    if (result !== 'done') throw new SystemdError(`${verb} of ${name} ${JOB_RESULTS[result] ?? `ended with job result "${result}"`}`);
  }

  private async getAll(path: string, iface: string, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    const conn = await this.connection(signal);
    const [props] = await this.call(conn, { destination: SERVICE, path, interface: PROPERTIES, member: 'GetAll', signature: 's', body: [iface] }, signal, `read the properties of ${path}`);
    return unwrapAll(props);
  }

  private async managerCall(member: string, signature: string, body: readonly unknown[], signal: AbortSignal | undefined, what: string): Promise<unknown[]> {
    const conn = await this.connection(signal);
    return this.call(conn, managerMethod(member, signature, body), signal, what);
  }

  private async call(conn: BusConnection, method: MethodCall, signal: AbortSignal | undefined, what: string): Promise<unknown[]> {
    try {
      return await conn.call(method, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw this.explain(err, what);
    }
  }

  private async connection(signal?: AbortSignal): Promise<BusConnection> {
    signal?.throwIfAborted();
    try {
      return await this.lease.connection();
    } catch (err) {
      throw this.lost(err);
    }
  }

  private managerName(): string {
    return this.bus === 'system' ? 'the system manager' : 'the user manager';
  }

  /** lost explains a connection that could not be opened or went away. */
  private lost(err: unknown): SystemdError {
    const hint = this.bus === 'user' ? ' (is `systemd --user` running? its bus is $XDG_RUNTIME_DIR/bus or DBUS_SESSION_BUS_ADDRESS)' : ' (is systemd running and the system bus up?)';
    return new SystemdError(`cannot talk to ${this.managerName()} at ${this.address}: ${errorMessage(err)}${hint}`, { cause: err });
  }

  /** explain turns a failed call into an error saying what was tried, on which manager, and why it failed. */
  private explain(err: unknown, what: string): SystemdError {
    if (err instanceof DBusCallError) {
      if (err.type === 'org.freedesktop.DBus.Error.ServiceUnknown' || err.type === 'org.freedesktop.DBus.Error.NameHasNoOwner') {
        return new SystemdError(`cannot ${what}: ${this.managerName()} is not on the bus at ${this.address} (${err.message})`, { cause: err });
      }
      return new SystemdError(`cannot ${what}: ${err.message}`, { cause: err });
    }
    return this.lost(err);
  }

  private subscribed(conn: BusConnection, signal?: AbortSignal): Promise<void> {
    const state = stateOf(conn);
    state.subscribed ??= conn.call(managerMethod('Subscribe', '', [])).then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof DBusCallError && err.type === `${SERVICE}.AlreadySubscribed`) return;
        state.subscribed = undefined; // the next caller tries again
        throw this.explain(err, 'subscribe to its signals');
      },
    );
    return abortable(state.subscribed, signal);
  }

  private jobs(conn: BusConnection, signal?: AbortSignal): Promise<JobTracker> {
    const state = stateOf(conn);
    state.jobs ??= (async () => {
      const tracker = new JobTracker(conn);
      await this.subscribed(conn);
      await conn.listen({ sender: SERVICE, path: MANAGER_PATH, interface: MANAGER, member: 'JobRemoved' }, (s) => tracker.removed(s));
      return tracker;
    })().catch((err: unknown) => {
      state.jobs = undefined;
      throw err;
    });
    return abortable(state.jobs, signal);
  }
}

/** What each connection has set up with systemd once: the signal subscription and the JobRemoved listener. */
interface ConnectionState {
  subscribed?: Promise<void>;
  jobs?: Promise<JobTracker>;
}

const connectionState = new WeakMap<BusConnection, ConnectionState>();

function stateOf(conn: BusConnection): ConnectionState {
  let state = connectionState.get(conn);
  if (!state) {
    state = {};
    connectionState.set(conn, state);
  }
  return state;
}

// How a job result other than "done" reads in an error (systemd's JobRemoved results).
const JOB_RESULTS: Readonly<Record<string, string>> = {
  failed: 'failed (job result "failed"; see `systemctl status` and the journal of the unit)',
  canceled: 'was canceled (job result "canceled": another job replaced it)',
  timeout: 'timed out (job result "timeout")',
  dependency: 'failed because a unit it depends on failed (job result "dependency")',
  skipped: 'was skipped (job result "skipped": the unit was not active)',
  invalid: 'is not possible for this unit (job result "invalid")',
  assert: 'failed an Assert condition of the unit (job result "assert")',
  unsupported: 'is not supported by this unit type (job result "unsupported")',
  collected: 'was garbage-collected before it ran (job result "collected")',
  once: 'was refused: the unit runs only once (job result "once")',
};

/** JobEnd is what JobRemoved says of a job: the unit and the result. */
interface JobEnd {
  readonly unit: string;
  readonly result: string;
}

// A JobRemoved may arrive before the caller asks for the job (in the same read as the reply that
// named the job): ends nobody waits for are kept, the oldest dropped beyond this many.
const KEPT_JOB_ENDS = 256;

/** JobTracker pairs JobRemoved signals with the callers waiting for those jobs, on one connection. */
class JobTracker {
  private readonly waiters = new Map<string, Set<(end: JobEnd) => void>>();
  private readonly ended = new Map<string, JobEnd>();

  constructor(private readonly conn: BusConnection) {}

  removed(signal: BusSignal): void {
    const [, path, unit, result] = signal.body as [number, string, string, string];
    const end = { unit: String(unit), result: String(result) };
    const waiting = this.waiters.get(path);
    if (waiting) {
      this.waiters.delete(path);
      for (const wake of waiting) wake(end);
      return;
    }
    this.ended.set(path, end);
    if (this.ended.size > KEPT_JOB_ENDS) this.ended.delete(this.ended.keys().next().value!);
  }

  wait(path: string, signal?: AbortSignal): Promise<JobEnd> {
    const ended = this.ended.get(path);
    if (ended) {
      this.ended.delete(path);
      return Promise.resolve(ended);
    }
    return new Promise<JobEnd>((resolve, reject) => {
      const done = (): void => {
        stopClose();
        signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(path);
        set?.delete(wake);
        if (set?.size === 0) this.waiters.delete(path);
      };
      const wake = (end: JobEnd): void => {
        done();
        resolve(end);
      };
      const onAbort = (): void => {
        done();
        reject(signal!.reason);
      };
      const stopClose = this.conn.onClose((err) => {
        done();
        reject(new SystemdError(`lost the bus while waiting for job ${path}: ${err.message}`, { cause: err }));
      });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(path);
      if (!set) {
        set = new Set();
        this.waiters.set(path, set);
      }
      set.add(wake);
    });
  }
}

function managerMethod(member: string, signature: string, body: readonly unknown[]): MethodCall {
  return { destination: SERVICE, path: MANAGER_PATH, interface: MANAGER, member, signature, body };
}

/** unwrap takes the value out of a dbus-next Variant. */
function unwrap(value: unknown): unknown {
  return typeof value === 'object' && value !== null && 'signature' in value && 'value' in value ? (value as { value: unknown }).value : value;
}

function unwrapAll(props: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((props ?? {}) as Record<string, unknown>)) out[key] = unwrap(value);
  return out;
}

function toChanges(changes: unknown): UnitFileChange[] {
  return ((changes ?? []) as [string, string, string][]).map(([type, file, destination]) => ({ type, file, destination }));
}

/**
 * unitNameProblem says what is wrong with a service name (the unit name without `.service`), or
 * returns undefined when systemd accepts it: letters, digits and `:-_.\`, at most one `@` with an
 * instance after it, 255 characters in all with the suffix.
 */
export function unitNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.endsWith('.service')) return `"${name}" ends with .service, which is added to the name: write "${name.slice(0, -'.service'.length)}"`;
  const match = /^([A-Za-z0-9:_.\\-]+)(?:@([A-Za-z0-9:_.\\-]*))?$/.exec(name);
  if (!match) return `"${name}" is not a valid unit name: use letters, digits and ":-_.\\", and "@" once before an instance`;
  if (match[2] === '') return `"${name}" names a template; name an instance of it, such as "${name}1"`;
  if (name.length + '.service'.length > UNIT_NAME_MAX) return `"${name}" is too long: a unit name has at most ${UNIT_NAME_MAX} characters`;
  return undefined;
}
