// Safe path handling for the file kind: openat() semantics in Node, which has no openat. A
// directory is opened by walking from `/` one component at a time, each opened through
// /proc/self/fd/<parent>/<name> with O_NOFOLLOW, so every symlink on the way is seen, judged and
// followed by us rather than by the kernel. Every later create, rename, unlink and mkdir goes
// through /proc/self/fd/<dir>/<name>: the kernel resolves that magic link to the directory we
// opened, so swapping a component of the path afterwards cannot redirect the operation.
//
// Which links are followed is systemd-tmpfiles' "unsafe path transition" rule: a link that only
// root could have planted or swapped is followed; a link in a directory that another user can
// write is followed only when it leads into a directory that same user owns (it gains them
// nothing); anything else is an error naming the link.

import { constants, statSync, type Stats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { close, fstat, lstat, openFd, readlink, stat } from './file-fs.js';
import { eventLoopTurn } from '../os/turn.js';

/** O_DIR opens a directory without following a symlink in its place. */
export const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

const MAX_LINKS = 40; // like the kernel's own limit (ELOOP)
// Cached directory descriptors (one per directory of managed files); the oldest unused are closed.
const MAX_CACHED = 512;
const DIR_MODE = 0o755; // missing parents are made like `mkdir -p`

/** UnsafePathError says that a path leads through a symlink someone other than root could have swapped. */
export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

/** entryPath names `name` inside the open directory `fd` (what openat(fd, name) would open). */
export function entryPath(fd: number, name: string): string {
  return `/proc/self/fd/${fd}/${name}`;
}

/** OpenDir is a directory opened by a safe walk. */
interface OpenDir {
  readonly fd: number;
  readonly stats: Stats;
}

/**
 * openDirSafely opens directory `path` by a safe walk from `/`. A missing component is created
 * (mode 0755) when `create`, else the result is undefined. It throws UnsafePathError for a link
 * it must not follow, naming it, and an error naming a component that is not a directory.
 */
export async function openDirSafely(path: string, create: boolean): Promise<OpenDir | undefined> {
  await (procMounted ??= checkProc());
  return walk(await openRoot(), path, '/', create, { links: 0 });
}

let procMounted: Promise<void> | undefined;

/** checkProc fails clearly where /proc is not mounted (a bare chroot): every walk needs it. */
async function checkProc(): Promise<void> {
  const root = await openRoot();
  try {
    await stat(entryPath(root.fd, '.'));
  } catch (err) {
    procMounted = undefined;
    throw new Error(`the file kind needs /proc mounted: it names directories through /proc/self/fd (${(err as Error).message})`);
  } finally {
    await close(root.fd);
  }
}

async function openRoot(): Promise<OpenDir> {
  return withStats(await openFd('/', O_DIR));
}

async function withStats(fd: number): Promise<OpenDir> {
  try {
    return { fd, stats: await fstat(fd) };
  } catch (err) {
    await close(fd).catch(() => undefined);
    throw err;
  }
}

/** walk follows `rest` from the open directory `start` (which it takes over and closes). */
async function walk(start: OpenDir, rest: string, shown: string, create: boolean, budget: { links: number }): Promise<OpenDir | undefined> {
  let current: OpenDir | undefined = start;
  let where = shown;
  try {
    for (const name of rest.split('/')) {
      if (name === '' || name === '.') continue;
      const next: OpenDir | undefined = await step(current, where, name, create, budget);
      await close(current.fd);
      current = next;
      if (current === undefined) return undefined;
      where = join(where, name);
    }
    const done: OpenDir = current;
    current = undefined;
    return done;
  } finally {
    if (current !== undefined) await close(current.fd).catch(() => undefined);
  }
}

async function step(dir: OpenDir, where: string, name: string, create: boolean, budget: { links: number }): Promise<OpenDir | undefined> {
  const at = entryPath(dir.fd, name);
  const shown = join(where, name);
  for (;;) {
    let code: string | undefined;
    try {
      return await withStats(await openFd(at, O_DIR));
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
    }
    if (code === 'ENOENT') {
      if (!create) return undefined;
      await mkdirAt(at);
      continue;
    }
    const link = await lstat(at);
    if (!link.isSymbolicLink()) throw new Error(`${shown} is not a directory`);
    if (++budget.links > MAX_LINKS) throw new Error(`${shown}: too many levels of symbolic links`);
    return followLink(dir, where, name, link, create, budget);
  }
}

async function followLink(dir: OpenDir, where: string, name: string, link: Stats, create: boolean, budget: { links: number }): Promise<OpenDir | undefined> {
  const shown = join(where, name);
  const text = await readlink(entryPath(dir.fd, name));
  const writer = linkWriter(dir.stats, link);
  if (writer === 'anyone') throw unsafe(shown, where, 'users other than root can write');
  const absolute = text.startsWith('/');
  const base = absolute ? await openRoot() : await withStats(await openFd(entryPath(dir.fd, '.'), O_DIR));
  // A link only root controls may lead anywhere, even where parents must still be made; another
  // user's link is judged by where it leads, so nothing is created through it first.
  const target = await walk(base, text, absolute ? '/' : where, create && writer === undefined, budget);
  if (writer === undefined) return target;
  if (target === undefined) throw unsafe(shown, where, `uid ${writer} can write, and it leads nowhere`);
  if (target.stats.uid !== writer) {
    await close(target.fd).catch(() => undefined);
    throw unsafe(shown, where, `uid ${writer} can write, and it leads to a directory owned by uid ${target.stats.uid}`);
  }
  return target;
}

function unsafe(link: string, where: string, why: string): UnsafePathError {
  return new UnsafePathError(
    `unsafe path: ${link} is a symlink in ${where}, which ${why}; the agent does not follow it (replace it by a directory, or make it root's)`,
  );
}

/**
 * linkWriter says who other than root could replace a symlink in directory `dir`: undefined (no
 * one), one uid, or 'anyone'. A directory's owner can always make it writable; a sticky one (like
 * /tmp) lets others add entries but only the link's owner remove it.
 */
export function linkWriter(dir: Stats, link: Stats): number | 'anyone' | undefined {
  const writers = new Set<number>();
  if (dir.uid !== 0) writers.add(dir.uid);
  if ((dir.mode & 0o022) !== 0) {
    if ((dir.mode & 0o1000) === 0) return 'anyone';
    if (link.uid !== 0) writers.add(link.uid);
  }
  if (writers.size > 1) return 'anyone';
  return writers.size === 0 ? undefined : [...writers][0];
}

async function mkdirAt(at: string): Promise<void> {
  try {
    await mkdir(at, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile: open it
  }
}

/** SafeDir is a directory held open for a caller, until it calls release(). */
export interface SafeDir {
  /** entry names `name` in this directory, for a call that must not be redirected. */
  entry(name: string): string;
  release(): void;
}

interface Cached {
  readonly path: string;
  readonly fd: number;
  readonly dev: number;
  readonly ino: number;
  users: number;
  stale: boolean;
  checking: Promise<boolean> | undefined;
  /** The turn of the event loop in which a synchronous stat last confirmed it (-1: none). */
  confirmedInTurn: number;
}

/**
 * SafeDirs keeps the directories of managed files open after a safe walk, so a change costs one
 * stat of the directory (shared by the changes under way at that moment) to confirm that its
 * path still leads to the directory held open; when it does not, the path is walked and judged
 * again. At most MAX_CACHED unused directories stay open.
 */
export class SafeDirs {
  private readonly dirs = new Map<string, Cached>();

  /**
   * acquire opens directory `path` (creating missing parts when `create`); undefined when missing.
   * `local` (the directory is on a local file system) makes the stat that confirms a held
   * directory a synchronous one: writes of small local files are synchronous, so no two ever
   * shared a threaded stat, and each waited a trip through libuv's threads for its own (with
   * file.ts's reuse of checkOKSync's lstat: a 10,000-file first converge in 0.91x the wall time,
   * medians of 8 alternated runs). That stat is shared by the writes of one turn of the event loop
   * (at most ~5 ms, the engine's turn budget), as the threaded one is by the writes under way.
   */
  async acquire(path: string, create: boolean, local = false): Promise<SafeDir | undefined> {
    const cached = this.dirs.get(path);
    if (cached !== undefined) {
      cached.users++;
      if (local ? stillThereInTurn(cached) : await this.stillThere(cached)) return this.handle(cached);
      this.drop(cached);
      this.release(cached);
    }
    const opened = await openDirSafely(path, create);
    if (opened === undefined) return undefined;
    const entry: Cached = {
      path,
      fd: opened.fd,
      dev: opened.stats.dev,
      ino: opened.stats.ino,
      users: 1,
      stale: false,
      checking: undefined,
      confirmedInTurn: -1,
    };
    const other = this.dirs.get(path);
    if (other !== undefined) this.drop(other); // a concurrent walk: the newest wins
    this.dirs.set(path, entry);
    this.evict();
    return this.handle(entry);
  }

  private handle(entry: Cached): SafeDir {
    let released = false;
    return {
      entry: (name) => entryPath(entry.fd, name),
      release: () => {
        if (released) return;
        released = true;
        this.release(entry);
      },
    };
  }

  /** stillThere says whether the path still leads to the directory held open, with one threaded stat shared by the callers meanwhile. */
  private stillThere(entry: Cached): Promise<boolean> {
    entry.checking ??= stat(entry.path).then(
      (now) => now.dev === entry.dev && now.ino === entry.ino,
      () => false,
    );
    const checking = entry.checking;
    void checking.finally(() => {
      if (entry.checking === checking) entry.checking = undefined;
    });
    return checking;
  }

  private drop(entry: Cached): void {
    entry.stale = true;
    if (this.dirs.get(entry.path) === entry) this.dirs.delete(entry.path);
    if (entry.users === 0) void close(entry.fd).catch(() => undefined);
  }

  private release(entry: Cached): void {
    entry.users--;
    if (entry.stale && entry.users === 0) void close(entry.fd).catch(() => undefined);
  }

  private evict(): void {
    if (this.dirs.size <= MAX_CACHED) return;
    for (const entry of this.dirs.values()) {
      if (this.dirs.size <= MAX_CACHED) return;
      if (entry.users === 0) this.drop(entry);
    }
  }
}

/**
 * stillThereInTurn says whether the path still leads to the directory held open, with one
 * synchronous stat per turn of the event loop (local file systems only).
 */
function stillThereInTurn(entry: Cached): boolean {
  const turn = eventLoopTurn();
  if (entry.confirmedInTurn === turn) return true;
  try {
    const now = statSync(entry.path);
    if (now.dev !== entry.dev || now.ino !== entry.ino) return false;
  } catch {
    return false;
  }
  entry.confirmedInTurn = turn;
  return true;
}
