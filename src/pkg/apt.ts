// The apt/dpkg backend, for hosts without PackageKit (and Debian hosts where PackageKit never says
// "installed", the original's #988):
// - installed versions come from dpkg's database, parsed in-process (readDpkgDatabase): no
//   process, and after the first read a stat, so checking installed packages is fast;
// - what the sources offer comes from one `apt-cache policy NAME...` for all the names asked;
// - a transaction is one `apt-get` call, never a shell, with DEBIAN_FRONTEND=noninteractive and
//   dpkg keeping changed configuration files; transactions of the whole agent queue up here
//   instead of polling dpkg's lock. An abort (a timeout, a swap, a shutdown) stops the transaction
//   the way dpkg can undo (stop-transaction.ts) and waits for it to end. Without allowUntrusted (--allow-unauthenticated), apt-get
//   refuses a package from a source no trusted key signs, before it changes anything; its
//   reason names its own option, so the error leads with the packages and allowuntrusted;
// - file lists come from dpkg's `info/<pkg>.list` for an installed package, and for one not
//   installed from the newest .deb of it in apt's archive cache (`dpkg-deb -c`); otherwise they
//   are unknown (nothing is downloaded just to draw edges);
// - the watch follows dpkg's status file (installed packages) and apt's lists (what `newest` means).
//
// The programs run with the agent's environment plus a C locale, so APT_CONFIG, proxies and the
// like apply as they would to the administrator's own apt-get.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import { whenAllReady } from '../../streams/when-all-ready.js';
import { createFsWatcher } from '../watchers/fs.js';
import type { BackendEnv, PkgBackend, PkgInfo, QueryOptions, Transaction, TransactionFlags, TransactionReport } from './backend.js';
import { awaitTransaction, isEmptyTransaction, UntrustedPackagesError } from './backend.js';
import { parseAptPolicy, policyFor } from './apt-policy.js';
import { commandLine, failureReason, runCommand, startCommand, type CommandResult } from './command.js';
import { dpkgState, nativeDebianArch, readDpkgDatabase } from './dpkg-status.js';
import { markDirectories, parseDebContents, parseDpkgList } from './file-lists.js';
import { stopTransaction } from './stop-transaction.js';
import { compareVersions } from './version.js';

/** AptPaths are where apt and dpkg keep their state; tests may point them elsewhere. */
export interface AptPaths {
  /** dpkg's database directory (status, updates/, info/). */
  readonly dpkgDir: string;
  /** apt's archive cache of downloaded .debs. */
  readonly archivesDir: string;
  /** apt's downloaded package lists. */
  readonly listsDir: string;
}

/** DEFAULT_APT_PATHS are Debian's locations. */
export const DEFAULT_APT_PATHS: AptPaths = {
  dpkgDir: '/var/lib/dpkg',
  archivesDir: '/var/cache/apt/archives',
  listsDir: '/var/lib/apt/lists',
};

/** AptBackendOptions are a BackendEnv plus where apt's state lives. */
export interface AptBackendOptions extends BackendEnv {
  readonly paths?: Partial<AptPaths>;
}

// How long apt-get waits for dpkg's lock held by someone else (PackageKit, unattended-upgrades).
const LOCK_TIMEOUT_S = 300;

/** APT_STOP_GRACE_MS is how long an aborted transaction may take to unwind before it is SIGKILLed. */
export const APT_STOP_GRACE_MS = 5_000;

// dpkg runs one transaction at a time; queueing the agent's own here means none of them waits
// in apt's lock polling. A transaction whose caller gave up still holds its place until apt-get ends.
let transactions: Promise<unknown> = Promise.resolve();

/** AptBackend is the apt/dpkg PkgBackend. */
export class AptBackend implements PkgBackend {
  readonly name = 'apt';
  private readonly paths: AptPaths;
  private readonly arch = nativeDebianArch();
  private ownWatcher: ReturnType<typeof createFsWatcher> | undefined;

  constructor(private readonly options: AptBackendOptions = {}) {
    this.paths = { ...DEFAULT_APT_PATHS, ...options.paths };
  }

  async query(names: readonly string[], options: QueryOptions = {}): Promise<ReadonlyMap<string, PkgInfo>> {
    checkNames(names);
    const db = await readDpkgDatabase(this.paths.dpkgDir, this.arch);
    const result = new Map<string, PkgInfo>();
    if (!options.available || names.length === 0) {
      for (const name of names) result.set(name, { name, installed: db.installedVersion(name) });
      return result;
    }
    const policy = parseAptPolicy(await this.run('apt-cache', ['policy', ...new Set(names)], options.signal));
    // The database may have moved on while apt-cache ran: read it again (a stat when it did not).
    const fresh = await readDpkgDatabase(this.paths.dpkgDir, this.arch);
    for (const name of names) {
      const available = policyFor(policy, name, this.arch) ?? { candidate: undefined, versions: [] };
      result.set(name, { name, installed: fresh.installedVersion(name), available });
    }
    return result;
  }

  async apply(transaction: Transaction, flags: TransactionFlags, signal: AbortSignal): Promise<TransactionReport> {
    checkNames([...transaction.install.map((request) => request.name), ...transaction.upgrade, ...transaction.remove]);
    const args = aptGetArgs(transaction, flags);
    const summary = commandLine('apt-get', args);
    if (isEmptyTransaction(transaction)) return { summary: '' };
    signal.throwIfAborted();
    let started = false;
    const turn = transactions.then(async () => {
      // Given up on while it queued: never started.
      signal.throwIfAborted();
      started = true;
      const running = startCommand('apt-get', args, this.env({ DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none' }));
      let stopping: Promise<void> | undefined;
      const stop = (): void => {
        if (running.pid !== undefined) stopping = this.stop(running.pid, running.done);
      };
      signal.addEventListener('abort', stop, { once: true });
      try {
        const result = await running.done;
        await stopping;
        signal.throwIfAborted();
        if (result.code !== 0) throw transactionError(summary, result);
      } finally {
        signal.removeEventListener('abort', stop);
      }
    });
    transactions = turn.catch(() => undefined);
    // An aborted transaction settles once apt-get and dpkg have stopped: nothing it started outlives it.
    await awaitTransaction(turn, () => started, signal);
    return { summary };
  }

  /**
   * stop ends an aborted apt-get (stop-transaction.ts), then, if dpkg was left half-way (its
   * journal pending after a SIGKILL, or packages unpacked and not configured, as `dpkg --audit`
   * says), runs `dpkg --configure -a`: what was unpacked is configured, the package dpkg unwound
   * stays out, and dpkg takes the next transaction.
   */
  private async stop(pid: number, exited: Promise<unknown>): Promise<void> {
    await stopTransaction(pid, exited, APT_STOP_GRACE_MS);
    const state = await dpkgState(this.paths.dpkgDir).catch(() => undefined);
    const audit = await startCommand('dpkg', ['--audit'], this.env()).done;
    if (state?.pending.length === 0 && audit.stdout.trim() === '') return;
    const result = await startCommand('dpkg', ['--configure', '-a', '--force-confdef', '--force-confold'], this.env({ DEBIAN_FRONTEND: 'noninteractive' })).done;
    if (result.code !== 0) throw new Error(`the transaction was stopped and dpkg --configure -a ${failureReason(result)}`);
  }

  async listFiles(names: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, readonly string[] | undefined>> {
    checkNames(names);
    const unique = [...new Set(names)];
    const db = await readDpkgDatabase(this.paths.dpkgDir, this.arch);
    const missing = unique.some((name) => db.entry(name) === undefined);
    const archives = missing ? await readdir(this.paths.archivesDir).catch(() => [] as string[]) : [];
    const lists = await Promise.all(
      unique.map(async (name): Promise<readonly string[] | undefined> => {
        const entry = db.entry(name);
        const bare = name.split(':')[0]!;
        if (entry !== undefined) return this.installedFiles(bare, entry.arch);
        const deb = newestDeb(archives, bare);
        return deb === undefined ? undefined : parseDebContents(await this.run('dpkg-deb', ['-c', join(this.paths.archivesDir, deb)], signal));
      }),
    );
    return new Map(unique.map((name, i) => [name, lists[i]]));
  }

  watch(): Observable<void> {
    const watchPath = this.options.watchPath ?? (this.ownWatcher ??= createFsWatcher()).watchPath;
    return whenAllReady([watchPath(join(this.paths.dpkgDir, 'status')), watchPath(this.paths.listsDir, { recursive: true })]);
  }

  async close(): Promise<void> {
    this.ownWatcher?.close();
    this.ownWatcher = undefined;
  }

  private async installedFiles(name: string, arch: string): Promise<readonly string[] | undefined> {
    const info = join(this.paths.dpkgDir, 'info');
    // A package that is Multi-Arch: same keeps its list under `name:arch`.
    for (const file of [`${name}.list`, `${name}:${arch}.list`]) {
      try {
        return await markDirectories(parseDpkgList(await readFile(join(info, file), 'utf8')));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return undefined;
  }

  private async run(file: string, args: readonly string[], signal?: AbortSignal): Promise<string> {
    const result = await runCommand(file, args, this.env(), signal);
    if (result.code !== 0) throw new Error(`${commandLine(file, args)} ${failureReason(result)}`);
    return result.stdout;
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, LC_ALL: 'C', LANG: 'C', LANGUAGE: '', ...extra };
  }
}

/**
 * aptGetArgs builds the one apt-get call of a transaction: `install` with `name`, `name=version`,
 * and `name-` for removals, or `remove` when there is nothing to install. An install-only call
 * gets --no-remove, so satisfying it can never remove another package behind the user's back.
 */
export function aptGetArgs(transaction: Transaction, flags: TransactionFlags): string[] {
  const installs = [
    ...transaction.install.map((request) => (request.version === undefined ? request.name : `${request.name}=${request.version}`)),
    ...transaction.upgrade,
  ];
  const options = [
    '-y',
    '-q',
    '-o',
    `DPkg::Lock::Timeout=${LOCK_TIMEOUT_S}`,
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    ...(flags.allowDowngrade ? ['--allow-downgrades'] : []),
    ...(flags.allowUntrusted ? ['--allow-unauthenticated'] : []),
  ];
  if (installs.length === 0) return ['remove', ...options, ...transaction.remove];
  return [
    'install',
    ...options,
    ...(transaction.remove.length === 0 ? ['--no-remove'] : []),
    ...installs,
    ...transaction.remove.map((name) => `${name}-`),
  ];
}

/**
 * unauthenticatedPackages returns the packages apt-get refused because it cannot authenticate
 * them (`E: There were unauthenticated packages and -y was used without --allow-unauthenticated`),
 * as its `WARNING: The following packages cannot be authenticated!` list names them; undefined
 * when that is not why it failed, empty when it did not list them.
 */
export function unauthenticatedPackages(result: CommandResult): string[] | undefined {
  if (!/unauthenticated packages|could not be authenticated/.test(result.stderr)) return undefined;
  const lines = result.stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith('WARNING: The following packages cannot be authenticated!'));
  if (start < 0) return [];
  const names: string[] = [];
  // apt-get's lists are indented by two spaces, wrapped at 80 columns.
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    names.push(...line.trim().split(/\s+/));
  }
  return names;
}

// What a failed apt-get transaction says: apt-get's own reason, led by the packages it cannot
// authenticate and the flag that allows them when that is the reason.
function transactionError(summary: string, result: CommandResult): Error {
  const failed = `${summary} ${failureReason(result)}`;
  const untrusted = unauthenticatedPackages(result);
  return untrusted === undefined ? new Error(failed) : new UntrustedPackagesError(untrusted, failed);
}

// A name that starts with `-` would be read by apt-get as an option, whatever else it is.
function checkNames(names: readonly string[]): void {
  for (const name of names) if (name === '' || name.startsWith('-') || /\s/.test(name)) throw new Error(`"${name}" is not a package name`);
}

/** newestDeb picks the newest `<name>_<version>_<arch>.deb` among the archive cache's file names. */
export function newestDeb(files: readonly string[], name: string): string | undefined {
  let best: { file: string; version: string } | undefined;
  const prefix = `${name}_`;
  for (const file of files) {
    if (!file.startsWith(prefix) || !file.endsWith('.deb')) continue;
    const parts = file.slice(0, -4).split('_');
    if (parts.length !== 3 || parts[0] !== name) continue;
    const version = decodeURIComponent(parts[1]!);
    if (best === undefined || compareVersions(version, best.version) > 0) best = { file, version };
  }
  return best?.file;
}
