// Recursive copy of a source directory for the file kind (`source: /dir/`, path ending in `/`).
// Like `rsync -r` without --delete: entries of the source are created or updated in the
// destination; entries only in the destination are left alone (upstream's purge is not offered).
// New entries take the source's permission bits without set-uid/set-gid; existing ones keep
// their mode and owner. Each destination directory is opened without following a link and its
// entries are named through that descriptor, so a link planted in the destination is replaced,
// never written through.

import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { close, openFd, rename } from './file-fs.js';
import { keepAttributes, lstatIfAny, removePath, sameFiles, tempPath, writeAtomic } from './file-io.js';
import { entryPath, O_DIR } from './safe-path.js';

/** CopyTreeOptions are the checkApply flags that govern a tree copy. */
export interface CopyTreeOptions {
  /** Make changes (false = only report whether the copy is complete). */
  readonly apply: boolean;
  /** Replace a file by a directory or a directory by a file where the source says so. */
  readonly force: boolean;
  readonly signal: AbortSignal;
}

/** Destination is an entry of an open destination directory: where calls go, and its name for messages. */
interface Destination {
  readonly at: string;
  readonly shown: string;
}

/**
 * copyTree makes directory `dst` (an entry path that must not be followed; `shown` names it)
 * hold a copy of everything in directory `src`; it returns true when it already did. With
 * `apply` false it stops at the first difference and changes nothing.
 */
export async function copyTree(src: string, dst: string, shown: string, options: CopyTreeOptions): Promise<boolean> {
  const fd = await openFd(dst, O_DIR);
  try {
    let ok = true;
    for (const entry of await readdir(src, { withFileTypes: true })) {
      options.signal.throwIfAborted();
      const from = join(src, entry.name);
      const to = { at: entryPath(fd, entry.name), shown: join(shown, entry.name) };
      const [fromStats, toStats] = await Promise.all([lstat(from), lstatIfAny(to.at)]);
      let entryOk: boolean;
      if (fromStats.isDirectory()) entryOk = await copyDir(from, fromStats, to, toStats, options);
      else if (fromStats.isFile()) entryOk = await copyFile(from, fromStats, to, toStats, options);
      else if (fromStats.isSymbolicLink()) entryOk = await copyLink(from, to, toStats, options);
      else throw new Error(`cannot copy ${from}: only regular files, directories and symlinks are copied`);
      if (!entryOk) {
        if (!options.apply) return false;
        ok = false;
      }
    }
    return ok;
  } finally {
    await close(fd);
  }
}

async function copyDir(from: string, fromStats: Stats, to: Destination, toStats: Stats | undefined, options: CopyTreeOptions): Promise<boolean> {
  let ok = true;
  if (toStats !== undefined && !toStats.isDirectory()) {
    if (!(await replaceable(to, toStats, 'a directory', options))) return false;
    toStats = undefined;
  }
  if (toStats === undefined) {
    if (!options.apply) return false;
    await mkdir(to.at, { mode: fromStats.mode & 0o777 });
    ok = false;
  }
  return (await copyTree(from, to.at, to.shown, options)) && ok;
}

async function copyFile(from: string, fromStats: Stats, to: Destination, toStats: Stats | undefined, options: CopyTreeOptions): Promise<boolean> {
  if (toStats !== undefined && !toStats.isFile()) {
    if (!(await replaceable(to, toStats, 'a file', options))) return false;
    toStats = undefined;
  }
  if (toStats?.isFile() && toStats.size === fromStats.size && (await sameFiles(from, to.at, fromStats.size))) return true;
  if (!options.apply) return false;
  const attributes = toStats?.isFile() ? keepAttributes(toStats, true) : { mode: fromStats.mode & 0o1777 };
  await writeAtomic(to.at, { copyFrom: from }, attributes);
  return false;
}

async function copyLink(from: string, to: Destination, toStats: Stats | undefined, options: CopyTreeOptions): Promise<boolean> {
  const target = await readlink(from);
  if (toStats?.isSymbolicLink() && (await readlink(to.at)) === target) return true;
  if (toStats?.isDirectory()) {
    if (!(await replaceable(to, toStats, 'a symlink', options))) return false;
  }
  if (!options.apply) return false;
  // A symlink made under a temp name and renamed over `to` replaces it atomically.
  const temp = tempPath(to.at);
  await symlink(target, temp);
  try {
    await rename(temp, to.at);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
  return false;
}

/**
 * replaceable checks that what is in the way of an entry may go: a symlink (never followed) or
 * a FIFO always may; a directory in the way of a file, or a file in the way of a directory,
 * only with `force` (it throws without). It returns false in check-only mode, else removes it.
 */
async function replaceable(to: Destination, stats: Stats, wanted: string, options: CopyTreeOptions): Promise<boolean> {
  const isDir = stats.isDirectory();
  if (!options.force && (isDir || stats.isFile())) {
    throw new Error(`${to.shown} is ${isDir ? 'a directory' : 'not a directory'} where the source has ${wanted} (set force: true to replace it)`);
  }
  if (!options.apply) return false;
  await removePath(to.at, to.shown, isDir, true);
  return true;
}
