import type { AnyResourceKind } from './kind.js';

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
