// The group kind against the real group database: it runs as root and only ever touches groups
// named `mgmt-t-<random>` with gids from its own range, removed after each test.

import { describe, expect, it } from 'vitest';
import { group, type GroupParams } from '../../src/resources/group.js';
import { validateResource } from '../../src/resources/validate.js';
import { getentGroup, tool, useAccounts } from '../helpers/accounts.js';
import { makeContext } from '../helpers/context.js';
import { record } from '../watchers/recorder.js';

const never = new AbortController().signal;
const accounts = useAccounts(63_000);

/** start validates a group resource named `name` with `params` and returns its live part. */
function start(name: string, params: Partial<GroupParams>) {
  const ctx = makeContext('group', name);
  const full = { ...group.defaults(name), ...params };
  expect(group.validate(full)).toEqual([]);
  return { ctx, live: group.init(full, ctx) };
}

function problems(params: Partial<GroupParams>): string[] {
  return group.validate({ ...group.defaults('g'), ...params }).map((p) => `${p.param}: ${p.reason}`);
}

describe('group: validation', () => {
  it('GIVEN no state, a wrong one or a bad gid WHEN validated THEN each is reported', () => {
    expect(problems({})).toEqual(['state: is required: set exists or absent']);
    expect(problems({ state: 'running', gid: 2 ** 32 - 1 })).toEqual([
      'state: must be "exists" or "absent", got "running"',
      'gid: must be a whole number from 0 to 4294967294, got 4294967295 (number)',
    ]);
    expect(problems({ state: 'exists', gid: 10000 })).toEqual([]);
  });

  it('GIVEN a bad group name WHEN validated THEN it is a problem with the name, before anything runs', () => {
    const nameProblems = (name: string) => validateResource(group, name, { state: 'exists', gid: undefined }).map((p) => `${p.param}: ${p.reason}`);
    expect(nameProblems('-g')[0]).toMatch(/^name: the group name "-g" is not a valid name/);
    expect(nameProblems('a:b')[0]).toMatch(/^name: the group name "a:b" is not a valid name/);
    expect(nameProblems('10000')).toEqual(['name: the group name "10000" is all digits, which would be taken for an id']);
    expect(nameProblems('staff')).toEqual([]);
  });
});

describe('group: check and apply', () => {
  it('GIVEN a missing group with a gid WHEN checked without apply THEN nothing changes; WHEN applied THEN groupadd creates it', async () => {
    const name = accounts.name();
    const gid = accounts.freeGid();
    const { ctx, live } = start(name, { state: 'exists', gid });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(getentGroup(name)).toBeUndefined();
    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentGroup(name)).toEqual({ name, gid, members: [] });
    expect(ctx.logs.filter((e) => e.level === 'info').map((e) => e.message)).toEqual([`created group ${name} (gid ${gid})`]);
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN no gid WHEN applied THEN groupadd picks one, and that gid is then left alone', async () => {
    const name = accounts.name();
    const { live } = start(name, { state: 'exists' });
    expect(await live.checkApply(true, never)).toBe(false);
    const gid = getentGroup(name)!.gid;
    tool('groupmod', ['--gid', String(accounts.freeGid()), name]);
    expect(await live.checkApply(true, never)).toBe(true);
    expect(getentGroup(name)!.gid).not.toBe(gid);
  });

  it('GIVEN an existing group with another gid WHEN applied THEN groupmod changes the gid', async () => {
    const name = accounts.name();
    const [before, after] = [accounts.freeGid(), accounts.freeGid()];
    tool('groupadd', ['--gid', String(before), name]);
    const { ctx, live } = start(name, { state: 'exists', gid: after });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(getentGroup(name)?.gid).toBe(before);
    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentGroup(name)?.gid).toBe(after);
    expect(ctx.logs.some((e) => e.message === `modified group ${name}: gid ${before} -> ${after}`)).toBe(true);
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a gid another group has WHEN applied THEN it fails with one line naming the resource and the holder', async () => {
    const holder = accounts.name();
    const gid = accounts.freeGid();
    tool('groupadd', ['--gid', String(gid), holder]);
    const name = accounts.name();
    await expect(start(name, { state: 'exists', gid }).live.checkApply(true, never)).rejects.toThrow(
      new Error(`group[${name}]: gid ${gid} is already taken by group "${holder}"; choose another gid`),
    );
    expect(getentGroup(name)).toBeUndefined();
  });

  it('GIVEN an existing group WHEN it must be absent THEN groupdel removes it; a second check is ok', async () => {
    const name = accounts.name();
    tool('groupadd', [name]);
    const { ctx, live } = start(name, { state: 'absent' });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(getentGroup(name)).toBeDefined();
    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentGroup(name)).toBeUndefined();
    expect(ctx.logs.some((e) => e.level === 'info' && e.message?.startsWith(`deleted group ${name} (gid `))).toBe(true);
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a missing group WHEN it must be absent THEN the check is ok and nothing runs', async () => {
    const name = accounts.name();
    const { ctx, live } = start(name, { state: 'absent', gid: 0 });
    expect(await live.checkApply(true, never)).toBe(true);
    expect(ctx.logs).toEqual([]);
  });

  it('GIVEN the primary group of a user WHEN it must be absent THEN groupdel refuses and the error is one line with its reason', async () => {
    const name = accounts.name();
    tool('groupadd', [name]);
    const member = accounts.name();
    tool('useradd', ['--gid', name, member]);
    const err = await start(name, { state: 'absent' }).live.checkApply(true, never).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(`group[${name}]: groupdel exited with code 8: groupdel: cannot remove the primary group of user '${member}'`);
  });

  it('GIVEN an aborted signal WHEN checkApply runs THEN it rejects with the reason and changes nothing', async () => {
    const name = accounts.name();
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(start(name, { state: 'exists' }).live.checkApply(true, controller.signal)).rejects.toThrow('stop now');
    expect(getentGroup(name)).toBeUndefined();
  });
});

describe('group: watch and drift', () => {
  it("GIVEN a managed group WHEN it is deleted behind the agent's back THEN the watch fires and the next checkApply recreates it", async () => {
    const name = accounts.name();
    const gid = accounts.freeGid();
    const { live } = start(name, { state: 'exists', gid });
    const rec = record(live.watch());
    expect(rec.count).toBe(1); // ready
    expect(await live.checkApply(true, never)).toBe(false);

    const next = rec.next();
    tool('groupdel', [name]);
    await next;
    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentGroup(name)?.gid).toBe(gid);
    rec.unsubscribe();
  });
});

describe('group: automatic edges', () => {
  it('GIVEN a group THEN it offers its name and gid, and looks for nothing', () => {
    expect(group.autoedge!.uids({ state: 'exists', gid: 10000 }, 'g')).toEqual([
      { type: 'group', key: 'g' },
      { type: 'group', key: '10000' },
    ]);
    expect(group.autoedge!.uids({ state: 'exists', gid: undefined }, 'g')).toEqual([{ type: 'group', key: 'g' }]);
    expect(group.autoedge!.search({ state: 'exists', gid: undefined }, 'g').next()).toBeUndefined();
  });
});
