// A real `systemd --user` for tests: systemd refuses to run
// a user manager on a host it did not boot, so it runs in a private mount namespace with a tmpfs
// on /run/systemd holding /run/systemd/system (the "booted by systemd" mark), in a cgroup of its
// own, with HOME and XDG_RUNTIME_DIR in a temp dir. It serves org.freedesktop.systemd1 on
// $XDG_RUNTIME_DIR/bus, where `session: true` svc resources find it. Stopping it kills every
// process it started and removes its cgroups and directories.
//
// The vitest hook is in useUserManager only: the bench (plain node) uses startUserManager.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { BusConnection, leaseBus } from '../../src/dbus/connection.js';
import { SystemdClient, type UnitStatus } from '../../src/dbus/systemd.js';
import { abortable } from '../../src/os/time.js';

const SYSTEMD_BINARIES = ['/usr/lib/systemd/systemd', '/lib/systemd/systemd'];
const SYSTEMD = SYSTEMD_BINARIES.find((path) => existsSync(path));
const IS_ROOT = process.getuid?.() === 0;

/** systemdAvailable is true when a systemd binary and unshare are there to start a user manager with. */
export const systemdAvailable = SYSTEMD !== undefined && ['/usr/bin/unshare', '/bin/unshare'].some((path) => existsSync(path));

/**
 * skipSystemdReason says why the systemd tests are skipped, or is undefined when they must run: in
 * CI (CI set) they always run, so a missing systemd fails them there.
 */
export const skipSystemdReason: string | undefined = process.env.CI
  ? undefined
  : !systemdAvailable
    ? 'systemd is not installed (Debian packages systemd and dbus; CI installs them)'
    : !IS_ROOT
      ? 'a private mount namespace and a cgroup need root'
      : undefined;

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const MANAGER = 'org.freedesktop.systemd1';

/** UserManager is one running `systemd --user` of a test. */
export interface UserManager {
  /** The manager's pid (in the host's pid namespace). */
  readonly pid: number;
  /** Its HOME: user unit files go in `<home>/.config/systemd/user`. */
  readonly home: string;
  /** Where its user units live: `<home>/.config/systemd/user`. */
  readonly unitDir: string;
  /** Its XDG_RUNTIME_DIR, holding the bus socket `bus`. */
  readonly runtimeDir: string;
  /** The D-Bus address of its bus. */
  readonly busAddress: string;
  /** The environment by which clients find it: HOME, XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS. */
  readonly env: Readonly<Record<string, string>>;
  /** client is a SystemdClient of this manager for the test's own observations (released at stop). */
  readonly client: SystemdClient;
  /** writeUnit writes `<unitDir>/<file>` (e.g. `web.service`) and returns its path. */
  writeUnit(file: string, text: string): Promise<string>;
  /** systemctl runs `systemctl --user ARGS` against this manager (never throws; see code). */
  systemctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** show reads one property of a unit with `systemctl --user show` (an observer apart from our D-Bus client). */
  show(unit: string, property: string): Promise<string>;
  /**
   * waitForUnit resolves with the unit's status (and MainPID) once `ready` holds, checking at
   * once and at every state change the manager signals; it rejects after `timeoutMs`.
   */
  waitForUnit(unit: string, ready: (state: UnitState) => boolean, what: string, timeoutMs?: number): Promise<UnitState>;
  /** stop ends the manager and every process in its cgroups, and removes its cgroups and directories. */
  stop(): Promise<void>;
}

/** UnitState is a unit's status with its service's main pid (0 when it has none). */
export interface UnitState extends UnitStatus {
  readonly mainPid: number;
}

/** simpleService returns a unit file for a service that runs `sleep infinity` and is wanted by default.target when enabled. */
export function simpleService(description = 'mgmt test service'): string {
  return ['[Unit]', `Description=${description}`, '', '[Service]', 'ExecStart=/bin/sleep infinity', '', '[Install]', 'WantedBy=default.target', ''].join('\n');
}

let started = 0;

/** startUserManager starts a user manager and resolves once org.freedesktop.systemd1 answers on its bus and its startup finished. */
export async function startUserManager(): Promise<UserManager> {
  if (!SYSTEMD) throw new Error(`no systemd binary (looked for ${SYSTEMD_BINARIES.join(', ')}): install the Debian package systemd`);
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-systemd-'));
  const home = join(dir, 'home');
  const unitDir = join(home, '.config', 'systemd', 'user');
  const runtimeDir = join(dir, 'run');
  await mkdir(unitDir, { recursive: true });
  await mkdir(runtimeDir, { mode: 0o700 });
  const busAddress = `unix:path=${join(runtimeDir, 'bus')}`;
  const env = { HOME: home, XDG_RUNTIME_DIR: runtimeDir, DBUS_SESSION_BUS_ADDRESS: busAddress };

  let cgroups: string[] = [];
  let child: ChildProcess | undefined;
  let client: SystemdClient | undefined;
  let stderr = '';
  const teardown = async (): Promise<void> => {
    client?.release();
    if (child) await stopProcess(child);
    await removeCgroups(cgroups);
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  };

  try {
    cgroups = await makeCgroups(`mgmt-test-${process.pid}-${++started}`);
    // In the namespace: hide the host's /run/systemd, mark the system as booted by systemd, move
    // into the cgroups, become the manager. pdeathsig stops it (gracefully) if the test dies.
    const script = [
      'set -e',
      'mkdir -p /run/systemd',
      'mount -t tmpfs -o mode=0755 tmpfs /run/systemd',
      'mkdir /run/systemd/system',
      'for cgroup in "$@"; do echo $$ > "$cgroup/cgroup.procs"; done',
      'exec setpriv --pdeathsig SIGTERM "$SYSTEMD" --user',
    ].join('\n');
    child = spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script, 'sh', ...cgroups], {
      // The manager hands its environment to its units: TMPDIR keeps their agents' --tmp-prefix in the test run's own directory.
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD, LANG: 'C.UTF-8', HOME: home, XDG_RUNTIME_DIR: runtimeDir, ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    const exited = new Promise<never>((_, reject) => {
      child!.once('exit', (code, signal) => reject(new Error(`systemd --user exited (${code ?? signal}) while starting${stderr ? `:\n${stderr}` : ''}`)));
      child!.once('error', (err) => reject(new Error(`cannot run unshare to start systemd --user: ${err.message}`)));
    });
    exited.catch(() => undefined);
    const giveUp = new AbortController();
    try {
      await withTimeout(Promise.race([waitForManager(runtimeDir, busAddress, giveUp.signal), exited]), START_TIMEOUT_MS, 'systemd --user to serve org.freedesktop.systemd1');
    } finally {
      giveUp.abort(new Error('gave up waiting for systemd --user'));
    }
    client = new SystemdClient('user', leaseBus(busAddress));
  } catch (err) {
    await teardown();
    throw err;
  }

  const systemctl: UserManager['systemctl'] = (...args) =>
    new Promise((resolve) => {
      execFile('systemctl', ['--user', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  const readState = async (unit: string): Promise<UnitState> => {
    const path = await client!.loadUnit(unit);
    const status = await client!.unitStatus(path);
    const mainPid = Number(await client!.getProperty(path, 'org.freedesktop.systemd1.Service', 'MainPID').catch(() => 0));
    return { ...status, mainPid };
  };

  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    home,
    unitDir,
    runtimeDir,
    busAddress,
    env,
    client,
    async writeUnit(file, text) {
      const path = join(unitDir, file);
      await writeFile(path, text);
      return path;
    },
    systemctl,
    async show(unit, property) {
      const { stdout, stderr, code } = await systemctl('show', '--property', property, '--value', unit);
      if (code !== 0) throw new Error(`systemctl --user show ${unit} failed (${code}): ${stderr}`);
      return stdout.trim();
    },
    async waitForUnit(unit, ready, what, timeoutMs = 20_000) {
      const path = await client!.loadUnit(unit);
      let last: UnitState | undefined;
      return new Promise<UnitState>((resolve, reject) => {
        let checking = Promise.resolve();
        const check = (): void => {
          checking = checking.then(async () => {
            last = await readState(unit);
            if (ready(last)) finish(undefined, last);
          }).catch((err: unknown) => finish(err as Error));
        };
        const subscription = client!.unitChanges(path).subscribe({ next: check, error: (err: unknown) => finish(err as Error) });
        const timer = setTimeout(
          () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${unit}: ${what}; last state ${JSON.stringify(last)}`)),
          timeoutMs,
        );
        function finish(err: Error | undefined, state?: UnitState): void {
          clearTimeout(timer);
          subscription.unsubscribe();
          if (err) reject(err);
          else resolve(state!);
        }
      });
    },
    stop() {
      return (stopping ??= teardown());
    },
  };
}

/** useUserManager returns a function that starts a user manager for the current test; each is stopped after the test. */
export function useUserManager(): () => Promise<UserManager> {
  const managers: UserManager[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((manager) => manager.stop()));
  });
  return async () => {
    const manager = await startUserManager();
    managers.push(manager);
    return manager;
  };
}

/** waitForManager waits for the bus socket, for the manager's name on the bus, and for its startup to finish. */
async function waitForManager(runtimeDir: string, busAddress: string, signal: AbortSignal): Promise<void> {
  await waitForFile(runtimeDir, 'bus', signal);
  const conn = await openListening(busAddress, signal);
  try {
    const daemon = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
    let owned!: () => void;
    const named = new Promise<void>((resolve) => (owned = resolve));
    const stopNames = await conn.listen({ sender: 'org.freedesktop.DBus', interface: 'org.freedesktop.DBus', member: 'NameOwnerChanged' }, (signal) => {
      if (signal.body[0] === MANAGER && signal.body[2] !== '') owned();
    });
    const [hasOwner] = await conn.call({ ...daemon, member: 'NameHasOwner', signature: 's', body: [MANAGER] });
    if (hasOwner !== true) await abortable(named, signal);
    stopNames();

    const manager = { destination: MANAGER, path: '/org/freedesktop/systemd1' };
    let finished!: () => void;
    const startup = new Promise<void>((resolve) => (finished = resolve));
    await conn.listen({ sender: MANAGER, ...manager, interface: 'org.freedesktop.systemd1.Manager', member: 'StartupFinished' }, () => finished());
    await conn.call({ ...manager, interface: 'org.freedesktop.systemd1.Manager', member: 'Subscribe' });
    const [state] = await conn.call({ ...manager, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: ['org.freedesktop.systemd1.Manager', 'SystemState'] });
    const systemState = (state as { value?: unknown }).value;
    if (systemState !== 'running' && systemState !== 'degraded') await abortable(startup, signal);
  } finally {
    conn.close();
  }
}

/**
 * openListening connects to a bus socket that may exist but not listen yet: systemd binds it (and
 * inotify reports the file) a moment before it listens, and nothing signals that moment.
 */
async function openListening(busAddress: string, signal: AbortSignal): Promise<BusConnection> {
  for (;;) {
    signal.throwIfAborted();
    try {
      return await BusConnection.open(busAddress);
    } catch (err) {
      if (!/ECONNREFUSED/.test((err as Error).message)) throw err;
      await delay(5);
    }
  }
}

/** waitForFile resolves once `dir/name` exists, woken by inotify on the directory. */
function waitForFile(dir: string, name: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const path = join(dir, name);
    const watcher = watch(dir, () => {
      if (existsSync(path)) finish();
    });
    const finish = (err?: unknown): void => {
      watcher.close();
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => finish(signal.reason);
    watcher.on('error', finish);
    signal.addEventListener('abort', onAbort, { once: true });
    if (existsSync(path)) finish();
  });
}

/** withTimeout settles like `promise`, or rejects naming `what` after `ms` milliseconds. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** stopProcess asks the manager to exit (SIGTERM: it stops its units first), and kills it if it does not. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * makeCgroups creates a cgroup named `name` below this process's own cgroup in the unified
 * (cgroup2) hierarchy and, on a hybrid host, in the named systemd hierarchy, and returns them.
 */
async function makeCgroups(name: string): Promise<string[]> {
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path !== undefined) own.set(controllers!, path);
  }
  const parents: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const mountPoint = before.split(' ')[4]!;
    const [fsType, , options = ''] = after.split(' ');
    if (fsType === 'cgroup2' && own.has('')) parents.push(join(mountPoint, own.get('')!));
    else if (fsType === 'cgroup' && options.split(',').includes('name=systemd') && own.has('name=systemd')) parents.push(join(mountPoint, own.get('name=systemd')!));
  }
  if (parents.length === 0) throw new Error('no cgroup hierarchy for systemd --user (neither cgroup2 nor name=systemd is mounted)');
  const made: string[] = [];
  try {
    for (const parent of parents) {
      const dir = join(parent, name);
      await mkdir(dir);
      made.push(dir);
    }
  } catch (err) {
    await removeCgroups(made);
    throw new Error(`cannot create a cgroup for systemd --user: ${(err as Error).message}`, { cause: err });
  }
  return made;
}

/** removeCgroups kills every process left in the cgroups (units of a killed manager) and removes them, children first. */
async function removeCgroups(cgroups: readonly string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let left = 0;
    for (const cgroup of cgroups) left += await removeTree(cgroup);
    if (left === 0) return;
    if (attempt === 100) throw new Error(`cannot remove the cgroups of systemd --user: ${cgroups.join(', ')} still hold processes`);
    // Killed processes leave their cgroup only once the kernel has reaped them.
    await delay(20);
  }
}

/** removeTree kills and removes one cgroup tree; it returns how many directories are left. */
async function removeTree(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let left = 0;
  for (const entry of entries) if (entry.isDirectory()) left += await removeTree(join(dir, entry.name));
  const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  try {
    await rmdir(dir);
    return left;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return left;
    if (code === 'EBUSY' || code === 'ENOTEMPTY') return left + 1;
    throw err;
  }
}
