// File-system primitives of the file kind, kept to the fewest syscalls: a converged check is one
// lstat plus one open/read/close when the size matches, and a write is open/write/close into a
// temp file plus a rename, no fsync (it costs milliseconds per file on this machine's disk, and a
// rename already guarantees readers see the old or the new content, never a torn file).

import { constants, readFileSync, type Stats } from 'node:fs';
import { copyFile, mkdir, rm, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { chmod, chown, close, lstat, openRead, readAt, rename, writeNew } from './file-fs.js';

/** DEFAULT_DIR_MODE is the mode of parent directories created for a file (like `mkdir -p`). */
export const DEFAULT_DIR_MODE = 0o755;

const CHUNK = 1 << 20; // compare big files 1 MiB at a time
const MAX_TEMP_BASE = 200; // keep `.name.mgmt-<random>` under NAME_MAX (255)

/** WriteOptions says what a written file looks like besides its content. */
export interface WriteOptions {
  /** Permission bits; undefined = what a new file gets (0666 minus umask, or the source's). */
  readonly mode?: number;
  /** Owner and group ids; undefined = the agent's. */
  readonly uid?: number;
  readonly gid?: number;
}

/** FileSource is what a file is written from: bytes in memory, or a file to copy. */
export type FileSource = Buffer | { readonly copyFrom: string };

/**
 * writeAtomic replaces `path` with `source` atomically: it writes a temp file next to it, gives
 * it its owner and mode, and renames it into place, so a reader sees the old file or the new one,
 * and a killed agent leaves at most a `.name.mgmt-*` temp file, never a torn file. Missing
 * parent directories are created (mode 0755). The temp file is removed on failure.
 */
export async function writeAtomic(path: string, source: FileSource, options: WriteOptions = {}): Promise<void> {
  const temp = tempPath(path);
  try {
    try {
      await createTemp(temp, source, options.mode);
    } catch (err) {
      if (!isMissing(err)) throw err;
      await mkdir(dirname(path), { recursive: true, mode: DEFAULT_DIR_MODE });
      await createTemp(temp, source, options.mode);
    }
    const chowned = options.uid !== undefined || options.gid !== undefined;
    if (chowned) await chown(temp, options.uid ?? -1, options.gid ?? -1);
    // chown clears set-id bits, a copy has the source's mode, and umask trims open()'s mode.
    if (options.mode !== undefined && (chowned || !Buffer.isBuffer(source) || !exactOnCreate(options.mode))) {
      await chmod(temp, options.mode);
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** createEmpty creates an empty file exclusively (creating missing parents), then sets owner and mode. */
export async function createEmpty(path: string, options: WriteOptions = {}): Promise<void> {
  const mode = (options.mode ?? 0o666) & 0o777;
  try {
    await writeNew(path, '', mode);
  } catch (err) {
    if (!isMissing(err)) throw err;
    await mkdir(dirname(path), { recursive: true, mode: DEFAULT_DIR_MODE });
    await writeNew(path, '', mode);
  }
  await setOwnerAndMode(path, options, !exactOnCreate(options.mode));
}

/** makeDir creates the directory `path` (creating missing parents with 0755), then sets owner and mode. */
export async function makeDir(path: string, options: WriteOptions = {}): Promise<void> {
  const mode = (options.mode ?? 0o777) & 0o777;
  try {
    await mkdir(path, { mode });
  } catch (err) {
    if (!isMissing(err)) throw err;
    await mkdir(dirname(path), { recursive: true, mode: DEFAULT_DIR_MODE });
    await mkdir(path, { mode });
  }
  await setOwnerAndMode(path, options, !exactOnCreate(options.mode));
}

/**
 * sameBytes says whether the file at `path`, whose size the caller found equal to
 * `expected.length`, holds exactly those bytes. One open, one read per MiB, one close; no hashing.
 */
export async function sameBytes(path: string, expected: Buffer): Promise<boolean> {
  const fd = await openRead(path);
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

/** sameFiles says whether two files, both found to be `size` bytes long, hold the same bytes. */
export async function sameFiles(a: string, b: string, size: number): Promise<boolean> {
  const fa = await openRead(a);
  try {
    const fb = await openRead(b);
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
 * removePath removes a file, or a directory (an empty one unless `recursive`). It refuses to
 * remove `/`.
 */
export async function removePath(path: string, isDir: boolean, recursive: boolean): Promise<void> {
  if (resolve(path) === '/') throw new Error('refusing to remove /');
  if (!isDir) {
    await unlink(path);
  } else if (recursive) {
    await rm(path, { recursive: true, force: true });
  } else {
    try {
      await rmdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new Error(`cannot remove directory ${path}: it is not empty (set recurse: true to remove it with its contents)`, { cause: err });
      }
      throw err;
    }
  }
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

/** keepAttributes returns write options that keep an existing file's mode, owner and group. */
export function keepAttributes(stats: Stats): WriteOptions {
  return {
    mode: stats.mode & 0o7777,
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
  const name = basename(path).slice(0, MAX_TEMP_BASE);
  return join(dirname(path), `.${name}.mgmt-${tempSuffix()}`);
}

/**
 * tempSuffix is 8 random characters for a temp file's name. Not crypto-grade on purpose
 * (randomBytes showed in the profile of 10,000 writes, and loading node:crypto costs a one-shot
 * run ~2.5 ms): temp files are created with O_EXCL, so a guessed name only makes a write fail.
 */
export function tempSuffix(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}

async function createTemp(temp: string, source: FileSource, mode: number | undefined): Promise<void> {
  if (Buffer.isBuffer(source)) {
    // Exclusive: never write through something an attacker placed under our temp name.
    await writeNew(temp, source, (mode ?? 0o666) & 0o777);
  } else {
    await copyFile(source.copyFrom, temp, constants.COPYFILE_EXCL);
  }
}

async function setOwnerAndMode(path: string, options: WriteOptions, modeNeedsSet: boolean): Promise<void> {
  const chowned = options.uid !== undefined || options.gid !== undefined;
  if (chowned) await chown(path, options.uid ?? -1, options.gid ?? -1);
  if (options.mode !== undefined && (chowned || modeNeedsSet)) await chmod(path, options.mode);
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
