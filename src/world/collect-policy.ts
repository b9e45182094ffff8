// What another host's export may not do here unless the collect entry allows it. The agent runs
// as root: each kind's collect trait names the fields of a collected resource that would give any
// host that can write to the store root power over this one.

import type { CollectAllowance, PrivilegeUse } from '../core/collect.js';
import type { AnyResourceKind } from '../core/kind.js';

/**
 * refusedPrivileges lists the privileged fields a collected resource of kind `def` uses that
 * `allow` does not grant; empty means it may be collected. A kind without a collect trait uses none.
 */
export function refusedPrivileges(def: AnyResourceKind, params: Readonly<Record<string, unknown>>, allow: readonly CollectAllowance[]): PrivilegeUse[] {
  return (def.collect?.privileges?.(params) ?? []).filter((use) => !allow.includes(use.allowance));
}
