// What another host's export may not do here unless the collect entry allows it (issue 10,
// finding 4). The agent runs as root: a collected value that copies this host's files, makes a
// set-uid file, hands a file to another user, runs a command or changes accounts would give any
// host that can write to the store root on this one.

import type { CollectAllowance } from '../graph/spec.js';
import { parseFileMode } from '../resources/file-mode.js';

/** PrivilegeUse is one field of a collected resource that needs an allowance. */
export interface PrivilegeUse {
  /** The parameter that asks for it. */
  readonly field: string;
  /** The allowance that would let it through. */
  readonly allowance: CollectAllowance;
  /** What it would do, for the `collect` event. */
  readonly reason: string;
}

type Params = Readonly<Record<string, unknown>>;

// Per kind, the privileged fields a collected resource uses; kinds not listed use none.
const POLICIES: Readonly<Record<string, (params: Params) => PrivilegeUse[]>> = {
  file: (params) => {
    const uses: PrivilegeUse[] = [];
    if (isSet(params.source)) {
      uses.push({ field: 'source', allowance: 'source', reason: `it would copy this host's ${JSON.stringify(params.source)}` });
    }
    if (isSet(params.mode) && asksSetId(String(params.mode))) {
      uses.push({ field: 'mode', allowance: 'setuid', reason: `mode ${JSON.stringify(params.mode)} sets set-uid or set-gid bits` });
    }
    for (const field of ['owner', 'group'] as const) {
      if (isSet(params[field])) uses.push({ field, allowance: 'owner', reason: `it would give the file to ${field} ${JSON.stringify(params[field])}` });
    }
    return uses;
  },
  // A command runs as root unless it names a user, and a user name is only resolved when it runs:
  // no collected exec is harmless enough to need no opt-in.
  exec: () => [{ field: 'cmd', allowance: 'exec', reason: 'it would run a command on this host' }],
  // An account can take uid 0, join a privileged group or remove a user: no field-level line is safe.
  user: () => [{ field: 'state', allowance: 'accounts', reason: 'it would add, change or remove a user of this host' }],
  group: () => [{ field: 'state', allowance: 'accounts', reason: 'it would add, change or remove a group of this host' }],
};

/**
 * refusedPrivileges lists the privileged fields a collected resource of `kind` uses that `allow`
 * does not grant; empty means it may be collected.
 */
export function refusedPrivileges(kind: string, params: Params, allow: readonly CollectAllowance[]): PrivilegeUse[] {
  const policy = Object.hasOwn(POLICIES, kind) ? POLICIES[kind] : undefined;
  return (policy?.(params) ?? []).filter((use) => !allow.includes(use.allowance));
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== '';
}

// A symbolic mode that leaves `u` or `g` alone keeps bits the file already has: only bits the mode
// itself sets count, for a file and for a directory. An invalid mode is left to the kind's validation.
function asksSetId(text: string): boolean {
  const mode = parseFileMode(text);
  if (typeof mode === 'string') return false;
  return [false, true].some((isDir) => (mode.apply(0, isDir) & 0o6000) !== 0);
}
