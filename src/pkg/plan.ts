// What the pkg resource decides, apart from any package manager: whether a package is in its
// state, what it needs to get there, and the one transaction a whole group makes. Pure, so every
// rule is tested without apt.

import { isUnknown, type PkgInfo, type PkgRequest, type Transaction } from './backend.js';
import { compareVersions, sameVersion } from './version.js';

/** PKG_STATES are the states a pkg resource may have besides an exact version. */
export const PKG_STATES = ['installed', 'uninstalled', 'newest'] as const;

/** isVersionState says whether a state names an exact version (anything but installed, uninstalled, newest). */
export function isVersionState(state: string): boolean {
  return !(PKG_STATES as readonly string[]).includes(state);
}

/** PlanMember is one package of a check: its name, wanted state and whether it may be downgraded. */
export interface PlanMember {
  readonly name: string;
  readonly state: string;
  readonly allowDowngrade: boolean;
}

/** Verdict is what one package needs: nothing, a change, or something that cannot be done. */
export type Verdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'install'; readonly version?: string }
  | { readonly kind: 'upgrade' }
  | { readonly kind: 'remove' }
  | { readonly kind: 'error'; readonly message: string };

/**
 * needsAvailable says whether deciding about `member` needs what the sources offer, given its
 * installed version: `newest` always, a version unless it is installed. A missing `installed`
 * package needs it only for a check (`optimistic` false); a run that applies just installs it and
 * asks the sources only if the transaction fails (on a host whose apt keeps no binary cache,
 * every apt-cache call costs as much as reading all its package lists).
 */
export function needsAvailable(member: PlanMember, installed: string | undefined, optimistic = false): boolean {
  switch (member.state) {
    case 'installed':
      return installed === undefined && !optimistic;
    case 'uninstalled':
      return false;
    case 'newest':
      return true;
    default:
      return installed === undefined || !sameVersion(installed, member.state);
  }
}

/**
 * verdict decides what `member` needs from what the backend said of it (`backend` names the
 * package manager in messages). `info.available` must be there wherever needsAvailable says so.
 */
export function verdict(member: PlanMember, info: PkgInfo, backend: string): Verdict {
  const { name, state } = member;
  const installed = info.installed;
  if (state === 'uninstalled') return installed === undefined ? OK : { kind: 'remove' };
  if (state === 'installed' && installed !== undefined) return OK;
  // Not asked (optimistic): the transaction will say whether it can be installed.
  if (state === 'installed' && info.available === undefined) return { kind: 'install' };
  if (isUnknown(info)) return error(unknownPackage(name, backend));
  const available = info.available ?? { candidate: undefined, versions: [] };
  if (state === 'installed' || state === 'newest') {
    const candidate = available.candidate;
    if (candidate === undefined) {
      if (installed !== undefined) return OK; // nothing newer to have
      return error(`package ${name} has no installation candidate (it may be a virtual package, or only in sources not configured here)`);
    }
    if (installed === undefined) return { kind: 'install' };
    return compareVersions(installed, candidate) >= 0 ? OK : { kind: 'upgrade' };
  }
  // An exact version.
  if (installed !== undefined && sameVersion(installed, state)) return OK;
  const offered = available.versions.find((version) => sameVersion(version, state));
  if (offered === undefined) {
    const list = available.versions.length > 0 ? available.versions.join(', ') : 'none';
    return error(`version ${state} of package ${name} is not available (offered: ${list})`);
  }
  if (installed !== undefined && compareVersions(offered, installed) < 0 && !member.allowDowngrade) {
    return error(`package ${name} would be downgraded from ${installed} to ${offered}: set allowdowngrade: true to allow it`);
  }
  return { kind: 'install', version: offered };
}

/** isChange says whether a verdict asks the transaction for something (install, upgrade or remove). */
export function isChange(v: Verdict): boolean {
  return v.kind !== 'ok' && v.kind !== 'error';
}

/** transactionOf gathers the changes among the verdicts of a group into one transaction. */
export function transactionOf(members: readonly PlanMember[], verdicts: readonly Verdict[]): Transaction {
  const install: PkgRequest[] = [];
  const upgrade: string[] = [];
  const remove: string[] = [];
  verdicts.forEach((v, i) => {
    const name = members[i]!.name;
    if (v.kind === 'install') install.push(v.version === undefined ? { name } : { name, version: v.version });
    else if (v.kind === 'upgrade') upgrade.push(name);
    else if (v.kind === 'remove') remove.push(name);
  });
  return { install, upgrade, remove };
}

/**
 * reached says whether a package got where its transaction was to take it, from what the backend
 * says now (installed versions only) and what the sources offered before.
 */
export function reached(member: PlanMember, before: PkgInfo, now: PkgInfo): boolean {
  const installed = now.installed;
  switch (member.state) {
    case 'uninstalled':
      return installed === undefined;
    case 'installed':
      return installed !== undefined;
    case 'newest': {
      const candidate = before.available?.candidate;
      return installed !== undefined && (candidate === undefined || compareVersions(installed, candidate) >= 0);
    }
    default:
      return installed !== undefined && sameVersion(installed, member.state);
  }
}

const OK: Verdict = { kind: 'ok' };

function error(message: string): Verdict {
  return { kind: 'error', message };
}

/** unknownPackage is what a package no source offers, and that is not installed, fails with. */
export function unknownPackage(name: string, backend: string): string {
  return `package ${name} is not known to ${backend}: it is not installed and no configured source offers it (check the name, or refresh the package lists${backend === 'apt' ? ': apt-get update' : ''})`;
}
