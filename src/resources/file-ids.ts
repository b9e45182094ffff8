// Owner and group names to numeric ids. Node has no getpwnam, so we read /etc/passwd and
// /etc/group (cached, re-read when they change), and ask `getent` for names they do not list
// (LDAP, sssd and other NSS sources).

import { readFile, stat } from 'node:fs/promises';
import { runToExit } from '../os/process.js';
import { isNumericId, MAX_ID } from './values.js';

/** IdKind says which database a name is looked up in. */
export type IdKind = 'user' | 'group';

interface IdTable {
  readonly ids: ReadonlyMap<string, number>;
  /** When the file was read, and what it looked like then. */
  readonly checkedAt: number;
  readonly version: string;
}

const FILES: Readonly<Record<IdKind, string>> = { user: '/etc/passwd', group: '/etc/group' };
const DATABASES: Readonly<Record<IdKind, string>> = { user: 'passwd', group: 'group' };
// 10,000 file resources with one owner look the name up 10,000 times at start: re-stat the
// database at most this often, and always re-read it before saying a name does not exist.
const RECHECK_MS = 1000;

const tables = new Map<IdKind, Promise<IdTable>>();

/** resolveId returns the uid or gid for a name or number; it throws when the name is unknown. */
export async function resolveId(kind: IdKind, value: string): Promise<number> {
  if (isNumericId(value)) {
    // 4294967295 is chown's "leave it alone": validate refuses it, and so does this last guard.
    if (Number(value) > MAX_ID) throw new Error(`${kind} id ${value} is out of range: at most ${MAX_ID}`);
    return Number(value);
  }
  const cached = (await table(kind, false)).ids.get(value);
  if (cached !== undefined) return cached;
  // The name may have been added since (a user resource earlier in the graph): look again.
  const fresh = (await table(kind, true)).ids.get(value);
  if (fresh !== undefined) return fresh;
  const viaNss = await getent(kind, value);
  if (viaNss !== undefined) return viaNss;
  throw new Error(`${kind} "${value}" does not exist (not in ${FILES[kind]} nor known to getent ${DATABASES[kind]})`);
}

async function table(kind: IdKind, reload: boolean): Promise<IdTable> {
  const current = tables.get(kind);
  if (current !== undefined && !reload) {
    const loaded = await current;
    if (Date.now() - loaded.checkedAt < RECHECK_MS) return loaded;
    if ((await version(kind)) === loaded.version) {
      const rechecked = { ...loaded, checkedAt: Date.now() };
      tables.set(kind, Promise.resolve(rechecked));
      return rechecked;
    }
  }
  const next = load(kind);
  tables.set(kind, next);
  // A failed read must not stick: the next lookup tries again.
  next.catch(() => tables.delete(kind));
  return next;
}

async function version(kind: IdKind): Promise<string> {
  try {
    const st = await stat(FILES[kind]);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

async function load(kind: IdKind): Promise<IdTable> {
  const before = await version(kind);
  let text = '';
  try {
    text = await readFile(FILES[kind], 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const ids = new Map<string, number>();
  for (const line of text.split('\n')) {
    // name:password:id:...  (the same shape in passwd and group)
    const [name, , id] = line.split(':');
    if (name && id !== undefined && isNumericId(id) && !ids.has(name)) ids.set(name, Number(id));
  }
  return { ids, checkedAt: Date.now(), version: before };
}

async function getent(kind: IdKind, name: string): Promise<number | undefined> {
  try {
    // `--` ends getent's options: a name is only ever a name, never `--service=files`.
    const result = await runToExit({ file: 'getent', args: [DATABASES[kind], '--', name], stderr: 'ignore' }, { timeoutMs: 5000 });
    const id = result.code === 0 ? result.stdout.split(':')[2] : undefined;
    return id !== undefined && isNumericId(id) ? Number(id) : undefined;
  } catch {
    return undefined; // no getent: the name is unknown
  }
}
