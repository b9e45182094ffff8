// The PackageKit backend: org.freedesktop.PackageKit on the system bus.
// - a query of installed versions alone reads dpkg's database where there is one (a Debian host:
//   what PackageKit's apt backend reads itself), without a Resolve, which loads apt's whole cache
//   (0.6 s here); elsewhere it is a Resolve with filter `installed`. A query of what the sources
//   offer is one Resolve with no filter. "Installed" is read from the info value and from data
//   fields such as `manual:<repo>` (#988: see packagekit-ids.ts), never through the `supported`
//   filter, so a Debian host converges. Installed versions from Resolve are kept while dpkg's
//   database does not change (packagekit-memo.ts);
// - PackageKit's apt backend resolves a name to its installed version and its candidate only. An
//   exact version the query is asked for (QueryOptions.versions) that is neither is looked up by
//   a second Resolve, of the package id `name;version;arch;` (the arch of a version the first one
//   showed): it finds any version a source has, and answers with another version when none has
//   it. So `available.versions` is the candidate plus the wanted versions a source has;
// - a transaction is one Resolve of the names (package ids carry versions; an exact version is
//   found as a query finds it), then one InstallPackages (installs and upgrades of a group
//   together), UpdatePackages (upgrades only) or RemovePackages (allow_deps true: what depends on
//   a removed package is removed too, as `apt-get remove` does; autoremove false). Flags:
//   only-trusted unless allowUntrusted, allow-downgrade with allowDowngrade (a downgrade without
//   it is refused here: PackageKit 1.2's apt backend downgrades without the flag). With
//   only-trusted, PackageKit 1.2's apt backend refuses a package from a source no trusted key
//   signs before it changes anything, as apt-get does without --allow-unauthenticated: the
//   transaction finishes need-untrusted with cannot-install-repo-unsigned, "The following
//   packages cannot be authenticated: NAME..."; the error then leads with those packages and
//   allowuntrusted, in the apt backend's words. (Resolve shows such a package like any other;
//   only a simulated transaction would tell, with info `untrusted`.) Unless
//   allowNonfree / allowUnsupported, that Resolve applies PackageKit's `free` / `supported`
//   filters to what is to be installed, and what they drop is refused with a message naming the
//   flag (a second Resolve tells which, on that path only);
//   PackageKit waits about ten seconds for dpkg's lock and then fails with cannot-get-lock: such
//   a transaction is tried again, for up to five minutes like the apt backend's lock timeout.
//   The agent's transactions queue up here, one at a time;
// - file lists come from GetFiles of the installed version (PackageKit's apt backend lists no
//   files of a package that is not installed);
// - the watch is PackageKit's UpdatesChanged (the sources were refreshed, PackageKit changed
//   something, or an apt run told it so through its dpkg hook) and dpkg's status file, because a
//   plain `dpkg --purge` behind PackageKit's back tells it nothing.

import { dirname } from 'node:path';
import { Observable } from 'rxjs';
import { whenAllReady } from '../../streams/when-all-ready.js';
import { busAddress, busWatch, leaseBus, type BusConnection, type BusLease } from '../dbus/connection.js';
import { errorMessage } from '../errors.js';
import { delay } from '../os/time.js';
import { createFsWatcher } from '../watchers/fs.js';
import type { BackendEnv, PkgBackend, PkgInfo, PkgRequest, QueryOptions, Transaction, TransactionFlags, TransactionReport } from './backend.js';
import { awaitTransaction, isEmptyTransaction, RefusedPackagesError, UntrustedPackagesError } from './backend.js';
import { readDpkgDatabase, type DpkgDatabase } from './dpkg-status.js';
import { markDirectories, parseDpkgList } from './file-lists.js';
import { InstalledMemo } from './packagekit-memo.js';
import { bitfield, PK_FILTER, PK_TRANSACTION_FLAG } from './packagekit-enums.js';
import { formatPackageId, pkgInfoOf, resolvedByName, type PackageId, type Resolved } from './packagekit-ids.js';
import { PACKAGEKIT, PACKAGEKIT_PATH, PackageKitError, runTransaction, type TransactionCall, type TransactionResult } from './packagekit-transaction.js';
import { unknownPackage } from './plan.js';
import { compareVersions, sameVersion } from './version.js';

/** PackageKitBackendOptions are a BackendEnv plus where the bus and dpkg's database are. */
export interface PackageKitBackendOptions extends BackendEnv {
  /** busAddress is the system bus; default busAddress('system') of dbus/connection.ts. */
  readonly busAddress?: string;
  /** dpkgStatus is dpkg's status file, watched for changes made behind PackageKit's back. */
  readonly dpkgStatus?: string;
  /** lockTimeoutMs bounds how long a transaction is tried again while dpkg's lock is held by someone else. */
  readonly lockTimeoutMs?: number;
}

const DPKG_STATUS = '/var/lib/dpkg/status';
const LOCK_TIMEOUT_MS = 300_000;
const LOCK_RETRY_MS = 1000;

// One memo of installed versions per bus and dpkg database, shared by the agent's backends.
const memos = new Map<string, InstalledMemo<Resolved>>();
function installedMemo(bus: string, dpkgStatus: string): InstalledMemo<Resolved> {
  const key = `${bus}\0${dpkgStatus}`;
  let memo = memos.get(key);
  if (memo === undefined) memos.set(key, (memo = new InstalledMemo(dpkgStatus)));
  return memo;
}

// PackageKit runs one transaction at a time; the agent's own queue here, so that their order is
// the agent's. A transaction whose caller gave up keeps its place until PackageKit ends it.
let transactions: Promise<unknown> = Promise.resolve();

/** PackageKitBackend is the PackageKit PkgBackend. */
export class PackageKitBackend implements PkgBackend {
  readonly name = 'packagekit';
  private readonly lease: BusLease;
  private readonly dpkgStatus: string;
  private readonly lockTimeoutMs: number;
  private ownWatcher: ReturnType<typeof createFsWatcher> | undefined;

  constructor(private readonly options: PackageKitBackendOptions = {}) {
    this.lease = leaseBus(options.busAddress ?? busAddress('system'));
    this.dpkgStatus = options.dpkgStatus ?? DPKG_STATUS;
    this.lockTimeoutMs = options.lockTimeoutMs ?? LOCK_TIMEOUT_MS;
  }

  async query(names: readonly string[], options: QueryOptions = {}): Promise<ReadonlyMap<string, PkgInfo>> {
    const available = options.available === true;
    if (!available) {
      const db = await this.dpkgDatabase();
      if (db !== undefined) return new Map(names.map((name) => [name, { name, installed: db.installedVersion(name) }]));
    }
    const resolved = await this.resolve(names, [available ? PK_FILTER.none : PK_FILTER.installed], options.signal);
    const wanted = new Map([...(available ? (options.versions ?? []) : [])].filter(([name]) => names.includes(name)));
    const exact = await this.exactIds(wanted, resolved, options.signal);
    return new Map(names.map((name) => [name, pkgInfoOf(name, resolved.get(name), available, exact.has(name) ? [exact.get(name)!.version] : [])]));
  }

  async apply(transaction: Transaction, flags: TransactionFlags, signal: AbortSignal): Promise<TransactionReport> {
    if (isEmptyTransaction(transaction)) return { summary: '' };
    signal.throwIfAborted();
    const endings: Promise<void>[] = [];
    let started = false;
    const turn = transactions.then(() => {
      // Given up on while it queued: never started.
      signal.throwIfAborted();
      started = true;
      return this.applyNow(transaction, flags, signal, endings);
    });
    const settled = (): Promise<unknown> => Promise.all(endings);
    transactions = turn.then(settled, settled);
    // An abort asks PackageKit to cancel what runs (it refuses while dpkg runs, and finishes) and
    // settles once PackageKit is done with it: nothing the attempt started outlives it.
    return awaitTransaction(turn, () => started, signal, settled);
  }

  async listFiles(names: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, readonly string[] | undefined>> {
    const resolved = await this.resolve(names, [PK_FILTER.installed], signal);
    const installed = [...new Set(names)].map((name) => resolved.get(name)?.installed).filter((id): id is PackageId => id !== undefined);
    const listed = installed.length === 0 ? new Map<string, readonly string[]>() : (await this.run({ member: 'GetFiles', signature: 'as', body: [installed.map(formatPackageId)] }, signal)).files;
    const result = new Map<string, readonly string[] | undefined>();
    for (const name of names) {
      const id = resolved.get(name)?.installed;
      const files = id === undefined ? undefined : listed.get(formatPackageId(id));
      // GetFiles reads dpkg's own list: `/.` for the root, directories without their `/`.
      result.set(name, files === undefined ? undefined : await markDirectories(parseDpkgList(files.join('\n'))));
    }
    return result;
  }

  watch(): Observable<void> {
    const watchPath = this.options.watchPath ?? (this.ownWatcher ??= createFsWatcher()).watchPath;
    return whenAllReady([this.updatesChanged(), watchPath(this.dpkgStatus)]);
  }

  async close(): Promise<void> {
    this.lease.release();
    this.ownWatcher?.close();
    this.ownWatcher = undefined;
  }

  // Plans the transaction from a fresh Resolve, then runs it: installs and upgrades as one
  // PackageKit transaction, removals as another (the pkg resource never mixes them in a group).
  private async applyNow(transaction: Transaction, flags: TransactionFlags, signal: AbortSignal, endings: Promise<void>[]): Promise<TransactionReport> {
    const plan = await this.plan(transaction, flags, signal);
    const bits = [...(flags.allowUntrusted ? [] : [PK_TRANSACTION_FLAG.onlyTrusted]), ...(flags.allowDowngrade ? [PK_TRANSACTION_FLAG.allowDowngrade] : [])];
    const calls: TransactionCall[] = [];
    const install = [...plan.install, ...plan.upgrade].map(formatPackageId);
    if (install.length > 0) calls.push({ member: plan.install.length > 0 ? 'InstallPackages' : 'UpdatePackages', signature: 'tas', body: [bitfield(bits), install] });
    // What depends on the packages goes too, as with `apt-get remove`: allow_deps true, as the
    // original passes (PackageKit 1.2's apt backend removes the dependants whatever it says, and
    // its dnf backend refuses false outright). What they pulled in stays: autoremove false.
    if (plan.remove.length > 0) calls.push({ member: 'RemovePackages', signature: 'tasbb', body: [bitfield(bits), plan.remove.map(formatPackageId), true, false] });
    const summaries = calls.map((call) => summaryOf(call, bits));
    try {
      for (const call of calls) await this.modify(call, signal, endings);
    } catch (err) {
      throw explainUntrusted(err);
    }
    return { summary: summaries.length > 0 ? summaries.join('; ') : 'PackageKit: nothing left to do' };
  }

  // The package ids of a transaction: the candidate (or the requested version) to install or
  // upgrade to, the installed version to remove. What is already so is left out; what cannot be
  // done fails the whole transaction before anything changes. allownonfree and allowunsupported
  // are PackageKit's `free` and `supported` filters, applied to what is to be installed only (#988:
  // never to what is installed); with them, the one Resolve that finds the candidates applies them.
  private async plan(transaction: Transaction, flags: TransactionFlags, signal: AbortSignal): Promise<{ install: PackageId[]; upgrade: PackageId[]; remove: PackageId[] }> {
    const plan = { install: [] as PackageId[], upgrade: [] as PackageId[], remove: [] as PackageId[] };
    // What cannot be done, by package name: all of it is refused before anything changes.
    const problems = new Map<string, string>();
    const refuse = (refusals: Iterable<readonly [string, string]>): void => {
      for (const [name, message] of refusals) problems.set(name, problems.has(name) ? `${problems.get(name)}; ${message}` : message);
    };
    const filters = [...(flags.allowNonfree ? [] : [PK_FILTER.free]), ...(flags.allowUnsupported ? [] : [PK_FILTER.supported])];

    if (transaction.remove.length > 0) {
      const installed = await this.resolve(transaction.remove, [PK_FILTER.installed], signal);
      for (const name of transaction.remove) {
        const id = installed.get(name)?.installed;
        if (id !== undefined) plan.remove.push(id);
      }
    }

    const plain = [...transaction.install.filter((request) => request.version === undefined).map((request) => request.name), ...transaction.upgrade];
    if (plain.length > 0) {
      const resolved = await this.resolve(plain, filters.length > 0 ? filters : [PK_FILTER.none], signal);
      const missing: string[] = [];
      for (const name of new Set(plain)) {
        const known = resolved.get(name)!;
        const candidate = newer(known);
        if (candidate !== undefined) (transaction.upgrade.includes(name) && known.installed !== undefined ? plan.upgrade : plan.install).push(candidate);
        else if (known.installed === undefined) missing.push(name);
      }
      refuse(await this.whyMissing(missing, filters, signal));
    }

    const versioned = transaction.install.filter((request): request is PkgRequest & { version: string } => request.version !== undefined);
    if (versioned.length > 0) {
      const resolved = await this.resolve(versioned.map((request) => request.name), [PK_FILTER.none], signal);
      const exact = await this.exactIds(new Map(versioned.map((request) => [request.name, request.version])), resolved, signal);
      for (const request of versioned) {
        const installed = resolved.get(request.name)?.installed;
        if (installed !== undefined && sameVersion(installed.version, request.version)) continue;
        const id = exact.get(request.name);
        if (id === undefined) refuse([[request.name, `version ${request.version} of package ${request.name} is not offered by any configured source`]]);
        else if (installed !== undefined && compareVersions(id.version, installed.version) < 0 && !flags.allowDowngrade) {
          // PackageKit 1.2's apt backend would downgrade it without the allow-downgrade flag.
          refuse([[request.name, `package ${request.name} would be downgraded from ${installed.version} to ${id.version}: set allowdowngrade: true to allow it`]]);
        } else plan.install.push(id);
      }
      if (problems.size === 0) refuse(await this.refusals(plan.install.filter((id) => versioned.some((request) => request.name.split(':')[0] === id.name)), filters, signal));
    }
    if (problems.size > 0) throw new RefusedPackagesError(problems);
    return plan;
  }

  // Why the Resolve (with `filters`) offered nothing to install for these names: unknown, or
  // dropped by a filter. A name installed with nothing newer (hidden by the `supported` filter)
  // has nothing to do.
  private async whyMissing(names: readonly string[], filters: readonly number[], signal: AbortSignal): Promise<Array<[string, string]>> {
    if (names.length === 0) return [];
    const unfiltered = filters.length > 0 ? await this.resolve(names, [PK_FILTER.none], signal) : new Map<string, Resolved>();
    const unknown = names.filter((name) => {
      const known = unfiltered.get(name) ?? NOTHING;
      return newer(known) === undefined && known.installed === undefined;
    });
    const refused = names.map((name) => newer(unfiltered.get(name) ?? NOTHING)).filter((id): id is PackageId => id !== undefined);
    return [
      ...unknown.map((name): [string, string] => [name, unknownPackage(name, this.name)]),
      ...(await this.refusals(refused, filters, signal, true)),
    ];
  }

  // What the `free` and `supported` filters refuse of these package ids, one message each, by name.
  private async refusals(ids: readonly PackageId[], filters: readonly number[], signal: AbortSignal, refusedAlready = false): Promise<Array<[string, string]>> {
    if (ids.length === 0 || filters.length === 0) return [];
    const passing = async (of: readonly PackageId[], filter: readonly number[]): Promise<PackageId[]> => {
      const kept = await this.resolve(of.map(formatPackageId), filter, signal);
      return of.filter((id) => withVersion(kept.get(formatPackageId(id))!, id.version) !== undefined);
    };
    const kept = refusedAlready ? [] : await passing(ids, filters);
    const refused = ids.filter((id) => !kept.includes(id));
    if (refused.length === 0) return [];
    // Which filter refused it: only worth a call when both were applied.
    const free = filters.length === 2 ? await passing(refused, [PK_FILTER.free]) : undefined;
    return refused.map((id): [string, string] => [
      id.name,
      (free ? !free.includes(id) : filters[0] === PK_FILTER.free)
        ? `package ${id.name} ${id.version} is not free software (PackageKit's free filter): set allownonfree: true to install it`
        : `package ${id.name} ${id.version} is not supported by the distribution (PackageKit's supported filter, ${id.data || 'no repository'}): set allowunsupported: true to install it`,
    ]);
  }

  // The package id of exactly the wanted version of each name, where a source has it (a name is
  // left out where none has). Resolve of the names (`resolved`, filter none) shows the candidate
  // alone; any other version is asked for by its package id, `name;version;arch;` with the arch of
  // a version Resolve showed: one more Resolve for all of them, which finds any version a source
  // has and answers with another one when none has it. (A simulated InstallPackages would not do:
  // given a version no source has, it installs the candidate.)
  private async exactIds(wanted: ReadonlyMap<string, string>, resolved: ReadonlyMap<string, Resolved>, signal?: AbortSignal): Promise<Map<string, PackageId>> {
    const found = new Map<string, PackageId>();
    const asked = new Map<string, string>();
    for (const [name, version] of wanted) {
      const known = resolved.get(name) ?? NOTHING;
      const shown = offered(known, version);
      const like = known.installed ?? known.available[0];
      if (shown !== undefined) found.set(name, shown);
      else if (like !== undefined) asked.set(name, formatPackageId({ ...like, version, data: '' }));
    }
    const answers = asked.size > 0 ? await this.resolve([...asked.values()], [PK_FILTER.none], signal) : new Map<string, Resolved>();
    for (const [name, id] of asked) {
      const answer = offered(answers.get(id) ?? NOTHING, wanted.get(name)!);
      if (answer !== undefined) found.set(name, answer);
    }
    return found;
  }

  // A transaction that changes packages: tried again while dpkg's lock is held by someone else.
  private async modify(call: TransactionCall, signal: AbortSignal, endings: Promise<void>[]): Promise<TransactionResult> {
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      const running = runTransaction(await this.connection(), call, signal);
      endings.push(running.ended);
      try {
        return await running.result;
      } catch (err) {
        if (!(err instanceof PackageKitError) || err.code !== 'cannot-get-lock' || Date.now() >= deadline || signal.aborted) throw err;
      }
      await delay(LOCK_RETRY_MS, signal);
    }
  }

  // On a Debian host, dpkg's database is what PackageKit's apt backend reads to say what is
  // installed: read directly (a stat while unchanged), it answers an installed-only query in
  // milliseconds where a Resolve loads apt's whole cache. Undefined without one (another distribution).
  private async dpkgDatabase(): Promise<DpkgDatabase | undefined> {
    try {
      return await readDpkgDatabase(dirname(this.dpkgStatus));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  // Resolve of names (or package ids), answered per name.
  // The installed versions alone are kept while dpkg's database is unchanged (packagekit-memo.ts).
  private async resolve(names: readonly string[], filters: readonly number[], signal?: AbortSignal): Promise<Map<string, Resolved>> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return new Map();
    const ask = async (asked: readonly string[]): Promise<Map<string, Resolved>> => {
      const { packages } = await this.run({ member: 'Resolve', signature: 'tas', body: [bitfield(filters), [...asked]] }, signal);
      return resolvedByName(asked, packages);
    };
    if (filters.length === 1 && filters[0] === PK_FILTER.installed) return installedMemo(this.lease.address, this.dpkgStatus).lookup(unique, ask);
    return ask(unique);
  }

  private async run(call: TransactionCall, signal?: AbortSignal): Promise<TransactionResult> {
    return runTransaction(await this.connection(), call, signal).result;
  }

  private async connection(): Promise<BusConnection> {
    try {
      return await this.lease.connection();
    } catch (err) {
      throw new Error(`PackageKit is not reachable: ${errorMessage(err)} (is the system bus running? --pkg-backend apt needs neither)`, { cause: err });
    }
  }

  // PackageKit's UpdatesChanged: emits once subscribed, then once per signal; errors when the bus goes.
  private updatesChanged(): Observable<void> {
    return busWatch<void>(async ({ signal, keep, next, error }) => {
      const conn = await this.connection();
      keep(conn.onClose((err) => error(new Error(`PackageKit's UpdatesChanged watch lost the system bus: ${err.message}`, { cause: err }))));
      keep(await conn.listen({ sender: PACKAGEKIT, path: PACKAGEKIT_PATH, interface: PACKAGEKIT, member: 'UpdatesChanged' }, () => next(), signal));
      if (!signal.aborted) next();
    });
  }
}

const NOTHING: Resolved = { installed: undefined, available: [] };

// The version a source offers of an answer that is exactly `version` (an installed version only
// when the answer also shows it as available).
function offered(known: Resolved, version: string): PackageId | undefined {
  return known.available.find((id) => sameVersion(id.version, version));
}

// The version of an answer that is exactly `version`.
function withVersion(known: Resolved, version: string): PackageId | undefined {
  return [...known.available, ...(known.installed ? [known.installed] : [])].find((id) => sameVersion(id.version, version));
}

// The candidate when it is newer than the installed version (or nothing is installed).
function newer(known: Resolved): PackageId | undefined {
  const candidate = known.available[0];
  if (candidate === undefined) return undefined;
  if (known.installed !== undefined && compareVersions(candidate.version, known.installed.version) <= 0) return undefined;
  return candidate;
}

// PackageKit's refusal of what only-trusted does not allow names no flag of the resource's: the
// message leads with the packages it lists and allowuntrusted. Any other error is left as it is.
function explainUntrusted(err: unknown): unknown {
  if (!(err instanceof PackageKitError) || err.code !== 'cannot-install-repo-unsigned') return err;
  const listed = /cannot be authenticated:([\s\S]*)$/.exec(err.details)?.[1] ?? '';
  const names = listed.split(/\s+/).filter((name) => name !== '');
  return new UntrustedPackagesError(names, err.message.replace(/\s+/g, ' '), { cause: err });
}

const FLAG_NAMES: Readonly<Record<number, string>> = { [PK_TRANSACTION_FLAG.onlyTrusted]: 'only-trusted', [PK_TRANSACTION_FLAG.allowDowngrade]: 'allow-downgrade' };

// `PackageKit InstallPackages [only-trusted] a;1.0;all;local b;1.0;all;local`, for the log.
function summaryOf(call: TransactionCall, bits: readonly number[]): string {
  const flags = bits.map((bit) => FLAG_NAMES[bit]).join(',');
  return `PackageKit ${call.member} [${flags || 'none'}] ${(call.body[1] as string[]).join(' ')}`;
}
