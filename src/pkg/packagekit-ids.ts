// PackageKit's package ids (`name;version;arch;data`) and what Resolve's Package signals say of a
// package. Pure, so the rule that decides "installed" (the original's #988) is tested without a
// daemon.
//
// #988: the original read "installed" from the id's data field, which older PackageKit backends
// set to `installed`. PackageKit's apt backend (1.2 on Debian 12) writes `manual:<repo>` or
// `auto:<repo>` for an installed version instead (and `+manual:`/`+auto:` for one about to be
// installed), so the original never saw an installed package and re-applied forever. The info
// value of the Package signal says `installed` in every version; both are read here. The original
// also resolved with the `supported` filter, which on Debian hides every installed version that no
// Debian source still offers: queries here use no filter but `installed`.

import { PK_INFO } from './packagekit-enums.js';
import type { AvailableVersions, PkgInfo } from './backend.js';
import { compareVersions, sameVersion } from './version.js';

/** PackageId is a parsed package id. */
export interface PackageId {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  /** data is the backend's own field: a repository id, `manual:<repo>`, `auto:<repo>`, `installed`... */
  readonly data: string;
}

/** PackageSignal is one Package signal of a transaction: its info value, package id and summary. */
export interface PackageSignal {
  readonly info: number;
  readonly id: string;
  readonly summary: string;
}

/** parsePackageId splits `name;version;arch;data`; undefined when it has not four fields and a name. */
export function parsePackageId(id: string): PackageId | undefined {
  const parts = id.split(';');
  if (parts.length !== 4 || parts[0] === '') return undefined;
  const [name, version, arch, data] = parts as [string, string, string, string];
  return { name, version, arch, data };
}

/** formatPackageId builds a package id from its fields. */
export function formatPackageId(id: PackageId): string {
  return `${id.name};${id.version};${id.arch};${id.data}`;
}

/**
 * isInstalled says whether a Package signal is of the installed version: info `installed`, or a
 * data field of `installed`, `manual:...` or `auto:...` (#988: never only the first spelling).
 */
export function isInstalled(signal: PackageSignal): boolean {
  if (signal.info === PK_INFO.installed) return true;
  const data = parsePackageId(signal.id)?.data ?? '';
  return /^(installed|manual|auto)(:|$)/.test(data);
}

/**
 * belongsTo says whether a package id answers the requested name: `name` alone matches any
 * architecture PackageKit chose for it, `name:arch` only that one (or `all`), and a requested
 * package id its name and architecture (Resolve answers a version it lacks with another one).
 */
export function belongsTo(requested: string, id: PackageId): boolean {
  const asId = parsePackageId(requested);
  if (asId !== undefined) return id.name === asId.name && id.arch === asId.arch;
  const cut = requested.indexOf(':');
  if (cut < 0) return id.name === requested;
  return id.name === requested.slice(0, cut) && (id.arch === requested.slice(cut + 1) || id.arch === 'all');
}

/** Resolved is what Resolve said of one name: its installed version's id and the ids a source offers. */
export interface Resolved {
  readonly installed: PackageId | undefined;
  /** available are the versions not installed that Resolve returned (the candidate, newest first). */
  readonly available: readonly PackageId[];
}

/** resolvedByName groups Resolve's Package signals by requested name (or package id), duplicates dropped. */
export function resolvedByName(names: readonly string[], signals: readonly PackageSignal[]): Map<string, Resolved> {
  const result = new Map<string, Resolved>();
  for (const name of names) {
    let installed: PackageId | undefined;
    const available = new Map<string, PackageId>();
    for (const signal of signals) {
      const id = parsePackageId(signal.id);
      if (id === undefined || !belongsTo(name, id)) continue;
      if (isInstalled(signal)) installed ??= id;
      else available.set(`${id.version};${id.arch}`, id);
    }
    result.set(name, { installed, available: [...available.values()].sort((a, b) => compareVersions(b.version, a.version)) });
  }
  return result;
}

/**
 * pkgInfoOf turns what Resolve said of a name into a PkgInfo. Resolve returns the installed
 * version and the candidate (PackageKit's apt backend shows no other version), so `versions` is
 * the candidate, plus `more`: other versions a source has, found by Resolve of their package ids.
 * With `available`, a name Resolve did not return is unknown.
 */
export function pkgInfoOf(name: string, resolved: Resolved | undefined, available: boolean, more: readonly string[] = []): PkgInfo {
  const installed = resolved?.installed?.version;
  if (!available) return { name, installed };
  // An installed version that is also the candidate comes back as installed only.
  const candidate = resolved?.available[0]?.version ?? installed;
  const offered = candidate === undefined ? [] : [candidate];
  for (const version of more) if (!offered.some((known) => sameVersion(known, version))) offered.push(version);
  const versions: AvailableVersions = { candidate, versions: offered.sort((a, b) => compareVersions(b, a)) };
  return { name, installed, available: versions };
}
