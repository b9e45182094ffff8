import { defer } from 'rxjs';
import type { ResourceContext, SharedStrings } from '../core/context.js';
import type { ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';

// skipcmpstyle's values, as upstream numbers them.
const SKIP_CMP_INT = 0;
const SKIP_CMP_STRING = 1;

/** kvParams declares the parameters of a kv resource. */
export const kvParams = paramTable({
  key: { type: 'string', doc: 'the key; defaults to the name', default: (name) => name },
  // Unset (absent or null in YAML) deletes the key.
  value: { type: 'string', doc: 'the value; unset deletes the key', optional: true },
  mapped: { type: 'bool', doc: 'use the per-host key _mapped/<hostname>/<key>, which only this host writes', default: false },
  // A counter that only grows.
  skiplessthan: { type: 'bool', doc: 'leave a larger existing value alone unless notified', default: false },
  skipcmpstyle: { type: 'int', doc: 'skiplessthan compares as integers (0) or strings (1)', default: SKIP_CMP_INT },
});

/** KvParams are the parameters of a kv resource. */
export type KvParams = ParamsOf<typeof kvParams>;

const INTEGER = /^[+-]?\d+$/;

/**
 * MAPPED_PREFIX starts the World keys of mapped kvs: host h's `mapped: true` kv of key k holds
 * `_mapped/h/k`. Host first, so each host's mapped keys are one etcd prefix that its role alone may
 * write (cluster/authority.ts); no other kv may name a key under it.
 */
export const MAPPED_PREFIX = '_mapped/';
/** FIGHT_WRITES rewrites of a key someone else changed, within FIGHT_WINDOW_MS, are a fight: no more writes. */
export const FIGHT_WRITES = 5;
/** FIGHT_WINDOW_MS is the window FIGHT_WRITES counts in. */
export const FIGHT_WINDOW_MS = 10_000;

/** kv keeps a string key of the World (shared by all hosts) at a value, or deleted. */
export const kv: ResourceKind<KvParams> = {
  kind: 'kv',
  doc: 'sets or deletes a string key shared by all hosts (the World)',
  params: kvParams,
  refreshable: true,

  defaults: defaultsOf(kvParams),

  validate(p) {
    const problems: ParamProblem[] = [];
    if (p.key === '') problems.push({ param: 'key', reason: 'must not be empty' });
    else if (!p.mapped && p.key.startsWith(MAPPED_PREFIX)) {
      problems.push({ param: 'key', reason: `${JSON.stringify(p.key)} is refused: keys under ${MAPPED_PREFIX} are the hosts' mapped keys; use mapped: true for this host's own` });
    }
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
    const key = p.mapped ? mappedKey(ctx.hostname, p.key) : p.key;
    // When this instance wrote its key (refreshes aside): more than once means someone else changed it.
    const rewrites: number[] = [];

    /** mayWrite refuses to go on fighting another writer of the key. */
    function mayWrite(): void {
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
            mayWrite();
            await world.strDel(key);
            ctx.log.info(`deleted key ${key}`);
          }
          return false;
        }
        // A refresh asks for the exact value, so a larger one is reset (kv4.yaml's state machine).
        if (p.skiplessthan && current !== undefined && !ctx.refreshPending() && isLarger(current, p.value, p.skipcmpstyle, ctx, key)) {
          return true;
        }
        if (apply) {
          mayWrite();
          await world.strSet(key, p.value);
          ctx.log.info(`set key ${key} to ${JSON.stringify(p.value)}`);
        }
        return false;
      },
    };
  },
};

/** mappedKey is the World key of host `hostname`'s mapped kv of key `key`. */
export function mappedKey(hostname: string, key: string): string {
  return `${MAPPED_PREFIX}${hostname}/${key}`;
}

/** worldOf returns the context's World, or says why kv cannot run without one. */
function worldOf(ctx: ResourceContext): SharedStrings {
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
