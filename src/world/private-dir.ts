// The agent keeps its state (the local World, etcd's data, scratch files) under --prefix and runs
// as root: a directory there that someone else can write, or a symlink someone planted, would let
// them steer root's writes. So every such directory is checked before it is used, as
// systemd-tmpfiles refuses an "unsafe path transition".

import { accessSync, constants, lstatSync, mkdirSync, realpathSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage, MgmtError } from '../errors.js';

/** PrivateDirOptions say how far ensurePrivateDir may go to make the directory. */
export interface PrivateDirOptions {
  /** Create missing parents too (their own safety is then checked up to `/`). */
  readonly parents?: boolean;
  /** Follow a symlink at the path itself when the link is root's or ours (an operator's choice). */
  readonly followOwnLink?: boolean;
}

/**
 * ensurePrivateDir creates `path` (mode 0755) if missing and returns its real path, or throws a
 * one-line MgmtError (exit 1) when it cannot be used: not a directory, a symlink (unless
 * `followOwnLink` and the link is root's or ours), owned by another user, writable by group or
 * others, or not writable (a read-only file system). With `parents`, every ancestor must be
 * root's or ours and not writable by others unless sticky (like /tmp).
 */
export function ensurePrivateDir(path: string, options: PrivateDirOptions = {}): string {
  try {
    // The parents first: a recursive mkdir on a read-only file system says ENOENT, not EROFS.
    if (options.parents) mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    mkdirSync(path, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(path, err);
  }
  let real = path;
  let stats = lstatOrThrow(path);
  if (stats.isSymbolicLink()) {
    if (!options.followOwnLink || !trustedOwner(stats.uid)) {
      throw new MgmtError(`refusing ${path}: it is a symbolic link owned by uid ${stats.uid}; the agent keeps its state only in a real directory (remove the link)`);
    }
    real = realpathOrThrow(path);
    stats = lstatOrThrow(real);
  }
  if (!stats.isDirectory()) throw new MgmtError(`refusing ${path}: it is not a directory`);
  checkPrivate(real, stats, path);
  if (options.parents) checkAncestors(real, path);
  try {
    accessSync(real, constants.W_OK);
  } catch (err) {
    throw unusable(path, err);
  }
  return real;
}

/** checkPrivate refuses a directory another user owns or can write. */
function checkPrivate(real: string, stats: Stats, named: string): void {
  const where = real === named ? named : `${named} (${real})`;
  if (!trustedOwner(stats.uid)) {
    throw new MgmtError(`refusing ${where}: it is owned by uid ${stats.uid}, not by root or the agent's user; other users must not control the agent's state (chown it, or use another --prefix)`);
  }
  if ((stats.mode & 0o022) !== 0) {
    throw new MgmtError(`refusing ${where}: it is writable by ${stats.mode & 0o002 ? 'others' : 'its group'} (mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}); other users must not control the agent's state (chmod go-w it)`);
  }
}

/** checkAncestors refuses a path whose parents someone else could rename or replace. */
function checkAncestors(real: string, named: string): void {
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const stats = lstatOrThrow(dir);
    const sticky = (stats.mode & 0o1000) !== 0;
    if (!trustedOwner(stats.uid) || ((stats.mode & 0o022) !== 0 && !sticky)) {
      throw new MgmtError(`refusing ${named}: its parent ${dir} is ${trustedOwner(stats.uid) ? 'writable by other users' : `owned by uid ${stats.uid}`}, who could replace it (use another --prefix)`);
    }
    if (dir === dirname(dir)) return;
  }
}

function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === process.getuid?.();
}

function lstatOrThrow(path: string): Stats {
  try {
    return lstatSync(path);
  } catch (err) {
    throw unusable(path, err);
  }
}

function realpathOrThrow(path: string): string {
  try {
    return realpathSync(path);
  } catch (err) {
    throw unusable(path, err);
  }
}

/** unusable says, in one line, that the agent cannot keep its state at `path`, and why. */
function unusable(path: string, err: unknown): MgmtError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'a parent is not a directory' : errorMessage(err);
  return new MgmtError(`cannot use ${path} for the agent's state: ${reason}${code ? ` (${code})` : ''}; use another --prefix, or --tmp-prefix`, { cause: err });
}
