// The package backend: what the `pkg` resource needs from a package manager (select.ts makes the
// choice of `--pkg-backend auto|packagekit|apt`). The resource decides what is right (states,
// groups, errors); a backend only answers questions about packages and runs transactions. Keep it
// small: every method here must be implementable over PackageKit's D-Bus API (Resolve,
// InstallPackages, UpdatePackages, RemovePackages, GetFiles, UpdatesChanged) as well as over
// apt-get and dpkg.

import type { Observable } from 'rxjs';
import type { ResourceContext } from '../core/context.js';
import { abortable } from '../os/time.js';

/** PkgInfo is what a backend knows of one package name. */
export interface PkgInfo {
  readonly name: string;
  /**
   * installed is the installed version; undefined = not installed. A package removed with only its
   * configuration files left counts as not installed.
   */
  readonly installed: string | undefined;
  /** available is what the configured sources offer; present only when the query asked for it. */
  readonly available?: AvailableVersions;
}

/** AvailableVersions is what the configured sources offer of one package. */
export interface AvailableVersions {
  /** candidate is the version an install or upgrade would pick now; undefined = none. */
  readonly candidate: string | undefined;
  /**
   * versions lists the versions some source offers (the installed one only if a source has it
   * too): every one (apt), or the candidate and those asked for in QueryOptions.versions
   * (PackageKit, whose Resolve shows no other).
   */
  readonly versions: readonly string[];
}

/** QueryOptions tune a query. */
export interface QueryOptions {
  /**
   * available also looks up what the sources offer. It is slower (apt-cache builds its cache, or
   * a PackageKit transaction), so the resource asks only for the names it must.
   */
  readonly available?: boolean;
  /**
   * versions are exact versions wanted, by name (with `available`): a backend that cannot list
   * every version a source offers looks these up, so `available.versions` has each one a source has.
   */
  readonly versions?: ReadonlyMap<string, string>;
  readonly signal?: AbortSignal;
}

/** PkgRequest names a package to install: its candidate, or exactly `version`. */
export interface PkgRequest {
  readonly name: string;
  /** An exact version; undefined = the candidate. */
  readonly version?: string;
}

/** Transaction is one package transaction: everything in it is done by one call of the package manager. */
export interface Transaction {
  /** install installs these (or moves them to the requested version). */
  readonly install: readonly PkgRequest[];
  /** upgrade moves these installed packages to their candidate. */
  readonly upgrade: readonly string[];
  /** remove removes these (configuration files stay, like `apt-get remove` and PackageKit's RemovePackages). */
  readonly remove: readonly string[];
}

/** TransactionFlags are the pkg resource's allow* parameters; false is the safe default for each. */
export interface TransactionFlags {
  /** allowDowngrade lets the transaction install an older version than the installed one. */
  readonly allowDowngrade?: boolean;
  /** allowUntrusted lets it install packages whose source is not authenticated. */
  readonly allowUntrusted?: boolean;
  /** allowNonfree lets it install non-free packages (a PackageKit filter; apt has no such notion). */
  readonly allowNonfree?: boolean;
  /** allowUnsupported lets it install unsupported packages (a PackageKit filter; apt has no such notion). */
  readonly allowUnsupported?: boolean;
}

/** TransactionReport says what a transaction ran, for the log. */
export interface TransactionReport {
  /** summary is the command or D-Bus call, readable by people (`apt-get install -y a b c`). */
  readonly summary: string;
}

/**
 * PkgBackend talks to one package manager. Methods may be called concurrently; a backend
 * serialises its own transactions (package managers allow one at a time).
 */
export interface PkgBackend {
  /** name is `apt` or `packagekit`, for logs. */
  readonly name: string;
  /**
   * query returns one PkgInfo per name, in one call of the package manager, unknown names
   * included (not installed and, when asked, with no available version).
   */
  query(names: readonly string[], options?: QueryOptions): Promise<ReadonlyMap<string, PkgInfo>>;
  /**
   * apply runs one transaction; it rejects with the package manager's own reason when the
   * transaction fails. An empty transaction is not run.
   */
  apply(transaction: Transaction, flags: TransactionFlags, signal: AbortSignal): Promise<TransactionReport>;
  /**
   * listFiles returns the paths each package ships, directories ending with `/`; undefined for a
   * package whose files the backend cannot tell (not installed and no package file at hand).
   */
  listFiles(names: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, readonly string[] | undefined>>;
  /**
   * watch emits once when the watch is established, then whenever installed packages may have
   * changed (a spurious emission is fine, a missed change is a bug).
   */
  watch(): Observable<void>;
  /** close releases what the backend holds (a bus connection); it may not be used afterwards. */
  close(): Promise<void>;
}

/** BackendEnv is what a backend may take from the agent. */
export interface BackendEnv {
  /** watchPath is the agent's shared file watcher; a backend without it watches on its own. */
  readonly watchPath?: ResourceContext['watchPath'];
}

/** isUnknown says whether a package is unknown: not installed and, as far as asked, offered by no source. */
export function isUnknown(info: PkgInfo | undefined): boolean {
  if (info === undefined) return true;
  return info.installed === undefined && info.available !== undefined && info.available.versions.length === 0 && info.available.candidate === undefined;
}

/**
 * awaitTransaction waits for `turn`, a transaction queued behind the agent's others. Aborted while
 * it still queues, the wait ends at once (it will never start); once `started`, the wait lasts
 * until it has stopped and `ended` (the backend's own end of what it started) has resolved.
 */
export async function awaitTransaction<T>(turn: Promise<T>, started: () => boolean, signal: AbortSignal, ended: () => Promise<unknown> = () => turn): Promise<T> {
  try {
    return await abortable(turn, signal);
  } catch (err) {
    if (started()) {
      await turn.catch(() => undefined);
      await ended().catch(() => undefined);
    }
    throw err;
  }
}

/** isEmptyTransaction says whether a transaction has nothing to do. */
export function isEmptyTransaction(transaction: Transaction): boolean {
  return transaction.install.length === 0 && transaction.upgrade.length === 0 && transaction.remove.length === 0;
}

/**
 * RefusedPackagesError says a transaction was refused before anything changed, package by
 * package: `refusals` holds each refused package's reason, by name (a filter, a version not
 * offered, an unknown name). The pkg resource fails those members alone and does the rest of a
 * group when all of them are its members.
 */
export class RefusedPackagesError extends Error {
  constructor(
    readonly refusals: ReadonlyMap<string, string>,
    message: string = [...refusals.values()].join('; '),
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RefusedPackagesError';
  }
}

/**
 * UntrustedPackagesError is the refusal of packages the backend cannot authenticate (no key the
 * host trusts signs their source) because allowUntrusted was not set. Both backends word it alike.
 */
export class UntrustedPackagesError extends RefusedPackagesError {
  constructor(names: readonly string[], reason: string, options?: ErrorOptions) {
    super(new Map(names.map((name) => [name, untrustedRefusal([name])])), `${untrustedRefusal(names)} (${reason})`, options);
    this.name = 'UntrustedPackagesError';
  }
}

/** untrustedRefusal is what a refusal of `names` without allowuntrusted says first, naming the flag that allows them. */
export function untrustedRefusal(names: readonly string[]): string {
  const one = names.length === 1;
  const what = `${one ? 'package' : 'packages'} ${names.join(', ')}`.trimEnd();
  return `${what} cannot be authenticated (no key this host trusts signs ${one ? 'its' : 'their'} source): set allowuntrusted: true to install ${one ? 'it' : 'them'} anyway`;
}
