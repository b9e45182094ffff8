// The user kind against the real account database: it runs as root and only ever touches accounts
// named `mgmt-t-<random>` with ids from its own range, removed after each test.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runAccountTool } from '../../src/resources/accounts.js';
import { user, type UserParams } from '../../src/resources/user.js';
import { validateResource } from '../../src/resources/validate.js';
import { getentGroup, getentUser, supplementaryGroups, tool, useAccounts } from '../helpers/accounts.js';
import { runMgmt } from '../helpers/cli.js';
import { makeContext } from '../helpers/context.js';
import { useTempDirs } from '../helpers/tmp.js';
import { record } from '../watchers/recorder.js';

const never = new AbortController().signal;
const accounts = useAccounts(62_000);
const tempDir = useTempDirs();

/** start validates a user resource named `name` with `params` and returns its live part. */
function start(name: string, params: Partial<UserParams>) {
  const ctx = makeContext('user', name);
  const full = { ...user.defaults(name), ...params };
  expect(user.validate(full)).toEqual([]);
  return { ctx, live: user.init(full, ctx) };
}

/** problems returns `param: reason` for every validation problem of `params`. */
function problems(params: Partial<UserParams>): string[] {
  return user.validate({ ...user.defaults('u'), ...params }).map((p) => `${p.param}: ${p.reason}`);
}

/** newGroup makes a group with the real tool and returns its name and gid. */
function newGroup(): { name: string; gid: number } {
  const name = accounts.name();
  const gid = accounts.freeGid();
  tool('groupadd', ['--gid', String(gid), name]);
  return { name, gid };
}

describe('user: validation', () => {
  it('GIVEN no state WHEN validated THEN state is required, as upstream', () => {
    expect(problems({})).toEqual(['state: is required: set exists or absent']);
    expect(problems({ state: 'present' })).toEqual(['state: must be "exists" or "absent", got "present"']);
  });

  it('GIVEN bad parameters WHEN validated THEN every problem is reported with its parameter', () => {
    expect(
      problems({
        state: 'exists',
        uid: -1,
        gid: 10,
        group: 'wheel',
        groups: ['wheel', '-x', 'a,b', 'ok', 'ok'],
        homedir: '/home/bob',
        shell: 'bash',
      }),
    ).toEqual([
      'uid: must be a whole number from 0 to 4294967294, got -1 (number)',
      'group: cannot be used with gid 10: set only one',
      'groups: "wheel" is the primary group; supplementary groups must not contain it',
      'groups: "-x" is not a valid name (letters, digits, "_", "." and "-", not starting with "-", optionally ending in "$")',
      'groups: "a,b" is not a valid name (letters, digits, "_", "." and "-", not starting with "-", optionally ending in "$")',
      'groups: "ok" is listed twice',
      'homedir: must be an absolute path ending in "/", got "/home/bob"',
      'shell: must be an absolute path, got "bash"',
    ]);
  });

  it('GIVEN a primary group by gid WHEN groups lists that gid THEN it is refused; an empty group name is too', () => {
    expect(problems({ state: 'exists', gid: 100, groups: ['100'] })).toEqual([
      'groups: "100" is the primary group; supplementary groups must not contain it',
    ]);
    expect(problems({ state: 'exists', group: '' })).toEqual(['group: must not be empty']);
  });

  it('GIVEN valid parameters, including upstream user1.yaml WHEN validated THEN there is no problem', () => {
    expect(problems({ state: 'exists', uid: 1002, gid: 100 })).toEqual([]);
    expect(problems({ state: 'absent' })).toEqual([]);
    expect(problems({ state: 'exists', group: 'users', groups: ['audio', '29'], homedir: '/home/x/', shell: '/bin/sh' })).toEqual([]);
  });

  it('GIVEN a bad user name, or groups naming the user itself WHEN validated THEN each is a problem, before anything runs', () => {
    const nameProblems = (name: string, params: Partial<UserParams> = {}) =>
      validateResource(user, name, { ...user.defaults(name), state: 'exists', ...params }).map((p) => `${p.param}: ${p.reason}`);
    expect(nameProblems('-rf')[0]).toMatch(/^name: the user name "-rf" is not a valid name/);
    expect(nameProblems('1234')).toEqual(['name: the user name "1234" is all digits, which would be taken for an id']);
    expect(nameProblems('bob', { groups: ['bob'] })).toEqual([`groups: contains "bob", the user's own name (its own group is its primary group)`]);
    for (const name of ['a:b', 'a,b', 'a\nb', 'x'.repeat(33)]) expect(nameProblems(name), JSON.stringify(name)).toHaveLength(1);
    expect(nameProblems('Debian-exim')).toEqual([]);
  });

  it('GIVEN a homedir or shell with a control character or a colon WHEN validated THEN it is refused: it would forge a passwd line', () => {
    expect(problems({ state: 'exists', homedir: '/home/a\nroot2/' })).toEqual(['homedir: "/home/a\\nroot2/" contains a control character']);
    expect(problems({ state: 'exists', homedir: '/home/\u001b[31m/' })).toEqual(['homedir: "/home/\\u001b[31m/" contains a control character']);
    expect(problems({ state: 'exists', homedir: '/home/a:b/' })).toEqual(['homedir: must not contain ":", got "/home/a:b/"']);
    expect(problems({ state: 'exists', shell: '/bin/sh\t' })).toEqual(['shell: "/bin/sh\\t" contains a control character']);
    expect(problems({ state: 'exists', groups: ['99999999999'] })).toEqual(['groups: "99999999999" is out of range: an id is a whole number from 0 to 4294967294']);
  });
});

describe('user: check and apply', () => {
  it('GIVEN a missing user WHEN checked without apply THEN it reports a change and creates nothing; WHEN applied THEN it exists as asked', async () => {
    const name = accounts.name();
    const primary = newGroup();
    const extra = newGroup();
    const uid = accounts.freeUid();
    const { ctx, live } = start(name, {
      state: 'exists',
      uid,
      group: primary.name,
      groups: [extra.name],
      homedir: `/home/${name}/`,
      shell: '/bin/sh',
    });

    expect(await live.checkApply(false, never)).toBe(false);
    expect(getentUser(name)).toBeUndefined();

    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentUser(name)).toEqual({ name, uid, gid: primary.gid, home: `/home/${name}`, shell: '/bin/sh' });
    expect(supplementaryGroups(name)).toEqual([extra.name]);
    expect(ctx.logs.find((e) => e.level === 'info')?.message).toBe(
      `created user ${name} (uid ${uid}, gid ${primary.gid}, groups [${extra.name}], home /home/${name}, shell /bin/sh)`,
    );

    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN only state exists WHEN applied THEN useradd picks the rest, and every later check is ok', async () => {
    const name = accounts.name();
    const { live } = start(name, { state: 'exists' });
    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentUser(name)).toBeDefined();
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN an existing user WHEN uid, shell, groups and home differ THEN usermod fixes exactly those', async () => {
    const name = accounts.name();
    const [a, b, c] = [newGroup(), newGroup(), newGroup()];
    tool('useradd', ['--uid', String(accounts.freeUid()), '--groups', `${a.name},${b.name}`, '--shell', '/bin/bash', name]);
    const before = getentUser(name)!;
    const uid = accounts.freeUid();

    // groups is the exact list: a goes, b stays, c comes (given by gid, which useradd accepts too)
    const { ctx, live } = start(name, { state: 'exists', uid, groups: [b.name, String(c.gid)], shell: '/bin/sh', homedir: '/srv/elsewhere/' });
    expect(await live.checkApply(true, never)).toBe(false);

    expect(getentUser(name)).toEqual({ name, uid, gid: before.gid, home: '/srv/elsewhere', shell: '/bin/sh' });
    expect(supplementaryGroups(name)).toEqual([b.name, c.name].sort());
    expect(ctx.logs.find((e) => e.level === 'info')?.message).toBe(
      `modified user ${name}: uid ${before.uid} -> ${uid}, groups [${a.name},${b.name}] -> [${b.name},${c.name}], home ${before.home} -> /srv/elsewhere, shell /bin/bash -> /bin/sh`,
    );
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a user in supplementary groups WHEN groups is [] THEN it leaves them all; unset groups are left alone', async () => {
    const name = accounts.name();
    const a = newGroup();
    tool('useradd', ['--groups', a.name, name]);
    expect(await start(name, { state: 'exists' }).live.checkApply(true, never)).toBe(true);
    expect(await start(name, { state: 'exists', groups: [] }).live.checkApply(true, never)).toBe(false);
    expect(supplementaryGroups(name)).toEqual([]);
  });

  it('GIVEN a primary group that changes WHEN given by name or by gid THEN the user follows it', async () => {
    const name = accounts.name();
    const [a, b] = [newGroup(), newGroup()];
    tool('useradd', ['--gid', a.name, name]);
    expect(await start(name, { state: 'exists', gid: a.gid }).live.checkApply(true, never)).toBe(true);
    expect(await start(name, { state: 'exists', group: a.name }).live.checkApply(true, never)).toBe(true);
    expect(await start(name, { state: 'exists', group: b.name }).live.checkApply(true, never)).toBe(false);
    expect(getentUser(name)?.gid).toBe(b.gid);
    expect(await start(name, { state: 'exists', gid: a.gid }).live.checkApply(true, never)).toBe(false);
    expect(getentUser(name)?.gid).toBe(a.gid);
  });

  it('GIVEN a home written with or without "/" in the database WHEN homedir ends in "/" THEN they are the same home', async () => {
    const name = accounts.name();
    tool('useradd', ['--home', `/home/${name}`, name]);
    expect(await start(name, { state: 'exists', homedir: `/home/${name}/` }).live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN an existing user WHEN it must be absent THEN userdel removes it; a second check is ok', async () => {
    const name = accounts.name();
    tool('useradd', [name]);
    const { ctx, live } = start(name, { state: 'absent' });
    expect(await live.checkApply(false, never)).toBe(false);
    expect(getentUser(name)).toBeDefined();
    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentUser(name)).toBeUndefined();
    expect(ctx.logs.some((e) => e.level === 'info' && e.message?.startsWith(`deleted user ${name} (uid `))).toBe(true);
    expect(await live.checkApply(true, never)).toBe(true);
  });

  it('GIVEN a missing user WHEN it must be absent THEN the check is ok and nothing runs', async () => {
    const name = accounts.name();
    const { ctx, live } = start(name, { state: 'absent', uid: 0 });
    expect(await live.checkApply(true, never)).toBe(true);
    expect(ctx.logs).toEqual([]);
  });

  it('GIVEN a uid another user has WHEN applied THEN it fails with one line naming the resource and the holder; allowduplicateuid creates it', async () => {
    const holder = accounts.name();
    const uid = accounts.freeUid();
    tool('useradd', ['--uid', String(uid), holder]);
    const name = accounts.name();

    const err = await start(name, { state: 'exists', uid }).live.checkApply(true, never).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(`user[${name}]: uid ${uid} is already taken by user "${holder}"; choose another uid or set allowduplicateuid: true`);
    expect(getentUser(name)).toBeUndefined();

    expect(await start(name, { state: 'exists', uid, allowduplicateuid: true }).live.checkApply(true, never)).toBe(false);
    expect(getentUser(name)?.uid).toBe(uid);
  });

  it('GIVEN a group that does not exist WHEN applied THEN it fails with one clear line; without apply it only reports a change', async () => {
    const name = accounts.name();
    const missing = accounts.name();
    const { live } = start(name, { state: 'exists', group: missing, groups: ['users'] });
    expect(await live.checkApply(false, never)).toBe(false);
    await expect(live.checkApply(true, never)).rejects.toThrow(
      `user[${name}]: group "${missing}" does not exist; create it first (a group resource in the graph is ordered before this user automatically)`,
    );
    const also = accounts.name();
    await expect(start(name, { state: 'exists', groups: [missing, 'users', also] }).live.checkApply(true, never)).rejects.toThrow(
      `user[${name}]: groups "${missing}", "${also}" do not exist; create it first`,
    );
    expect(getentUser(name)).toBeUndefined();
  });

  it('GIVEN a tool that fails WHEN applied THEN the error is one line with the resource, the tool, its exit and its stderr', async () => {
    const name = accounts.name();
    // useradd refuses to create a user whose own group exists without --gid (USERGROUPS_ENAB).
    tool('groupadd', [name]);
    const err = await start(name, { state: 'exists' }).live.checkApply(true, never).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(new RegExp(`^user\\[${name}\\]: useradd exited with code 9: useradd: group ${name} exists`));
    expect(err?.message).not.toContain('\n');
  });

  it('GIVEN an aborted signal WHEN checkApply runs THEN it rejects with the reason and changes nothing', async () => {
    const name = accounts.name();
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(start(name, { state: 'exists' }).live.checkApply(true, controller.signal)).rejects.toThrow('stop now');
    expect(getentUser(name)).toBeUndefined();
  });
});

describe('user: watch and drift', () => {
  it('GIVEN a managed user WHEN it is deleted behind the agent\'s back THEN the watch fires and the next checkApply recreates it', async () => {
    const name = accounts.name();
    const uid = accounts.freeUid();
    const { live } = start(name, { state: 'exists', uid, shell: '/bin/sh' });
    const rec = record(live.watch());
    expect(rec.count).toBe(1); // ready
    expect(await live.checkApply(true, never)).toBe(false);

    const next = rec.next();
    tool('userdel', [name]);
    await next;
    expect(await live.checkApply(true, never)).toBe(false);
    expect(getentUser(name)).toMatchObject({ uid, shell: '/bin/sh' });
    rec.unsubscribe();
  });

  it('GIVEN a managed user WHEN its supplementary groups change in /etc/group THEN the watch fires and the groups are put back', async () => {
    const name = accounts.name();
    const [a, b] = [newGroup(), newGroup()];
    tool('useradd', ['--groups', a.name, name]);
    const { live } = start(name, { state: 'exists', groups: [a.name] });
    const rec = record(live.watch());
    expect(await live.checkApply(true, never)).toBe(true);

    const next = rec.next();
    tool('usermod', ['--groups', b.name, name]);
    await next;
    expect(await live.checkApply(true, never)).toBe(false);
    expect(supplementaryGroups(name)).toEqual([a.name]);
    rec.unsubscribe();
  });
});

describe('user: the account tools', () => {
  // A stand-in for a shadow tool, first on PATH: it fails with shadow's own lock message (as
  // useradd 4.13 prints it when /etc/group.lock is held) for its first `fails` runs, then records
  // its arguments and succeeds. The real /etc is never locked: other test files share it.
  async function fakeTool(program: string, fails: number, other = ''): Promise<{ runs(): Promise<number>; log(): Promise<string> }> {
    const dir = await tempDir();
    const script = join(dir, program);
    await writeFile(
      script,
      `#!/bin/sh
n=$(cat "$0.count" 2>/dev/null || echo 0)
echo $((n + 1)) > "$0.count"
echo "start $*" >> "$0.log"
${other}
if [ "$n" -lt ${fails} ]; then
  echo "${program}: cannot lock /etc/group; try again later." >&2
  exit 10
fi
echo "end $*" >> "$0.log"
`,
      { mode: 0o755 },
    );
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved ?? ''}`;
    restorePath.push(() => {
      process.env.PATH = saved;
    });
    return {
      runs: async () => Number(await readFile(`${script}.count`, 'utf8').catch(() => '0')),
      log: () => readFile(`${script}.log`, 'utf8'),
    };
  }
  const restorePath: Array<() => void> = [];
  afterEach(() => {
    for (const restore of restorePath.splice(0).reverse()) restore();
  });

  it('GIVEN a tool that finds the database locked twice WHEN run THEN it is retried and succeeds', async () => {
    const fake = await fakeTool('useradd', 2);
    await runAccountTool('useradd', ['--uid', '5', '--', 'x'], { signal: never, lockRetryMs: 5 });
    expect(await fake.runs()).toBe(3);
    expect(await fake.log()).toMatch(/end --uid 5 -- x\n$/);
  });

  it('GIVEN the database locked for good WHEN the retries run out THEN it fails with one line saying so', async () => {
    const fake = await fakeTool('groupadd', 100);
    await expect(runAccountTool('groupadd', ['--', 'g'], { signal: never, lockRetries: 2, lockRetryMs: 5 })).rejects.toThrow(
      /^groupadd exited with code 10 \(after 2 retries\): groupadd: cannot lock \/etc\/group; try again later\.$/,
    );
    expect(await fake.runs()).toBe(3);
  });

  it('GIVEN a failure that is not a lock WHEN run THEN it is not retried', async () => {
    const fake = await fakeTool('usermod', 0, 'echo "usermod: user \'x\' does not exist" >&2; exit 6');
    await expect(runAccountTool('usermod', ['--', 'x'], { signal: never, lockRetryMs: 5 })).rejects.toThrow(
      "usermod exited with code 6: usermod: user 'x' does not exist",
    );
    expect(await fake.runs()).toBe(1);
  });

  it('GIVEN a lock retry pending WHEN the signal aborts THEN it stops waiting at once with the reason', async () => {
    const fake = await fakeTool('userdel', 100);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    const started = Date.now();
    await expect(runAccountTool('userdel', ['--', 'x'], { signal: controller.signal, lockRetries: 100, lockRetryMs: 1000 })).rejects.toThrow(
      'shutting down',
    );
    expect(Date.now() - started).toBeLessThan(900);
    expect(await fake.runs()).toBe(1);
  });

  it('GIVEN several runs at once WHEN they start together THEN the tools run one at a time, each to its end before the next', async () => {
    const fake = await fakeTool('groupmod', 0, 'sleep 0.05');
    await Promise.all(['a', 'b', 'c'].map((name) => runAccountTool('groupmod', ['--', name], { signal: never })));
    const lines = (await fake.log()).trim().split('\n');
    // Which starts first is the scheduler's business; that no two overlap is ours.
    const pairs = [0, 2, 4].map((i) => [lines[i], lines[i + 1]]);
    expect(lines).toHaveLength(6);
    for (const [start, end] of pairs) expect(end).toBe(start!.replace('start', 'end'));
    expect(pairs.map(([start]) => start).sort()).toEqual(['start -- a', 'start -- b', 'start -- c']);
  });
});

describe('user: automatic edges', () => {
  it('GIVEN a user that must exist THEN it wants its groups reversed (group -> user); one that must go wants them forward', () => {
    const wanted = (params: Partial<UserParams>) => {
      const search = user.autoedge!.search({ ...user.defaults('u'), ...params }, 'u');
      const round = search.next();
      expect(search.test(round!.map(() => false))).toBe(false);
      return round!.map((uid) => `${uid.reversed ? '<-' : '->'} ${uid.type}:${uid.key}`);
    };
    expect(wanted({ state: 'exists', group: 'g', groups: ['a', 'b'] })).toEqual(['<- group:g', '<- group:a', '<- group:b']);
    expect(wanted({ state: 'absent', gid: 10000 })).toEqual(['-> group:10000']);
    expect(user.autoedge!.uids({ ...user.defaults('u'), state: 'exists', uid: 1002 }, 'u')).toEqual([
      { type: 'user', key: 'u' },
      { type: 'user', key: '1002' },
    ]);
  });

  it('GIVEN a graph with a group and a user of it WHEN checked and run through the CLI THEN the group comes first; WHEN both must go THEN the user goes first', async () => {
    const dir = await tempDir();
    const groupName = accounts.name();
    const userName = accounts.name();
    const gid = accounts.freeGid();
    const uid = accounts.freeUid();
    const graph = (state: string) => `graph: accounts
resources:
  user:
  - {name: ${userName}, state: ${state}, uid: ${uid}, gid: ${gid}, shell: /bin/sh}
  group:
  - {name: ${groupName}, state: ${state}, gid: ${gid}}
`;
    const yaml = join(dir, 'accounts.yaml');
    await writeFile(yaml, graph('exists'));

    const checked = await runMgmt(['check', '--yaml', yaml, '--format', 'json']);
    expect(checked.code, checked.stderr).toBe(0);
    const edges = (JSON.parse(checked.stdout) as { edges: { from: string; to: string }[] }).edges.map((e) => `${e.from} -> ${e.to}`);
    expect(edges).toEqual([`group[${groupName}] -> user[${userName}]`]);

    const run = ['--converged-timeout=0', '--tmp-prefix', '--no-watch', '--log-format', 'json'];
    const created = await runMgmt(['run', '--yaml', yaml, ...run]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.events.find((e) => e.event === 'graph')).toMatchObject({ vertices: 2, edges: 1 });
    const applied = created.events.filter((e) => e.event === 'apply').map((e) => e.resource);
    expect(applied).toEqual([`group[${groupName}]`, `user[${userName}]`]);
    expect(getentGroup(groupName)?.gid).toBe(gid);
    expect(getentUser(userName)).toMatchObject({ uid, gid, shell: '/bin/sh' });

    // Reversed: the user goes first, else groupdel would refuse to remove its primary group.
    await writeFile(yaml, graph('absent'));
    const removed = await runMgmt(['run', '--yaml', yaml, ...run]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.events.filter((e) => e.event === 'apply').map((e) => e.resource)).toEqual([`user[${userName}]`, `group[${groupName}]`]);
    expect(getentUser(userName)).toBeUndefined();
    expect(getentGroup(groupName)).toBeUndefined();
  });
});
