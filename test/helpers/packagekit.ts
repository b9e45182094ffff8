// Real PackageKit for the package tests: the system bus at its standard
// address (started here with `dbus-daemon --system --fork` when none answers, reused when one
// does), packagekitd started by the bus on demand, and the test's local apt repository made
// visible to it.
//
// Why the standard address: packagekitd clears its environment when it starts, so it only ever
// finds the system bus at /run/dbus/system_bus_socket, and never sees an APT_CONFIG. It reads apt's
// own configuration, so the repository's source goes into /etc/apt/sources.list.d as
// `mgmt-test-<dir>.list` (the repository's own source line, trusted or not, so apt's list files
// fetched by createAptRepo serve it too, and nothing is downloaded), removed by close(). A file
// left by a killed run is removed by the next one once its repository is gone.
//
// The bus and packagekitd are shared by every test process on the machine: users register under
// /run/mgmt-test-packagekit, and the last one to leave stops what the helpers started (packagekitd
// when it was not running before, the bus when no bus answered). The packages themselves are the
// repository's: its close() purges them.
//
// No vitest in here, like apt-repo.ts: a benchmark may use it too.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BusConnection } from '../../src/dbus/connection.js';
import { findOnPath } from '../../src/os/program-path.js';
import { errorMessage } from '../../src/errors.js';
import { bitfield, PK_ERROR_CANNOT_GET_LOCK, PK_EXIT_SUCCESS, PK_FILTER } from '../../src/pkg/packagekit-enums.js';
import { parsePackageId } from '../../src/pkg/packagekit-ids.js';
import { PACKAGEKIT, PACKAGEKIT_PATH, runTransaction } from '../../src/pkg/packagekit-transaction.js';
import type { AptRepo } from './apt-repo.js';

/** SYSTEM_BUS_ADDRESS is the one system bus packagekitd can use. */
export const SYSTEM_BUS_ADDRESS = 'unix:path=/run/dbus/system_bus_socket';

const SERVICE_FILE = '/usr/share/dbus-1/system-services/org.freedesktop.PackageKit.service';
const RUN_DBUS = '/run/dbus';
const STATE_DIR = '/run/mgmt-test-packagekit';
const SOURCES_DIR = '/etc/apt/sources.list.d';
const LIST_PREFIX = 'mgmt-test-';
const BUS_DAEMON = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' } as const;

/** packageKitMissing says what this machine lacks to run PackageKit, or is undefined when it has it all. */
export const packageKitMissing: string | undefined = await whatIsMissing();

/**
 * skipPackageKitReason says why PackageKit tests are skipped, or is undefined when they must run:
 * they need root, and PackageKit and dbus-daemon unless in CI, where a missing one is a failure.
 */
export const skipPackageKitReason: string | undefined =
  process.getuid?.() !== 0 ? 'PackageKit tests install packages: they need root' : packageKitMissing !== undefined && !process.env.CI ? packageKitMissing : undefined;

/** SeenTransaction is one transaction that changed packages, as seen on the bus. */
export interface SeenTransaction {
  /** role is `install-packages`, `update-packages` or `remove-packages`. */
  readonly role: string;
  readonly succeeded: boolean;
  /** packages are the names of the packages it was called with, sorted. */
  readonly packages: readonly string[];
}

/** TransactionWatch follows PackageKit's transactions on the bus from the moment it was made. */
export interface TransactionWatch {
  /**
   * of returns the transactions that changed packages and named one of `names` (other tests on
   * the machine may use PackageKit too), in the order they started, once each has finished.
   */
  of(names: readonly string[]): Promise<SeenTransaction[]>;
}

/** TestPackageKit is PackageKit serving a test's local repository. */
export interface TestPackageKit {
  /** env is what a process needs to reach the same PackageKit (the system bus address). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * watchTransactions starts following PackageKit's transactions on the bus, as a D-Bus monitor:
   * each call of InstallPackages, UpdatePackages or RemovePackages with its package ids, and how
   * it finished. (PackageKit's own history, GetOldTransactions, sometimes records a transaction
   * without its packages.)
   */
  watchTransactions(): Promise<TransactionWatch>;
  /** close removes the repository's source and releases the bus (stopping what the helpers started, when last). */
  close(): Promise<void>;
}

/**
 * startPackageKit makes PackageKit answer on the system bus and see `repo`: it starts the bus if
 * none answers, adds the repository's source for PackageKit, and waits until PackageKit offers
 * the repository's packages.
 */
export async function startPackageKit(repo: AptRepo): Promise<TestPackageKit> {
  if (packageKitMissing !== undefined) throw new Error(packageKitMissing);
  const release = await acquireSystemBus();
  const list = join(SOURCES_DIR, `${LIST_PREFIX}${basename(dirname(repo.dir))}.list`);
  const watches: Array<() => void> = [];
  const close = async (): Promise<void> => {
    for (const stop of watches.splice(0)) stop();
    try {
      await rm(list, { force: true });
    } finally {
      await release();
    }
  };
  try {
    await removeStaleLists();
    await writeFile(list, `${repo.source}\n`);
    await waitUntilOffered(repo.packages);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return {
    env: { DBUS_SYSTEM_BUS_ADDRESS: SYSTEM_BUS_ADDRESS },
    async watchTransactions() {
      const { watch, stop } = await watchTransactions();
      watches.push(stop);
      return watch;
    },
    close,
  };
}

async function whatIsMissing(): Promise<string | undefined> {
  if (!existsSync(SERVICE_FILE)) return `PackageKit is not installed (no ${SERVICE_FILE}): apt-get install packagekit`;
  const exec = /^Exec=(\S+)/m.exec(readFileSync(SERVICE_FILE, 'utf8'))?.[1];
  if (exec === undefined || !existsSync(exec)) return `PackageKit's daemon ${exec ?? '(no Exec= in the service file)'} is missing: apt-get install --reinstall packagekit`;
  if ((await findOnPath('dbus-daemon')) === undefined) return 'dbus-daemon is not on PATH: apt-get install dbus';
  return undefined;
}

// --- The shared system bus ------------------------------------------------------------------

async function acquireSystemBus(): Promise<() => Promise<void>> {
  const me = join(STATE_DIR, 'users', `${process.pid}-${Math.random().toString(36).slice(2)}`);
  await withStateLock(async () => {
    await mkdir(dirname(me), { recursive: true });
    await writeFile(me, '');
    if (!(await busAnswers())) await startBus();
    if (!(await packageKitRunning())) await writeFile(join(STATE_DIR, 'packagekit-started'), '');
  });
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await withStateLock(async () => {
      await rm(me, { force: true });
      if ((await liveUsers()).length > 0) return;
      if (existsSync(join(STATE_DIR, 'packagekit-started'))) {
        await stopPackageKit();
        await rm(join(STATE_DIR, 'packagekit-started'), { force: true });
      }
      const pid = Number(await readFile(join(STATE_DIR, 'bus-pid'), 'utf8').catch(() => ''));
      if (pid > 0) {
        await stopProcess(pid);
        // dbus-daemon runs as messagebus and cannot remove root's pid file and socket in /run/dbus.
        await rm(join(RUN_DBUS, 'pid'), { force: true });
        await rm(join(RUN_DBUS, 'system_bus_socket'), { force: true });
        await rm(join(STATE_DIR, 'bus-pid'), { force: true });
      }
    });
  };
}

// A user whose process is gone (a killed test run) no longer counts.
async function liveUsers(): Promise<string[]> {
  const dir = join(STATE_DIR, 'users');
  const live: string[] = [];
  for (const user of await readdir(dir).catch(() => [] as string[])) {
    if (isAlive(Number(user.split('-')[0]))) live.push(user);
    else await rm(join(dir, user), { force: true });
  }
  return live;
}

async function startBus(): Promise<void> {
  await mkdir(RUN_DBUS, { recursive: true });
  // Nothing answers: a socket or pid file left is stale, and dbus-daemon would refuse to start.
  await rm(join(RUN_DBUS, 'pid'), { force: true });
  await rm(join(RUN_DBUS, 'system_bus_socket'), { force: true });
  const pid = await new Promise<number>((resolve, reject) => {
    execFile('dbus-daemon', ['--system', '--fork', '--print-pid'], (err, stdout, stderr) => {
      if (err) reject(new Error(`dbus-daemon --system --fork failed: ${stderr.trim() || err.message}`));
      else resolve(Number(stdout.trim()));
    });
  });
  await writeFile(join(STATE_DIR, 'bus-pid'), String(pid));
  if (!(await busAnswers())) throw new Error(`dbus-daemon --system (pid ${pid}) started but ${SYSTEM_BUS_ADDRESS} does not answer`);
}

async function busAnswers(): Promise<boolean> {
  try {
    (await BusConnection.open(SYSTEM_BUS_ADDRESS)).close();
    return true;
  } catch {
    return false;
  }
}

async function withBus<T>(use: (conn: BusConnection) => Promise<T>): Promise<T> {
  const conn = await BusConnection.open(SYSTEM_BUS_ADDRESS);
  try {
    return await use(conn);
  } finally {
    conn.close();
  }
}

async function packageKitRunning(): Promise<boolean> {
  return withBus(async (conn) => (await conn.call({ ...BUS_DAEMON, member: 'NameHasOwner', signature: 's', body: [PACKAGEKIT] }))[0] === true);
}

// SuggestDaemonQuit makes packagekitd exit once it has no transaction; a quit it did not get to
// within seconds is left to its own idle timeout.
async function stopPackageKit(): Promise<void> {
  await withBus(async (conn) => {
    const gone = new Promise<void>((resolve) => {
      void conn.listen({ sender: BUS_DAEMON.destination, path: BUS_DAEMON.path, interface: BUS_DAEMON.interface, member: 'NameOwnerChanged' }, (signal) => {
        if (signal.body[0] === PACKAGEKIT && signal.body[2] === '') resolve();
      });
    });
    const owned = (await conn.call({ ...BUS_DAEMON, member: 'NameHasOwner', signature: 's', body: [PACKAGEKIT] }))[0] === true;
    if (!owned) return;
    await conn.call({ destination: PACKAGEKIT, path: PACKAGEKIT_PATH, interface: PACKAGEKIT, member: 'SuggestDaemonQuit' }).catch(() => undefined);
    await Promise.race([gone, sleep(5000)]);
  }).catch(() => undefined);
}

async function stopProcess(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let waited = 0; waited < 5000 && isAlive(pid); waited += 20) await sleep(20);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

// Alive = exists and is no zombie (a daemon that forked is nobody's child here, and the init of
// a container may never reap it).
function isAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// A directory as a lock (mkdir is atomic), holding its owner's pid so a dead owner's lock is broken.
async function withStateLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(STATE_DIR, 'lock');
  await mkdir(STATE_DIR, { recursive: true });
  for (let tries = 0; ; tries++) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
      // No pid yet: its owner is between mkdir and writeFile; wait for it unless that lasts.
      if ((owner > 0 && !isAlive(owner)) || (owner === 0 && tries > 200)) await rm(lock, { recursive: true, force: true });
      else await sleep(25);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

// --- The repository's source ------------------------------------------------------------------

// A list file of ours whose repository directory is gone (its run was killed) would make every
// `apt-get update` on the host fail: remove it.
async function removeStaleLists(): Promise<void> {
  for (const file of await readdir(SOURCES_DIR).catch(() => [] as string[])) {
    if (!file.startsWith(LIST_PREFIX) || !file.endsWith('.list')) continue;
    const text = await readFile(join(SOURCES_DIR, file), 'utf8').catch(() => '');
    const dir = / file:(\S+) /.exec(text)?.[1];
    if (dir === undefined || !existsSync(dir)) await rm(join(SOURCES_DIR, file), { force: true });
  }
}

// PackageKit reads the source list when a transaction opens apt's cache: the first Resolve that
// offers the repository's packages says it is in use.
async function waitUntilOffered(packages: readonly string[]): Promise<void> {
  const names = [...new Set(packages)];
  const deadline = Date.now() + 30_000;
  let last = '';
  for (;;) {
    try {
      const offered = await withBus(async (conn) => {
        const { packages: found } = await runTransaction(conn, { member: 'Resolve', signature: 'tas', body: [bitfield([PK_FILTER.none]), names] }).result;
        return new Set(found.map((p) => parsePackageId(p.id)?.name));
      });
      const missing = names.filter((name) => !offered.has(name));
      if (missing.length === 0) return;
      last = `it does not offer ${missing.join(', ')}`;
    } catch (err) {
      last = errorMessage(err);
    }
    if (Date.now() > deadline) throw new Error(`PackageKit does not serve the test repository after 30 s: ${last}`);
    await sleep(500);
  }
}

// --- Transactions seen on the bus ------------------------------------------------------------

// The Transaction methods that change packages, and the role each gives its transaction.
const CHANGING: Readonly<Record<string, string>> = { InstallPackages: 'install-packages', UpdatePackages: 'update-packages', RemovePackages: 'remove-packages' };
const METHOD_CALL = 1;
const SIGNAL = 4;

// A monitor connection (org.freedesktop.DBus.Monitoring, allowed to root) sees every call of those
// methods with its package ids, and each transaction's ErrorCode and Finished signals. The
// Package signals of a transaction are no record of it: PackageKit's apt backend sometimes sends
// none for a removal.
async function watchTransactions(): Promise<{ watch: TransactionWatch; stop: () => void }> {
  const dbus = await import('dbus-next');
  const bus = dbus.sessionBus({ busAddress: SYSTEM_BUS_ADDRESS });
  bus.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  // A monitor must never answer the calls it sees (dbus-next would say "unknown method").
  bus.addMethodHandler(() => true);
  const calls = new Map<string, { role: string; ids: readonly string[]; exit?: number; lockBusy?: boolean }>();
  bus.on('message', (message: { type: number; path: string; member: string; body: unknown[] }) => {
    if (message.type === METHOD_CALL && CHANGING[message.member] !== undefined) {
      calls.set(message.path, { role: CHANGING[message.member]!, ids: message.body[1] as string[] });
      return;
    }
    const call = calls.get(message.path);
    if (message.type !== SIGNAL || call === undefined) return;
    if (message.member === 'ErrorCode' && message.body[0] === PK_ERROR_CANNOT_GET_LOCK) call.lockBusy = true;
    else if (message.member === 'Finished') call.exit = Number(message.body[0]);
    else if (message.member === 'Destroy') call.exit ??= -1;
  });
  const rules = [
    `type='method_call',interface='org.freedesktop.PackageKit.Transaction'`,
    ...['ErrorCode', 'Finished', 'Destroy'].map((member) => `type='signal',interface='org.freedesktop.PackageKit.Transaction',member='${member}'`),
  ];
  await bus.call(
    new dbus.Message({ destination: BUS_DAEMON.destination, path: BUS_DAEMON.path, interface: 'org.freedesktop.DBus.Monitoring', member: 'BecomeMonitor', signature: 'asu', body: [rules, 0] }),
  );
  const watch: TransactionWatch = {
    async of(names) {
      const named = (ids: readonly string[]): string[] => [...new Set(ids.map((id) => parsePackageId(id)?.name ?? id))].sort();
      // An attempt PackageKit refused because someone else held dpkg's lock was tried again: not counted.
      const touching = () => [...calls.values()].filter((call) => !call.lockBusy && named(call.ids).some((name) => names.includes(name)));
      for (let waited = 0; touching().some((call) => call.exit === undefined); waited += 50) {
        if (waited > 120_000) throw new Error('a PackageKit transaction did not finish within 120 s');
        await sleep(50);
      }
      return touching().map((call) => ({ role: call.role, succeeded: call.exit === PK_EXIT_SUCCESS, packages: named(call.ids) }));
    },
  };
  return { watch, stop: () => bus.disconnect() };
}

/**
 * dpkgPurge purges a package with dpkg itself, as an administrator might behind PackageKit's back:
 * no apt hook tells PackageKit. dpkg does not wait for its lock, which another test may hold a moment.
 */
export async function dpkgPurge(name: string): Promise<void> {
  for (let tries = 0; ; tries++) {
    const failure = await new Promise<string | undefined>((resolve) => execFile('dpkg', ['--purge', name], (err, _stdout, stderr) => resolve(err ? stderr || err.message : undefined)));
    if (failure === undefined) return;
    if (!/lock/.test(failure) || tries > 240) throw new Error(`dpkg --purge ${name} failed: ${failure}`);
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
