// File-system primitives of the file kind, kept to the fewest syscalls: a converged check is one
// lstat plus one open/read/close when the size matches, and a write is open/write/close into a
// temp file plus a rename, no fsync (it costs milliseconds per file on this machine's disk, and a
// rename already guarantees readers see the old or the new content, never a torn file).

import { closeSync, constants, lstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { close, fstat, lstat, openFd, readAt, readlink, stat, threadCalls, writeAll, type WriteCalls } from './file-fs.js';
import { tempSuffix } from '../os/atomic-write.js';
import { entryPath, O_DIR } from './safe-path.js';
import type { OwnRenames } from '../watchers/path-watch.js';

const CHUNK = 1 << 20; // compare big files 1 MiB at a time
const COPY_CHUNK = 1 << 16; // small: most copies are small files
const MAX_TEMP_BASE = 200; // keep `.name.mgmt-<random>` under NAME_MAX (255)
// Never through a link; a FIFO opened to be read must not block the check.
const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const O_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** WriteOptions says what a written file looks like besides its content. */
export interface WriteOptions {
  /** Permission bits; undefined = what a new file gets (0666 minus umask). */
  readonly mode?: number;
  /** Owner and group ids; undefined = the agent's. */
  readonly uid?: number;
  readonly gid?: number;
}

/** FileSource is what a file is written from: bytes in memory, or a file to copy. */
export type FileSource = Buffer | { readonly copyFrom: string };

/**
 * RaceError says that what a check found changed before it acted (another inode at the path):
 * the check is run again, it is not a failure.
 */
export class RaceError extends Error {
  readonly code = 'ERACE';
}

// What a path that changed between two calls of one check makes them fail with.
const RACE_CODES: ReadonlySet<string> = new Set(['ERACE', 'ENOENT', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ELOOP', 'ENOTEMPTY', 'ESTALE']);

/** isRace says whether `err` (or the fs error it wraps) means the path changed under a check. */
export function isRace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && RACE_CODES.has(code);
}

/**
 * writeAtomic replaces `at` (an entry of an open directory) with `source` atomically: it writes a
 * temp file next to it, gives it its owner and mode through the descriptor it created, and
 * renames it into place (over whatever is there, a symlink included, which is replaced, never
 * followed), so a reader sees the old file or the new one, and a killed agent leaves at most a
 * `.name.mgmt-*` temp file, never a torn file. The temp file is removed on failure. The rename is
 * announced to `own`, the writer's watch of the path, whose subscriber need not hear of it.
 */
export async function writeAtomic(at: string, source: FileSource, options: WriteOptions = {}, calls: WriteCalls = threadCalls, own?: OwnRenames): Promise<void> {
  const temp = tempPath(at);
  try {
    const fd = await calls.openFd(temp, O_NEW, (options.mode ?? 0o666) & 0o777);
    try {
      if (Buffer.isBuffer(source)) await calls.writeAll(fd, source);
      else await copyInto(fd, source.copyFrom);
      await settle(fd, options, calls);
    } finally {
      await calls.close(fd);
    }
    own?.expectOwnRename();
    await calls.rename(temp, at);
  } catch (err) {
    own?.cancelOwnRename();
    await calls.unlink(temp).catch(() => undefined);
    throw err;
  }
}

/** createEmpty creates an empty file exclusively at `at`, then sets owner and mode on its descriptor. */
export async function createEmpty(at: string, options: WriteOptions = {}): Promise<void> {
  const fd = await openFd(at, O_NEW, (options.mode ?? 0o666) & 0o777);
  try {
    await settle(fd, options);
  } finally {
    await close(fd);
  }
}

/** makeDir creates the directory `at`, then sets owner and mode on the directory it opens (never a link). */
export async function makeDir(at: string, options: WriteOptions = {}): Promise<void> {
  await mkdir(at, { mode: (options.mode ?? 0o777) & 0o777 });
  const fd = await openFd(at, O_DIR);
  try {
    await settle(fd, options);
  } finally {
    await close(fd);
  }
}

/**
 * withOpenEntry opens `at` without following a link (a directory or a regular file, as `found`
 * says), checks that it is still the inode `found` describes, and runs `use` on the descriptor:
 * owner and mode are set there, never by path. Another inode at `at` is a RaceError.
 */
export async function withOpenEntry<T>(at: string, found: Stats, use: (fd: number) => Promise<T>): Promise<T> {
  const fd = await openFd(at, found.isDirectory() ? O_DIR : O_READ);
  try {
    const now = await fstat(fd);
    if (now.ino !== found.ino || now.dev !== found.dev) throw new RaceError(`${at} was replaced while it was checked`);
    return await use(fd);
  } finally {
    await close(fd);
  }
}

/**
 * sameBytes says whether the file at `at`, whose size the caller found equal to
 * `expected.length`, holds exactly those bytes. One open, one read per MiB, one close; no hashing.
 */
export async function sameBytes(at: string, expected: Buffer): Promise<boolean> {
  const fd = await openFd(at, O_READ);
  try {
    const size = expected.length;
    const buffer = Buffer.allocUnsafe(Math.min(size, CHUNK));
    for (let offset = 0; offset < size; ) {
      const length = Math.min(buffer.length, size - offset);
      const read = await readAt(fd, buffer, length, offset);
      if (read !== length || buffer.compare(expected, offset, offset + length, 0, length) !== 0) return false;
      offset += length;
    }
    return true;
  } finally {
    await close(fd);
  }
}

/** SMALL_FILE is the largest content the file kind reads and writes with main-thread calls. */
export const SMALL_FILE = 64 * 1024;
const probeBuffer = Buffer.allocUnsafe(SMALL_FILE);

/** ContentProbe is what probeContentSync found: the path's lstat (undefined: missing) and whether it holds the bytes. */
export interface ContentProbe {
  readonly found: Stats | undefined;
  readonly same: boolean;
}

/**
 * probeContentSync does lstatIfAny and, for a regular file of the right size, sameBytes, with
 * synchronous calls, for content of at most SMALL_FILE bytes on a local file system. The lstat
 * comes first so that only a regular file is ever opened (opening a device can act on it).
 */
export function probeContentSync(at: string, expected: Buffer): ContentProbe {
  let found: Stats | undefined;
  try {
    found = lstatSync(at, { throwIfNoEntry: false });
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  if (found === undefined || !found.isFile() || found.size !== expected.length) return { found, same: false };
  const fd = openSync(at, O_READ);
  try {
    const length = expected.length;
    const read = readSync(fd, probeBuffer, 0, length, 0);
    return { found, same: read === length && probeBuffer.compare(expected, 0, length, 0, length) === 0 };
  } finally {
    closeSync(fd);
  }
}

/** sameFiles says whether `source` and the file at `at`, both found to be `size` bytes long, hold the same bytes. */
export async function sameFiles(source: string, at: string, size: number): Promise<boolean> {
  const fa = await openFd(source, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const fb = await openFd(at, O_READ);
    try {
      const length = Math.min(size, CHUNK);
      const ba = Buffer.allocUnsafe(length);
      const bb = Buffer.allocUnsafe(length);
      for (let offset = 0; offset < size; ) {
        const want = Math.min(length, size - offset);
        const [ra, rb] = await Promise.all([readAt(fa, ba, want, offset), readAt(fb, bb, want, offset)]);
        if (ra !== want || rb !== want || ba.compare(bb, 0, want, 0, want) !== 0) return false;
        offset += want;
      }
      return true;
    } finally {
      await close(fb);
    }
  } finally {
    await close(fa);
  }
}

/**
 * removePath removes the entry `at` of an open directory (`shown` names it in messages): a file or
 * a symlink (the link itself), or a directory, an empty one unless `recursive`. A recursive
 * removal never follows a symlink (it removes the link) and never crosses a mount point: it stops
 * there, removes the rest, and throws naming the mount point.
 */
export async function removePath(at: string, shown: string, isDir: boolean, recursive: boolean): Promise<void> {
  if (shown === '/' || at === '/') throw new Error('refusing to remove /');
  if (!isDir) {
    await unlink(at);
    return;
  }
  if (recursive) {
    const mounts = await mountPoints();
    const parent = await stat(at.slice(0, at.lastIndexOf('/')));
    const skipped: string[] = [];
    if (!(await emptyTree(at, shown, { dev: parent.dev, mounts, skipped }))) {
      throw new Error(`cannot remove ${shown} entirely: ${skipped[0] ?? shown} is a mount point, and the agent never deletes across a mount (unmount it first)`);
    }
  }
  try {
    await rmdir(at);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`cannot remove directory ${shown}: it is not empty (set recurse: true to remove it with its contents)`, { cause: err });
    }
    throw err;
  }
}

interface TreeRemoval {
  /** The device of the tree's parent: a directory on another one is a mount point. */
  readonly dev: number;
  /** Every mount point's real path (a bind mount keeps the device number, so both are checked). */
  readonly mounts: ReadonlySet<string>;
  readonly skipped: string[];
}

/** emptyTree removes everything inside directory `at`, through descriptors; false when it stopped at a mount. */
async function emptyTree(at: string, shown: string, removal: TreeRemoval): Promise<boolean> {
  const fd = await openFd(at, O_DIR);
  try {
    const [stats, real] = await Promise.all([fstat(fd), readlink(`/proc/self/fd/${fd}`)]);
    if (stats.dev !== removal.dev || removal.mounts.has(real)) {
      removal.skipped.push(shown);
      return false;
    }
    let emptied = true;
    for (const name of await readdir(`/proc/self/fd/${fd}`)) {
      const child = entryPath(fd, name);
      const found = await lstatIfAny(child);
      if (found === undefined) continue;
      if (!found.isDirectory()) await unlink(child);
      else if (await emptyTree(child, join(shown, name), removal)) await rmdir(child);
      else emptied = false;
    }
    return emptied;
  } finally {
    await close(fd);
  }
}

/** mountPoints reads the real paths of every mount point of this process's namespace. */
async function mountPoints(): Promise<ReadonlySet<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return new Set(text.split('\n').filter((line) => line !== '').map((line) => unescape(line.split(' ')[4]!)));
}

/**
 * TempFiles lists, once per directory and run, the agent's temp files (`.<name>.mgmt-<8>`) a
 * killed run may have left there, by the name they were for.
 */
export class TempFiles {
  private readonly listings = new Map<string, Promise<ReadonlyMap<string, readonly string[]>>>();
  private readonly listed = new Map<string, ReadonlyMap<string, readonly string[]>>();

  /** of returns the temp file names in `dir` for the file named `base` (see tempBase). */
  async of(dir: string, base: string): Promise<readonly string[]> {
    return (await this.listing(dir)).get(base) ?? NO_NAMES;
  }

  /**
   * ofIfListed is `of` once the listing of `dir` is done, and undefined before (it starts the
   * listing): a check that knows there is nothing to sweep need not wait.
   */
  ofIfListed(dir: string, base: string): readonly string[] | undefined {
    const listed = this.listed.get(dir);
    if (listed === undefined) {
      void this.listing(dir);
      return undefined;
    }
    return listed.get(base) ?? NO_NAMES;
  }

  private listing(dir: string): Promise<ReadonlyMap<string, readonly string[]>> {
    let listing = this.listings.get(dir);
    if (listing === undefined) {
      listing = listTemps(dir).then((byBase) => {
        this.listed.set(dir, byBase);
        return byBase;
      });
      this.listings.set(dir, listing);
    }
    return listing;
  }
}

const NO_NAMES: readonly string[] = Object.freeze([]);
const TEMP_NAME = /^\.(.+)\.mgmt-[0-9a-z]{8}$/;

async function listTemps(dir: string): Promise<ReadonlyMap<string, readonly string[]>> {
  const byBase = new Map<string, string[]>();
  const names = await readdir(dir).catch(() => [] as string[]); // missing or unreadable: nothing to sweep
  for (const name of names) {
    const base = TEMP_NAME.exec(name)?.[1];
    if (base !== undefined) byBase.set(base, [...(byBase.get(base) ?? []), name]);
  }
  return byBase;
}

/**
 * removeStaleTemps removes those of `names` (at the entry paths `places`, never followed) that
 * are regular files, and returns the names it removed.
 */
export async function removeStaleTemps(places: readonly string[], names: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const [i, at] of places.entries()) {
    const found = await lstatIfAny(at);
    if (!found?.isFile()) continue;
    await unlink(at).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
    removed.push(names[i]!);
  }
  return removed;
}

/** lstatIfAny returns the lstat of `path`, or undefined when it does not exist. */
export async function lstatIfAny(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * keepAttributes returns write options that keep an existing file's mode, owner and group; with
 * `dropSetId`, without set-uid/set-gid (new content from a copy must not inherit them).
 */
export function keepAttributes(stats: Stats, dropSetId = false): WriteOptions {
  return {
    mode: stats.mode & (dropSetId ? 0o1777 : 0o7777),
    uid: stats.uid === process.geteuid?.() ? undefined : stats.uid,
    gid: stats.gid === process.getegid?.() ? undefined : stats.gid,
  };
}

/** isMissing says whether an fs error means the path (or a parent) does not exist. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** tempPath names a fresh temp file next to `path`, so the final rename stays atomic. */
export function tempPath(path: string): string {
  return join(dirname(path), `.${tempBase(basename(path))}.mgmt-${tempSuffix()}`);
}

/** tempBase is the part of a file's name that its temp files carry (`.<tempBase>.mgmt-<random>`). */
export function tempBase(name: string): string {
  return name.slice(0, MAX_TEMP_BASE);
}

async function copyInto(fd: number, from: string): Promise<void> {
  const source = await openFd(from, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    for (let offset = 0; ; ) {
      const read = await readAt(source, buffer, buffer.length, offset);
      if (read === 0) return;
      await writeAll(fd, buffer, read);
      offset += read;
    }
  } finally {
    await close(source);
  }
}

/** settle gives a file the agent just created its owner, then its mode (chown clears set-id bits). */
async function settle(fd: number, options: WriteOptions, calls: WriteCalls = threadCalls): Promise<void> {
  const chowned = options.uid !== undefined || options.gid !== undefined;
  if (chowned) await calls.fchown(fd, options.uid ?? -1, options.gid ?? -1);
  if (options.mode !== undefined && (chowned || !exactOnCreate(options.mode))) await calls.fchmod(fd, options.mode);
}

/** exactOnCreate says whether open()/mkdir() with `mode` gives exactly `mode` (no umask bite, no set-id bits). */
function exactOnCreate(mode: number | undefined): boolean {
  return mode === undefined || (mode <= 0o777 && (mode & processUmask()) === 0);
}

let umaskCache: number | undefined;

/** processUmask reads the umask once from /proc (process.umask() without arguments is deprecated). */
export function processUmask(): number {
  if (umaskCache === undefined) {
    try {
      const match = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      umaskCache = match ? parseInt(match[1]!, 8) : 0o777;
    } catch {
      umaskCache = 0o777; // unknown: assume the worst, so modes are always set explicitly
    }
  }
  return umaskCache;
}
