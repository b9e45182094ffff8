import { resolveProgram } from './exec-cmdline.js';
import { runProcess } from './exec-process.js';
import { isNumericId } from './values.js';

/** Credentials are the uid and gid a command runs as; an absent id means "the agent's". */
export interface Credentials {
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * resolveCredentials turns a user and a group (names or numeric ids, '' = not set) into ids. A user
 * without a group runs with that user's primary group, never with the agent's (root's) group.
 * Names are looked up with `getent` so every NSS source (files, LDAP, ...) counts, and at run time
 * because an earlier resource may have just created the user.
 */
export async function resolveCredentials(
  user: string,
  group: string,
  searchPath: string,
  signal: AbortSignal,
): Promise<Credentials> {
  let uid: number | undefined;
  let gid: number | undefined;
  if (user !== '') {
    const entry = await getent('passwd', user, searchPath, signal);
    uid = Number(entry[2]);
    gid = Number(entry[3]);
  }
  if (group !== '') {
    gid = isNumericId(group) ? Number(group) : Number((await getent('group', group, searchPath, signal))[2]);
  }
  return { uid, gid };
}

// getent returns the colon-separated fields of one passwd or group entry. A numeric uid without an
// entry is still usable; its group is then the same number, which is safer than the agent's group.
async function getent(database: 'passwd' | 'group', key: string, searchPath: string, signal: AbortSignal): Promise<string[]> {
  const file = await resolveProgram('getent', searchPath);
  // `--` ends getent's options: a key is only ever a key, never `--service=files`.
  const result = await runProcess({ file, args: [database, '--', key], env: {} }, { signal });
  const fields = result.stdout.split('\n')[0]?.split(':') ?? [];
  if (result.code === 0 && fields.length >= 4) return fields;
  if (database === 'passwd' && isNumericId(key)) return [key, 'x', key, key];
  const what = database === 'passwd' ? 'user' : 'group';
  throw new Error(`${what} "${key}" does not exist (getent ${database} exited with code ${result.code})`);
}
