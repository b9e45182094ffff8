import { defer } from 'rxjs';
import type { World } from '../world/types.js';
import type { ParamProblem, ResourceContext, ResourceKind } from './types.js';

/** KvParams are the parameters of a kv resource. */
export interface KvParams {
  /** The string key in the World; defaults to the resource name. */
  readonly key: string;
  /** The value to hold; undefined (absent or null in YAML) deletes the key. */
  readonly value: string | undefined;
  /** Use a key of this host's own, `<key>/<hostname>`. */
  readonly mapped: boolean;
  /** Accept an existing value larger than `value` (unless refreshed): a counter that only grows. */
  readonly skiplessthan: boolean;
  /** How skiplessthan compares: 0 as integers, 1 as strings. */
  readonly skipcmpstyle: number;
}

// skipcmpstyle's values, as upstream numbers them.
const SKIP_CMP_INT = 0;
const SKIP_CMP_STRING = 1;

const INTEGER = /^[+-]?\d+$/;

/**
 * MAPPED_OWNERS prefixes the World string key that names the owner of a mapped key: host h's
 * `mapped: true` kv of key k holds `k/h` and marks `_mapped/k/h` = h, so no kv of another host
 * writes `k/h` (without etcd authority this binds only the agents, not other etcd clients).
 */
export const MAPPED_OWNERS = '_mapped/';
/** FIGHT_WRITES rewrites of a key someone else changed, within FIGHT_WINDOW_MS, are a fight: no more writes. */
export const FIGHT_WRITES = 5;
/** FIGHT_WINDOW_MS is the window FIGHT_WRITES counts in. */
export const FIGHT_WINDOW_MS = 10_000;

/** kv keeps a string key of the World (shared by all hosts) at a value, or deleted. */
export const kv: ResourceKind<KvParams> = {
  kind: 'kv',
  doc: 'sets or deletes a string key shared by all hosts (the World)',
  params: {
    key: { type: 'string', doc: 'the key; defaults to the name' },
    value: { type: 'string', doc: 'the value; unset deletes the key' },
    mapped: { type: 'bool', doc: 'use the per-host key <key>/<hostname>' },
    skiplessthan: { type: 'bool', doc: 'leave a larger existing value alone unless notified' },
    skipcmpstyle: { type: 'int', doc: 'skiplessthan compares as integers (0) or strings (1)' },
  },
  refreshable: true,

  defaults: (name) => ({ key: name, value: undefined, mapped: false, skiplessthan: false, skipcmpstyle: SKIP_CMP_INT }),

  validate(p) {
    const problems: ParamProblem[] = [];
    if (p.key === '') problems.push({ param: 'key', reason: 'must not be empty' });
    if (p.skipcmpstyle !== SKIP_CMP_INT && p.skipcmpstyle !== SKIP_CMP_STRING) {
      problems.push({ param: 'skipcmpstyle', reason: `must be 0 (integer compare) or 1 (string compare), got ${JSON.stringify(p.skipcmpstyle)}` });
    } else if (p.skiplessthan && p.skipcmpstyle === SKIP_CMP_INT && p.value !== undefined && !INTEGER.test(p.value)) {
      problems.push({
        param: 'value',
        reason: `must be an integer with skiplessthan and skipcmpstyle 0, got ${JSON.stringify(p.value)}; use skipcmpstyle 1 to compare strings`,
      });
    }
    return problems;
  },

  init(p, ctx) {
    const key = p.mapped ? `${p.key}/${ctx.hostname}` : p.key;
    const owner = ownerKey(key);
    // When this instance wrote its key (refreshes aside): more than once means someone else changed it.
    const rewrites: number[] = [];
    let marked = false;

    /** mayWrite refuses to write another host's mapped key, or to go on fighting another writer. */
    async function mayWrite(world: World): Promise<void> {
      if (key.startsWith(MAPPED_OWNERS)) throw new Error(`${ctx.id}: key ${key} is refused: keys under ${MAPPED_OWNERS} name the owners of mapped keys`);
      if (!p.mapped) {
        const mappedBy = await world.strGet(owner);
        if (mappedBy !== undefined && mappedBy !== ctx.hostname) {
          throw new Error(`${ctx.id}: key ${key} is host ${mappedBy}'s mapped key (its kv with mapped: true); only ${mappedBy} writes it`);
        }
      }
      // The first write sets the key; each later one (refreshes aside) undoes another writer's change.
      if (ctx.refreshPending()) return;
      const now = Date.now();
      while (rewrites.length > 0 && rewrites[0]! <= now - FIGHT_WINDOW_MS) rewrites.shift();
      if (rewrites.length >= FIGHT_WRITES) {
        const message = `key ${key} was written ${rewrites.length} times within ${FIGHT_WINDOW_MS / 1000} s, each time after another writer changed it: another host writes it too (two hosts of one name, or one key set differently by two hosts); not writing it again until the writes slow down`;
        if (rewrites.length === FIGHT_WRITES) ctx.log.warn(message);
        rewrites.push(now);
        throw new Error(`${ctx.id}: ${message}`);
      }
      rewrites.push(now);
    }

    /** markOwner records this host as the owner of its mapped key, once per instance. */
    async function markOwner(world: World): Promise<void> {
      if (marked) return;
      if ((await world.strGet(owner)) !== ctx.hostname) await world.strSet(owner, ctx.hostname);
      marked = true;
    }

    return {
      watch: () => defer(() => worldOf(ctx).strWatch(key)),

      async checkApply(apply, signal) {
        const world = worldOf(ctx);
        signal.throwIfAborted();
        const current = await world.strGet(key);
        signal.throwIfAborted();
        if (current === p.value) return true;
        if (p.value === undefined) {
          if (apply) {
            await mayWrite(world);
            await world.strDel(key);
            if (p.mapped) await world.strDel(owner);
            ctx.log.info(`deleted key ${key}`);
          }
          return false;
        }
        // A refresh asks for the exact value, so a larger one is reset (kv4.yaml's state machine).
        if (p.skiplessthan && current !== undefined && !ctx.refreshPending() && isLarger(current, p.value, p.skipcmpstyle, ctx, key)) {
          return true;
        }
        if (apply) {
          await mayWrite(world);
          if (p.mapped) await markOwner(world);
          await world.strSet(key, p.value);
          ctx.log.info(`set key ${key} to ${JSON.stringify(p.value)}`);
        }
        return false;
      },
    };
  },
};

/** ownerKey is the World key that names the host owning the mapped key `key`. */
function ownerKey(key: string): string {
  return `${MAPPED_OWNERS}${key}`;
}

/** worldOf returns the context's World, or says why kv cannot run without one. */
function worldOf(ctx: ResourceContext): World {
  if (!ctx.world) throw new Error(`${ctx.id}: kv needs a World (shared string keys), but this agent has none`);
  return ctx.world;
}

/** isLarger says whether the stored value is larger than the wanted one, in the chosen order. */
function isLarger(current: string, wanted: string, style: number, ctx: ResourceContext, key: string): boolean {
  if (style === SKIP_CMP_STRING) return current > wanted;
  // Upstream fails here forever; overwriting a non-integer with the wanted integer converges instead.
  if (!INTEGER.test(current)) {
    ctx.log.warn(`key ${key} holds ${JSON.stringify(current)}, not an integer; replacing it`);
    return false;
  }
  return BigInt(current) > BigInt(wanted);
}
