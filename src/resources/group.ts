import { accountCollect, ACCOUNT_STATES, GROUP_FILE, readGroups, runAccountTool, type AccountTool } from './accounts.js';
import type { ResourceContext } from '../core/context.js';
import type { LiveResource, ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';
import { groupUid, oneRound } from './uids.js';
import { accountNameProblem, idProblem } from './values.js';

/** groupParams declares the parameters of a group resource. */
export const groupParams = paramTable({
  // Required, as upstream: '' until set.
  state: { type: 'string', doc: 'exists or absent (required)', default: '' },
  // Unset: whatever groupadd picks, and left alone after.
  gid: { type: 'uint', doc: 'the group id; must not belong to another group', optional: true },
});

/** GroupParams are the parameters of a group resource. */
export type GroupParams = ParamsOf<typeof groupParams>;

/** group manages a local group with groupadd, groupmod and groupdel. */
export const group: ResourceKind<GroupParams> = {
  kind: 'group',
  doc: 'manages a local group (groupadd/groupmod/groupdel) and its gid',
  params: groupParams,

  defaults: defaultsOf(groupParams),

  validate(p) {
    const problems: ParamProblem[] = [];
    if (!(ACCOUNT_STATES as readonly string[]).includes(p.state)) {
      const reason = p.state === '' ? 'is required: set exists or absent' : `must be "exists" or "absent", got "${p.state}"`;
      problems.push({ param: 'state', reason });
    }
    const gidReason = p.gid === undefined ? undefined : idProblem(p.gid);
    if (gidReason !== undefined) problems.push({ param: 'gid', reason: gidReason });
    return problems;
  },

  // The name is what groupadd creates: it is checked with the parameters, before anything runs.
  validateName(name) {
    const reason = accountNameProblem(name);
    return reason === undefined ? [] : [{ param: 'name', reason: `the group name ${reason}` }];
  },

  init: (p, ctx) => createLiveGroup(p, ctx),

  // A group is only ever found (by users and execs that need it); it looks for nothing itself.
  autoedge: {
    uids: (p, name) => [groupUid(name), ...(p.gid === undefined ? [] : [groupUid(String(p.gid))])],
    search: () => oneRound([]),
  },

  collect: accountCollect('group'),
};

function createLiveGroup(p: GroupParams, ctx: ResourceContext): LiveResource {
  const name = ctx.name;
  const fail = (message: string, cause?: unknown): Error => new Error(`${ctx.id}: ${message}`, cause === undefined ? undefined : { cause });

  const run = async (tool: AccountTool, args: readonly string[], signal: AbortSignal): Promise<void> => {
    try {
      await runAccountTool(tool, [...args, '--', name], { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw fail((err as Error).message, err);
    }
  };

  return {
    watch: () => ctx.watchPath(GROUP_FILE),

    async checkApply(apply, signal) {
      signal.throwIfAborted();
      const groups = await readGroups().catch((err: unknown) => {
        throw fail((err as Error).message, err);
      });
      signal.throwIfAborted();
      const current = groups.find((entry) => entry.name === name);

      if (p.state === 'absent') {
        if (current === undefined) return true;
        if (!apply) return false;
        await run('groupdel', [], signal);
        ctx.log.info(`deleted group ${name} (gid ${current.gid})`);
        return false;
      }

      if (current !== undefined && (p.gid === undefined || current.gid === p.gid)) return true;
      if (p.gid !== undefined) {
        const holder = groups.find((entry) => entry.gid === p.gid && entry.name !== name);
        if (holder !== undefined) throw fail(`gid ${p.gid} is already taken by group "${holder.name}"; choose another gid`);
      }
      if (!apply) return false;
      const gidArgs = p.gid === undefined ? [] : ['--gid', String(p.gid)];
      if (current === undefined) {
        await run('groupadd', gidArgs, signal);
        ctx.log.info(`created group ${name}${p.gid === undefined ? '' : ` (gid ${p.gid})`}`);
      } else {
        await run('groupmod', gidArgs, signal);
        ctx.log.info(`modified group ${name}: gid ${current.gid} -> ${p.gid}`);
      }
      return false;
    },
  };
}
