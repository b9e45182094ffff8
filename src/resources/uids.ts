// The identities resources offer and look for in automatic edges, and the
// search shapes the kinds share. A uid is a `type` and a `key` matched exactly through a hash
// index, so every convention below is about building the same key on both sides.
//
// | type      | key                                   | offered by                     | wanted by                        |
// |-----------|---------------------------------------|--------------------------------|----------------------------------|
// | `file`    | the path; a directory ends with `/`   | file                           | file (parent dirs), exec, svc, pkg |
// | `pkgfile` | a path a package ships                | pkg (one per file)             | exec (its programs)              |
// | `pkg`     | the package name                      | pkg                            | -                                |
// | `svc`     | the unit name without `.service`; a   | svc                            | pkg (units it ships)             |
// |           | session unit is `session/<name>`      |                                |                                  |
// | `user`    | the user name, or its uid in decimal  | user (name, and uid when set)  | exec                             |
// | `group`   | the group name, or its gid in decimal | group (name, and gid when set) | exec, user                       |
// | `exec`    | the command                           | exec                           | -                                |
//
// Directions (`reversed: true` puts the edge found → searcher): parent directory → file;
// pkg/file/user/group → exec; unit file → svc; pkg → svc and pkg → file (not reversed);
// group → user when the user must exist, user → group when it must be absent.

import type { AutoEdgeSearch, ResourceUid, WantedUid } from '../core/autoedge.js';

/** UID_TYPES names every uid type, so kinds and tests never spell one differently. */
export const UID_TYPES = {
  file: 'file',
  pkgfile: 'pkgfile',
  pkg: 'pkg',
  svc: 'svc',
  user: 'user',
  group: 'group',
  exec: 'exec',
} as const;

/** fileUid names a managed path; a directory keeps its trailing `/`, as file resources write it. */
export function fileUid(path: string): ResourceUid {
  return { type: UID_TYPES.file, key: path };
}

/** pkgFileUid names a path some package ships (an exec's program belongs after its package). */
export function pkgFileUid(path: string): ResourceUid {
  return { type: UID_TYPES.pkgfile, key: path };
}

/** pkgUid names a package by its name, whatever its state (like upstream's PkgUID IFF). */
export function pkgUid(name: string): ResourceUid {
  return { type: UID_TYPES.pkg, key: name };
}

/**
 * svcUid names a systemd service by its unit name without `.service`; a session (user manager)
 * unit is keyed apart as `session/<name>`, which cannot clash because `/` is not allowed in unit
 * names.
 */
export function svcUid(name: string, session = false): ResourceUid {
  return { type: UID_TYPES.svc, key: session ? `session/${name}` : name };
}

/**
 * userUid names a user by name, or by its uid written in decimal: a user resource offers both
 * when its uid is set, so `user: 1000` on an exec finds it (an all-digit name would be ambiguous
 * with an id everywhere, and recent useradd refuses one).
 */
export function userUid(nameOrUid: string): ResourceUid {
  return { type: UID_TYPES.user, key: nameOrUid };
}

/** groupUid names a group by name, or by its gid written in decimal (offered like userUid). */
export function groupUid(nameOrGid: string): ResourceUid {
  return { type: UID_TYPES.group, key: nameOrGid };
}

/** execUid names an exec resource by its command. */
export function execUid(cmd: string): ResourceUid {
  return { type: UID_TYPES.exec, key: cmd };
}

/** want turns a uid into a wanted one; `reversed` puts the edge from the resource found to the searcher. */
export function want(uid: ResourceUid, reversed: boolean): WantedUid {
  return { type: uid.type, key: uid.key, reversed };
}

/** oneRound is a search that asks for all of `wanted` at once and is then done (exec, user). */
export function oneRound(wanted: readonly WantedUid[]): AutoEdgeSearch {
  let asked = wanted.length === 0;
  return {
    next() {
      if (asked) return undefined;
      asked = true;
      return wanted;
    },
    test: () => false,
  };
}

/**
 * firstFound is a search that asks for `wanted` one per round, in order, and stops at the first
 * found: a service wants only the first of its unit files that is managed.
 */
export function firstFound(wanted: readonly WantedUid[]): AutoEdgeSearch {
  return new ListFirstFound(wanted);
}

/**
 * parentDirSearch is a file's search: the directories above `path`, nearest first (`/a/b/c` →
 * `/a/b/`, `/a/`, `/`), each reversed (the directory comes first), stopping at the first one
 * managed. The rounds of one directory are made once and shared by the files in it.
 */
export function parentDirSearch(path: string): AutoEdgeSearch {
  return new ParentDirSearch(parentRounds(dirname(path)));
}

// The rounds of a parentDirSearch from each directory, for the last MAX_PARENT_ROUNDS directories:
// 10,000 files of one directory each made a string, two uid objects and a list per level climbed
// (four levels under /tmp/x/; with the shared rounds the autoedge stage took ~0.85x the time).
const MAX_PARENT_ROUNDS = 4096;
const parentRoundsOf = new Map<string, readonly (readonly WantedUid[])[]>();

/** parentRounds lists the rounds that climb from `dir` (a directory ending with `/`, or "") up to `/`. */
function parentRounds(dir: string): readonly (readonly WantedUid[])[] {
  let rounds = parentRoundsOf.get(dir);
  if (rounds === undefined) {
    if (parentRoundsOf.size >= MAX_PARENT_ROUNDS) parentRoundsOf.clear();
    const made: (readonly WantedUid[])[] = [];
    for (let at = dir; at !== ''; at = dirname(at)) made.push(Object.freeze([want(fileUid(at), true)]));
    rounds = Object.freeze(made);
    parentRoundsOf.set(dir, rounds);
  }
  return rounds;
}

// Searches are classes rather than closures: a graph of 10,000 files holds 10,000 of them at once,
// and a small object with its methods on the prototype is a fraction of three closures.

/** FirstFound asks for one uid per round and stops at the first one found. */
abstract class FirstFound implements AutoEdgeSearch {
  protected abstract nextUid(): WantedUid | undefined;

  next(): readonly WantedUid[] | undefined {
    const uid = this.nextUid();
    return uid === undefined ? undefined : [uid];
  }

  test(found: readonly boolean[]): boolean {
    return found[0] !== true;
  }
}

class ListFirstFound extends FirstFound {
  private index = 0;
  constructor(private readonly wanted: readonly WantedUid[]) {
    super();
  }
  protected nextUid(): WantedUid | undefined {
    return this.wanted[this.index++];
  }
}

/** ParentDirSearch climbs shared rounds (parentRounds) and stops at the first directory found. */
class ParentDirSearch implements AutoEdgeSearch {
  private round = 0;
  constructor(private readonly rounds: readonly (readonly WantedUid[])[]) {}

  /** sameAs is the rounds: the searches from one directory ask and decide alike. */
  get sameAs(): object {
    return this.rounds;
  }

  next(): readonly WantedUid[] | undefined {
    return this.rounds[this.round++];
  }

  test(found: readonly boolean[]): boolean {
    return found[0] !== true;
  }
}

/** dirname returns the directory holding a path, with its trailing `/` (`/a/b/` → `/a/`); "" for `/` or a bare name. */
export function dirname(path: string): string {
  const end = path.endsWith('/') ? path.length - 2 : path.length - 1;
  // lastIndexOf treats a negative start as 0, which would make `/` its own parent.
  const cut = end < 0 ? -1 : path.lastIndexOf('/', end);
  return cut < 0 ? '' : path.slice(0, cut + 1);
}

// Where systemd looks for system units, first match wins; `/lib` is Debian's
// location for units shipped by packages before the /usr merge.
const SYSTEM_UNIT_DIRS = ['/etc/systemd/system/', '/usr/lib/systemd/system/'] as const;
const PACKAGE_UNIT_DIRS: ReadonlySet<string> = new Set(['/usr/lib/systemd/system/', '/lib/systemd/system/']);

/** UserDirs are where a session's unit files live besides the system-wide places (systemd.unit(5)). */
export interface UserDirs {
  readonly home?: string;
  /** $XDG_CONFIG_HOME when set (absolute), else <home>/.config. */
  readonly configHome?: string;
  /** $XDG_DATA_HOME when set (absolute), else <home>/.local/share. */
  readonly dataHome?: string;
}

/** userDirsOf reads UserDirs from an environment and a home directory, as systemd --user does. */
export function userDirsOf(env: NodeJS.ProcessEnv, home: string | undefined): UserDirs {
  const absolute = (value: string | undefined): string | undefined => (value !== undefined && value.startsWith('/') ? value : undefined);
  return { home: home === '' ? undefined : home, configHome: absolute(env.XDG_CONFIG_HOME), dataHome: absolute(env.XDG_DATA_HOME) };
}

/**
 * svcUnitFiles lists the unit files a service may be defined by, in systemd's order: for a system
 * unit `/etc/systemd/system/<n>.service` then `/usr/lib/systemd/system/<n>.service`; for a session
 * unit the user's configuration directory (`$XDG_CONFIG_HOME`, else `~/.config`), then
 * `/etc/systemd/user`, the user's data directory (`$XDG_DATA_HOME`, else `~/.local/share`), then
 * `/usr/lib/systemd/user` (the user's own places only when they are known).
 */
export function svcUnitFiles(name: string, session: boolean, dirs: UserDirs = {}): string[] {
  const unit = `${name}.service`;
  if (!session) return SYSTEM_UNIT_DIRS.map((dir) => dir + unit);
  const home = dirs.home === undefined ? undefined : dirs.home.replace(/\/+$/, '');
  const configHome = dirs.configHome ?? (home === undefined ? undefined : `${home}/.config`);
  const dataHome = dirs.dataHome ?? (home === undefined ? undefined : `${home}/.local/share`);
  const places = [configHome && `${configHome}/systemd/user/`, '/etc/systemd/user/', dataHome && `${dataHome}/systemd/user/`, '/usr/lib/systemd/user/'];
  return places.filter((dir): dir is string => typeof dir === 'string' && dir !== '').map((dir) => dir.replace(/\/+/g, '/') + unit);
}

/**
 * svcSearch is a service's search: its unit files in systemd's order, each reversed (the unit file
 * comes first), stopping at the first one managed.
 */
export function svcSearch(name: string, session: boolean, dirs: UserDirs = {}): AutoEdgeSearch {
  return firstFound(svcUnitFiles(name, session, dirs).map((path) => want(fileUid(path), true)));
}

/** shippedUnit returns the service a package file defines (`/usr/lib/systemd/system/x.service` → `x`), if any. */
export function shippedUnit(path: string): string | undefined {
  if (!path.endsWith('.service')) return undefined;
  const dir = dirname(path);
  if (!PACKAGE_UNIT_DIRS.has(dir)) return undefined;
  const name = path.slice(dir.length, -'.service'.length);
  return name === '' ? undefined : name;
}

/**
 * packageSearch is a package's search over the files it ships: first, in one
 * round, the services whose unit files it ships; then its files, reduced to the deepest ones, and
 * round after round the directories of those not found (minus the directories of those found),
 * until none is left. Nothing is reversed: the package comes before its services and files. A
 * directory in `files` should end with `/` to match a directory resource.
 */
export function packageSearch(files: readonly string[]): AutoEdgeSearch {
  const units = [...new Set(files.map(shippedUnit).filter((name): name is string => name !== undefined))];
  let services: readonly WantedUid[] | undefined = units.length > 0 ? units.map((name) => want(svcUid(name), false)) : undefined;
  let paths = deepestPaths(files);
  let asked: readonly WantedUid[] | undefined;
  return {
    next() {
      asked = services ?? (paths.length > 0 ? paths.map((path) => want(fileUid(path), false)) : undefined);
      return asked;
    },
    test(found) {
      if (asked === services) {
        services = undefined;
        return paths.length > 0;
      }
      const dirs = new Set<string>();
      const done = new Set<string>();
      paths.forEach((path, i) => {
        const dir = dirname(path);
        dirs.add(dir);
        if (found[i] === true) done.add(dir);
      });
      // A found path already orders the package before its directory tree; "" is above `/`.
      paths = deepestPaths([...dirs].filter((dir) => dir !== '' && !done.has(dir)));
      return paths.length > 0;
    },
  };
}

/**
 * deepestPaths drops every path that is an ancestor of another one in the list (upstream's
 * RemoveCommonFilePrefixes), and duplicates, keeping the order. It is linear in the total path
 * length: a package may ship thousands of files, and upstream's pairwise scan is quadratic.
 */
export function deepestPaths(paths: readonly string[]): string[] {
  const bare = (path: string): string => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path);
  const ancestors = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(path); dir !== ''; dir = dirname(dir)) {
      const key = bare(dir);
      if (ancestors.has(key)) break; // its own ancestors are in already
      ancestors.add(key);
    }
  }
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const path of paths) {
    const key = bare(path);
    if (ancestors.has(key) || seen.has(key)) continue;
    seen.add(key);
    kept.push(path);
  }
  return kept;
}
