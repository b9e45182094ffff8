// What the user and group kinds share: reading the local account database (/etc/passwd and
// /etc/group) and running shadow's tools (useradd, groupmod, ...). Names and ids are checked by
// the rules in values.ts.

import { readFile } from 'node:fs/promises';
import { resolveProgram } from './exec-cmdline.js';
import { describeExit, runProcess, withStderr } from './exec-process.js';
import { isNumericId } from './values.js';
import { abortable, delay } from '../os/time.js';
import type { CollectTrait } from '../core/collect.js';

/** PASSWD_FILE is the user database the user kind reads and watches. */
export const PASSWD_FILE = '/etc/passwd';
/** GROUP_FILE is the group database both kinds read and watch. */
export const GROUP_FILE = '/etc/group';

/** AccountState is what `state` of a user or group may say. */
export type AccountState = 'exists' | 'absent';

/** ACCOUNT_STATES lists the valid states, for validation messages. */
export const ACCOUNT_STATES: readonly AccountState[] = ['exists', 'absent'];

/**
 * accountCollect is the collect trait of user and group: an account can take uid 0, join a
 * privileged group or remove a user, so no field-level line is safe and every collected one needs
 * `allow: [accounts]`.
 */
export function accountCollect<P>(what: 'user' | 'group'): CollectTrait<P> {
  return {
    allowances: ['accounts'],
    privileges: () => [{ field: 'state', allowance: 'accounts', reason: `it would add, change or remove a ${what} of this host` }],
  };
}

/** PasswdEntry is one line of /etc/passwd. */
export interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/** GroupEntry is one line of /etc/group. */
export interface GroupEntry {
  readonly name: string;
  readonly gid: number;
  /** The users who have this group as a supplementary group. */
  readonly members: readonly string[];
}

/** readUsers parses /etc/passwd (a missing file is an empty database). */
export async function readUsers(): Promise<PasswdEntry[]> {
  return (await readRecords(PASSWD_FILE, 7)).map(([name, , uid, gid, , home, shell]) => ({
    name: name!,
    uid: Number(uid),
    gid: Number(gid),
    home: home!,
    shell: shell!,
  }));
}

/** readGroups parses /etc/group (a missing file is an empty database). */
export async function readGroups(): Promise<GroupEntry[]> {
  return (await readRecords(GROUP_FILE, 4)).map(([name, , gid, members]) => ({
    name: name!,
    gid: Number(gid),
    members: members === '' ? [] : members!.split(','),
  }));
}

// readRecords returns the colon-separated records of a database file that have `fields` fields and
// a numeric id in the third. NIS compat lines (`+name`, `-name`) and comments name no local account.
async function readRecords(path: string, fields: number): Promise<string[][]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const records: string[][] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const record = line.split(':');
    if (record.length >= fields && isNumericId(record[2]!)) records.push(record);
  }
  return records;
}

/** findGroup returns the group a reference (a name, or a gid in decimal) points at, if any. */
export function findGroup(groups: readonly GroupEntry[], ref: string): GroupEntry | undefined {
  if (isNumericId(ref)) {
    const gid = Number(ref);
    return groups.find((group) => group.gid === gid);
  }
  return groups.find((group) => group.name === ref);
}

/** AccountTool is one of shadow's account tools. */
export type AccountTool = 'useradd' | 'usermod' | 'userdel' | 'groupadd' | 'groupmod' | 'groupdel';

/** AccountToolOptions tune runAccountTool. */
export interface AccountToolOptions {
  /** Abort stops waiting for a turn or a retry; a tool already running is left to finish. */
  readonly signal: AbortSignal;
  /** How many times a lock failure is tried again (default LOCK_RETRIES). */
  readonly lockRetries?: number;
  /** Milliseconds before the first retry; each later one waits longer (default LOCK_RETRY_MS). */
  readonly lockRetryMs?: number;
}

/** LOCK_RETRIES is how often a tool that found the database locked is run again. */
export const LOCK_RETRIES = 5;
/** LOCK_RETRY_MS is the first wait before running a tool that found the database locked again. */
export const LOCK_RETRY_MS = 100;

// The tools live in sbin, which a non-login PATH often lacks; a relative PATH entry is skipped by
// resolveProgram. Their messages are matched (lock failures), so they must speak English.
const SBIN_PATH = '/usr/local/sbin:/usr/sbin:/sbin';
const TOOL_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
const LOCKED = /cannot lock .*try again later/;

// One tool at a time in this agent: they lock the whole database anyway, so running them in turn
// costs nothing and spares them from failing on each other's locks.
let turn: Promise<void> = Promise.resolve();

/**
 * runAccountTool runs a shadow tool with `args` (an argument array, never a shell string) and
 * throws one line naming the tool, its exit and its stderr when it fails.
 *
 * The tools wait for each other's global lock (lckpwdf), but take the lock of each file
 * (/etc/group.lock, ...) without waiting: a file locked by anything else (another agent, a
 * package's postinst, a test file running alongside) fails them at once with "cannot lock
 * /etc/group; try again later" (exit 10; 1 for passwd and shadow). Such a failure is retried a few
 * times with a short, growing, jittered delay, so both sides of the race succeed.
 *
 * A running tool is never killed by an abort: it takes milliseconds, and a kill between its writes
 * of /etc/passwd and /etc/shadow would leave the databases disagreeing. The abort is honoured
 * while waiting for a turn and between retries.
 */
export async function runAccountTool(tool: AccountTool, args: readonly string[], options: AccountToolOptions): Promise<void> {
  const { signal, lockRetries = LOCK_RETRIES, lockRetryMs = LOCK_RETRY_MS } = options;
  const file = await resolveProgram(tool, `${process.env.PATH ?? ''}:${SBIN_PATH}`);
  await inTurn(signal, async () => {
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      const result = await runProcess({ file, args, env: TOOL_ENV }, { signal: NEVER });
      if (result.code === 0) return;
      if (attempt < lockRetries && LOCKED.test(result.stderr)) {
        await delay(lockRetryMs * (attempt + 1) + Math.random() * lockRetryMs, signal);
        continue;
      }
      const retried = attempt > 0 ? ` (after ${attempt} ${attempt === 1 ? 'retry' : 'retries'})` : '';
      throw new Error(withStderr(`${tool} ${describeExit(result)}${retried}`, result.stderr));
    }
  });
}

const NEVER = new AbortController().signal;

async function inTurn<T>(signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  const previous = turn;
  let release!: () => void;
  turn = new Promise<void>((resolve) => {
    release = resolve;
  });
  try {
    await abortable(previous, signal);
    return await run();
  } finally {
    // Whoever gave up waiting still hands the turn on in order.
    void previous.then(release);
  }
}
