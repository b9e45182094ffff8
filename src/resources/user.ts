import { isAbsolute } from 'node:path';
import { whenAllReady } from '../../streams/when-all-ready.js';
import { accountCollect, ACCOUNT_STATES, GROUP_FILE, PASSWD_FILE, findGroup, readGroups, readUsers, runAccountTool, type GroupEntry, type PasswdEntry } from './accounts.js';
import type { ResourceContext } from '../core/context.js';
import type { LiveResource, ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';
import { groupUid, oneRound, userUid, want } from './uids.js';
import { accountNameProblem, accountRefProblem, controlCharProblem, idProblem, pathLengthProblem, shorten } from './values.js';

/** userParams declares the parameters of a user resource; unset = unmanaged. */
export const userParams = paramTable({
  // Required, as upstream: '' until set.
  state: { type: 'string', doc: 'exists or absent (required)', default: '' },
  uid: { type: 'uint', doc: 'the user id; must be free unless allowduplicateuid', optional: true },
  gid: { type: 'uint', doc: 'the primary group by id (not with group)', optional: true },
  // By name, or by id in decimal.
  group: { type: 'string', doc: 'the primary group by name (not with gid)', optional: true },
  // Names or ids.
  groups: { type: 'stringList', doc: 'the exact supplementary groups; [] = none', optional: true },
  homedir: { type: 'string', doc: 'the home directory recorded for the user, ending in / (not created)', optional: true },
  shell: { type: 'string', doc: 'the login shell (absolute path)', optional: true },
  allowduplicateuid: { type: 'bool', doc: 'allow a uid another user already has', default: false },
});

/** UserParams are the parameters of a user resource; undefined = unmanaged. */
export type UserParams = ParamsOf<typeof userParams>;

/** user manages a local user account with useradd, usermod and userdel. */
export const user: ResourceKind<UserParams> = {
  kind: 'user',
  doc: 'manages a local user account (useradd/usermod/userdel): uid, primary and supplementary groups, home, shell',
  params: userParams,

  defaults: defaultsOf(userParams),

  validate(p) {
    const problems: ParamProblem[] = [];
    const problem = (param: string, reason: string): void => void problems.push({ param, reason });
    if (!(ACCOUNT_STATES as readonly string[]).includes(p.state)) {
      problem('state', p.state === '' ? 'is required: set exists or absent' : `must be "exists" or "absent", got "${p.state}"`);
    }
    for (const param of ['uid', 'gid'] as const) {
      const value = p[param];
      const reason = value === undefined ? undefined : idProblem(value);
      if (reason !== undefined) problem(param, reason);
    }
    if (p.gid !== undefined && p.group !== undefined) problem('group', `cannot be used with gid ${p.gid}: set only one`);
    const groupReason = p.group === undefined ? undefined : accountRefProblem(p.group);
    if (groupReason !== undefined) problem('group', groupReason);
    if (p.groups !== undefined) {
      const primary = primaryGroup(p);
      const seen = new Set<string>();
      for (const ref of p.groups) {
        const reason = accountRefProblem(ref);
        if (reason !== undefined) problem('groups', reason);
        else if (ref === primary) problem('groups', `"${ref}" is the primary group; supplementary groups must not contain it`);
        else if (seen.has(ref)) problem('groups', `"${ref}" is listed twice`);
        seen.add(ref);
      }
    }
    if (p.homedir !== undefined) {
      const reason = !(isAbsolute(p.homedir) && p.homedir.endsWith('/'))
        ? `must be an absolute path ending in "/", got ${shorten(p.homedir)}`
        : databaseFieldProblem(p.homedir);
      if (reason !== undefined) problem('homedir', reason);
    }
    if (p.shell !== undefined) {
      const reason = isAbsolute(p.shell) ? databaseFieldProblem(p.shell) : `must be an absolute path, got ${shorten(p.shell)}`;
      if (reason !== undefined) problem('shell', reason);
    }
    return problems;
  },

  // The name is what useradd creates: it is checked with the parameters, before anything runs.
  validateName(name, p) {
    const problems: ParamProblem[] = [];
    const reason = accountNameProblem(name);
    if (reason !== undefined) problems.push({ param: 'name', reason: `the user name ${reason}` });
    if (p.groups?.includes(name)) {
      problems.push({ param: 'groups', reason: `contains "${name}", the user's own name (its own group is its primary group)` });
    }
    return problems;
  },

  init: (p, ctx) => createLiveUser(p, ctx),

  // A user that must exist comes after its groups (useradd needs them); one that must go comes
  // before them, so a group is never deleted while it is still someone's primary group.
  autoedge: {
    uids: (p, name) => [userUid(name), ...(p.uid === undefined ? [] : [userUid(String(p.uid))])],
    search: (p) => oneRound(groupRefs(p).map((ref) => want(groupUid(ref), p.state === 'exists'))),
  },

  collect: accountCollect('user'),
};

/** Change is one field of the account that is not as wanted, with the tool options that set it. */
interface Change {
  readonly field: string;
  /** What the account has now; undefined when the account is missing. */
  readonly from: string | number | undefined;
  readonly to: string | number;
  readonly args: readonly string[];
}

function createLiveUser(p: UserParams, ctx: ResourceContext): LiveResource {
  const name = ctx.name;
  const fail = (message: string, cause?: unknown): Error => new Error(`${ctx.id}: ${message}`, cause === undefined ? undefined : { cause });
  const primary = primaryGroup(p);

  const run = async (tool: 'useradd' | 'usermod' | 'userdel', args: readonly string[], signal: AbortSignal): Promise<void> => {
    try {
      await runAccountTool(tool, [...args, '--', name], { signal });
    } catch (err) {
      if (signal.aborted) throw err;
      throw fail((err as Error).message, err);
    }
  };

  // wantedChanges lists what differs between the account (undefined = missing) and the params.
  const wantedChanges = (current: PasswdEntry | undefined, groups: readonly GroupEntry[]): Change[] => {
    const changes: Change[] = [];
    if (p.uid !== undefined && current?.uid !== p.uid) {
      const args = ['--uid', String(p.uid), ...(p.allowduplicateuid ? ['--non-unique'] : [])];
      changes.push({ field: 'uid', from: current?.uid, to: p.uid, args });
    }
    if (primary !== undefined) {
      const found = findGroup(groups, primary);
      if (found === undefined || current?.gid !== found.gid) {
        changes.push({ field: 'gid', from: current?.gid, to: found?.gid ?? primary, args: ['--gid', found === undefined ? primary : String(found.gid)] });
      }
    }
    if (p.groups !== undefined) {
      const have = groups.filter((group) => group.members.includes(name)).map((group) => group.name);
      const wanted = p.groups.map((ref) => findGroup(groups, ref)?.name ?? ref);
      if (!sameSet(have, wanted)) {
        changes.push({ field: 'groups', from: current && `[${have.join(',')}]`, to: `[${wanted.join(',')}]`, args: ['--groups', wanted.join(',')] });
      }
    }
    if (p.homedir !== undefined && bare(current?.home) !== bare(p.homedir)) {
      // The database records a home without its trailing `/`, as useradd itself does.
      changes.push({ field: 'home', from: current?.home, to: bare(p.homedir)!, args: ['--home', bare(p.homedir)!] });
    }
    if (p.shell !== undefined && current?.shell !== p.shell) {
      changes.push({ field: 'shell', from: current?.shell, to: p.shell, args: ['--shell', p.shell] });
    }
    return changes;
  };

  // missingGroups names the wanted groups that do not exist, which useradd would refuse less clearly.
  const missingGroups = (groups: readonly GroupEntry[]): string[] => groupRefs(p).filter((ref) => findGroup(groups, ref) === undefined);

  const checkApply = async (apply: boolean, signal: AbortSignal): Promise<boolean> => {
    signal.throwIfAborted();
    const [users, groups] = await Promise.all([readUsers(), readGroups()]).catch((err: unknown) => {
      throw fail((err as Error).message, err);
    });
    signal.throwIfAborted();
    const current = users.find((entry) => entry.name === name);

    if (p.state === 'absent') {
      if (current === undefined) return true;
      if (!apply) return false;
      await run('userdel', [], signal);
      ctx.log.info(`deleted user ${name} (uid ${current.uid})`);
      return false;
    }

    const changes = wantedChanges(current, groups);
    if (current !== undefined && changes.length === 0) return true;
    // Upstream refuses a taken uid even when nothing would change; a uid the user already has is
    // not "taken", so only a uid that must be set is checked.
    if (p.uid !== undefined && !p.allowduplicateuid && current?.uid !== p.uid) {
      const holder = users.find((entry) => entry.uid === p.uid && entry.name !== name);
      if (holder !== undefined) {
        throw fail(`uid ${p.uid} is already taken by user "${holder.name}"; choose another uid or set allowduplicateuid: true`);
      }
    }
    if (!apply) return false;
    const missing = missingGroups(groups);
    if (missing.length > 0) {
      const list = missing.map((ref) => `"${ref}"`).join(', ');
      const what = missing.length === 1 ? `group ${list} does not exist` : `groups ${list} do not exist`;
      throw fail(`${what}; create it first (a group resource in the graph is ordered before this user automatically)`);
    }
    const args = changes.flatMap((change) => change.args);
    if (current === undefined) {
      await run('useradd', args, signal);
      const set = changes.map((change) => `${change.field} ${change.to}`).join(', ');
      ctx.log.info(`created user ${name}${set === '' ? '' : ` (${set})`}`);
    } else {
      await run('usermod', args, signal);
      ctx.log.info(`modified user ${name}: ${changes.map((change) => `${change.field} ${String(change.from)} -> ${change.to}`).join(', ')}`);
    }
    return false;
  };

  return {
    // Supplementary groups live in /etc/group, so both files are watched.
    watch: () => whenAllReady([ctx.watchPath(PASSWD_FILE), ctx.watchPath(GROUP_FILE)]),
    checkApply,
  };
}

/** primaryGroup is the primary group as useradd's --gid takes it: a name, or a gid in decimal. */
function primaryGroup(p: UserParams): string | undefined {
  return p.group ?? (p.gid === undefined ? undefined : String(p.gid));
}

/** groupRefs lists every group the user needs: its primary group, then its supplementary ones. */
function groupRefs(p: UserParams): string[] {
  const primary = primaryGroup(p);
  return [...(primary === undefined ? [] : [primary]), ...(p.groups ?? [])];
}

/**
 * databaseFieldProblem says why a value cannot be a field of /etc/passwd: a `:` would split it and
 * a control character (a newline above all) would start a forged line; undefined = it can.
 */
function databaseFieldProblem(value: string): string | undefined {
  if (value.includes(':')) return `must not contain ":", got ${shorten(value)}`;
  return controlCharProblem(value) ?? pathLengthProblem(value);
}

/** bare drops a trailing `/` from a home directory (but keeps `/` itself). */
function bare(path: string | undefined): string | undefined {
  return path !== undefined && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((item) => right.has(item));
}
