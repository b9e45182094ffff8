// Throw-away local accounts for the user and group tests: unique names and free ids, the real
// tools to change accounts behind a resource's back, getent to read them back (so expectations
// never come from the parser under test), and removal after each test. Real accounts are never
// touched: every name this helper hands out starts with `mgmt-t-`.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach } from 'vitest';

/** PasswdFields are a user's fields as getent reports them. */
export interface PasswdFields {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** GroupFields are a group's fields as getent reports them. */
export interface GroupFields {
  readonly name: string;
  readonly gid: number;
  readonly members: readonly string[];
}

/** getentUser reads a user with getent; undefined when there is none. */
export function getentUser(name: string): PasswdFields | undefined {
  const line = getent('passwd', name);
  if (line === undefined) return undefined;
  const [, , uid, gid, , home, shell] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid), home: home!, shell: shell! };
}

/** getentGroup reads a group with getent; undefined when there is none. */
export function getentGroup(name: string): GroupFields | undefined {
  const line = getent('group', name);
  if (line === undefined) return undefined;
  const [, , gid, members] = line.split(':');
  return { name, gid: Number(gid), members: members ? members.split(',') : [] };
}

/** supplementaryGroups lists the groups that name `user` as a member, sorted. */
export function supplementaryGroups(user: string): string[] {
  const all = execFileSync('getent', ['group'], { encoding: 'utf8' });
  return all
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 4 && fields[3]!.split(',').includes(user))
    .map((fields) => fields[0]!)
    .sort();
}

function getent(database: 'passwd' | 'group', key: string): string | undefined {
  const result = spawnSync('getent', [database, key], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * tool runs useradd, groupdel and friends as a test's own action (the resource is not involved),
 * retrying while another test file holds the database lock; it throws when the tool fails.
 */
export function tool(program: string, args: readonly string[]): void {
  for (let attempt = 0; ; attempt++) {
    const result = spawnSync(program, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (result.status === 0) return;
    if (attempt < 20 && /cannot lock/.test(result.stderr)) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      continue;
    }
    throw new Error(`${program} ${args.join(' ')} exited with ${result.status}: ${result.stderr.trim()}`);
  }
}

/** Accounts hands out names and ids for one test file and removes what they named after each test. */
export interface Accounts {
  /** name returns a fresh `mgmt-t-<random>` name, removed (as a user and as a group) after the test. */
  name(): string;
  /** freeUid returns an id no user has, from this file's range, never the same one twice. */
  freeUid(): number;
  /** freeGid returns an id no group has, from this file's range, never the same one twice. */
  freeGid(): number;
}

/**
 * useAccounts makes names and ids for a test file. Each file passes its own `base`, so files
 * running at the same time never pick the same id; ids come from base..base+999.
 */
export function useAccounts(base: number): Accounts {
  const names: string[] = [];
  const handedOut = new Set<number>();
  afterEach(() => {
    const made = names.splice(0);
    // Users first: a group cannot go while it is someone's primary group.
    for (const name of made) if (getentUser(name)) tool('userdel', ['--', name]);
    for (const name of made) if (getentGroup(name)) tool('groupdel', ['--', name]);
  });
  const free = (database: 'passwd' | 'group'): number => {
    const taken = new Set(
      execFileSync('getent', [database], { encoding: 'utf8' })
        .split('\n')
        .map((line) => Number(line.split(':')[2])),
    );
    for (;;) {
      const id = base + Math.floor(Math.random() * 1000);
      if (taken.has(id) || handedOut.has(id)) continue;
      handedOut.add(id);
      return id;
    }
  };
  return {
    name() {
      const name = `mgmt-t-${randomBytes(4).toString('hex')}`;
      names.push(name);
      return name;
    },
    freeUid: () => free('passwd'),
    freeGid: () => free('group'),
  };
}
