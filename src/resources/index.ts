import type { AnyResourceKind } from './types.js';
import { exec } from './exec.js';
import { file } from './file.js';
import { group } from './group.js';
import { kv } from './kv.js';
import { msg } from './msg.js';
import { noop } from './noop.js';
import { pkg } from './pkg.js';
import { print } from './print.js';
import { svc } from './svc.js';
import { timer } from './timer.js';
import { user } from './user.js';

/** Registry looks resource kinds up by name. */
export type Registry = ReadonlyMap<string, AnyResourceKind>;

/** createRegistry builds a registry from an explicit list; an empty or duplicate kind is a bug. */
export function createRegistry(kinds: readonly AnyResourceKind[]): Registry {
  const registry = new Map<string, AnyResourceKind>();
  for (const def of kinds) {
    if (!def.kind) throw new Error('resource registry: a kind has an empty name');
    if (registry.has(def.kind)) throw new Error(`resource registry: kind ${def.kind} is registered twice`);
    registry.set(def.kind, def);
  }
  return registry;
}

/** BUILTIN_KINDS lists every kind this agent implements, in the order of DESIGN section 3. */
export const BUILTIN_KINDS: readonly AnyResourceKind[] = [noop, file, exec, timer, msg, print, kv, svc, pkg, user, group];

/** defaultRegistry is the registry of all built-in kinds. */
export const defaultRegistry: Registry = createRegistry(BUILTIN_KINDS);
