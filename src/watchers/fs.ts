// The file-system watcher behind ResourceContext.watchPath: inotify through fs.watch, one shared
// watch per directory (see fs-dir.ts for the measurements behind that choice).

import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Observable } from 'rxjs';
import type { WatchPathOptions } from '../core/context.js';
import { DirRegistration, DirWatches, type DirWatchesOptions } from './fs-dir.js';
import { watchTree } from './fs-tree.js';
import { PathWatch, type PathObserver, type PathSource, type PathSubscription } from './path-watch.js';

/** FsWatcher watches paths; one instance serves a whole agent so that watches are shared. */
export interface FsWatcher {
  /**
   * watchPath returns a cold Observable that emits once when the watch is established, then
   * whenever `path` may have changed (created, written, removed, renamed onto, chmod/chown). A
   * missing path (and missing parents) is fine. With `recursive`, changes anywhere below a
   * directory are reported too. A failure to watch (EACCES, ENOSPC, EMFILE) is an error naming
   * the path; unsubscribing releases the watch.
   */
  watchPath(path: string, options?: WatchPathOptions): Observable<void>;
  /** close releases every watch; current subscribers get an error, later ones too. */
  close(): void;
  /**
   * release closes every watch and tells its current subscribers nothing: for a process about to
   * exit, whose subscriptions to a PathWatch may be left to it; later subscribers get an error.
   */
  release(): void;
  /** watchCount returns the number of open fs.watch (inotify) handles. */
  watchCount(): number;
}

/**
 * FsWatcherOptions configures a watcher. onResync hears that so many events arrived at once that
 * inotify may have dropped some, and that every watched path is reported changed (fs-dir.ts).
 */
export type FsWatcherOptions = DirWatchesOptions;

/** createFsWatcher creates a watcher with no open handles. */
export function createFsWatcher(options: FsWatcherOptions = {}): FsWatcher {
  const dirs = new DirWatches(options);
  let closed = false;

  // Each watch of a path: one PathListener, registered at the path's parent directory, that is
  // also the watch's end.
  const paths: PathSource = {
    observe(observer, target, recursive) {
      // A path's own changes are reported by its parent's watch, under its name; the root has no
      // parent, so it listens to all of its own events.
      const root = target === '/';
      const listener = new PathListener(observer, target, root ? null : basename(target));
      if (closed) {
        observer.error(new Error(`cannot watch ${target}: the file watcher is closed`));
        return listener;
      }
      try {
        dirs.register(root ? '/' : dirname(target), listener);
      } catch (err) {
        observer.error(watchError(target, err));
        return listener;
      }
      if (recursive) {
        try {
          listener.releaseTree = watchTree(dirs, target, listener);
        } catch (err) {
          listener.unsubscribe();
          observer.error(watchError(target, err));
          return listener;
        }
      }
      observer.next(); // ready
      return listener;
    },
  };

  return {
    watchPath(path: string, options: WatchPathOptions = {}): Observable<void> {
      // The trailing `/` of a directory only tells the file resource what to create; the watch of
      // a path is the same either way (a recursive watch follows whatever is there).
      return new PathWatch(paths, resolvedPath(path), options.recursive === true);
    },

    close(): void {
      closed = true;
      dirs.closeAll(new Error('the file watcher was closed'));
    },

    release(): void {
      closed = true;
      dirs.releaseAll();
    },

    watchCount: () => dirs.handleCount(),
  };
}

// An own rename's event is passed over only this soon after it was announced; later, it is passed
// on like any other (one check too many, never one too few).
const OWN_RENAME_MS = 1000;

/**
 * PathListener forwards directory events to one subscriber of `path`, and is its registration and
 * its teardown: one object per watch, not an object and two closures (10,000 files watch at once).
 *
 * A writer's own rename (expectOwnRename) is not passed on: after a first converge that would be a
 * check of every file just written, a third of the work. inotify queues events in the order of the
 * changes and merges a rename's event with no other (each has its own cookie), so the first
 * 'rename' event of the name after the announcement is the writer's, or one before it, and then the
 * writer's own comes next and is passed on. Any other event, and every event that may stand for
 * lost ones (a re-armed or re-synced directory, `name` undefined), ends the announcement.
 */
class PathListener extends DirRegistration implements PathSubscription {
  /** Ends the watch of the tree below a recursively watched path. */
  releaseTree: (() => void) | undefined;
  /** performance.now() until which a 'rename' event of the name is the writer's own; 0: none. */
  private ownRenameUntil = 0;

  constructor(
    private readonly observer: PathObserver,
    private readonly path: string,
    name: string | null,
  ) {
    super(name);
  }

  change(name: string | undefined, renamed: boolean): void {
    if (this.ownRenameUntil !== 0) {
      const own = renamed && name !== undefined && performance.now() <= this.ownRenameUntil;
      this.ownRenameUntil = 0;
      if (own) return;
    }
    this.observer.next();
  }

  expectOwnRename(): void {
    // Only a watch that hears the directory itself, by the entry's name, hears the rename.
    if (this.live && this.name !== null && this.node?.armed === true) this.ownRenameUntil = performance.now() + OWN_RENAME_MS;
  }

  cancelOwnRename(): void {
    this.ownRenameUntil = 0;
  }

  /** error tells the observer that the watch failed, and ends it (as an rxjs subscriber's error would). */
  error(err: unknown): void {
    this.observer.error(watchError(this.path, err));
    this.unsubscribe();
  }

  /** unsubscribe ends the watch: its registration and, if recursive, the tree's; again, nothing. */
  override unsubscribe(): void {
    super.unsubscribe();
    const releaseTree = this.releaseTree;
    this.releaseTree = undefined;
    releaseTree?.();
  }
}

const SLASH = 0x2f;

/**
 * resolvedPath is `resolve(path)`, without the call for a path already resolved: absolute, with no
 * empty segment and no trailing `/`, and no segment starting with `.` (so no `.` or `..`; a dot
 * file takes the call too). Resources hand over such paths; resolve cost 1-3 µs and 430 bytes each
 * (10,000 files), and the regular expression that tested for them was ~1.5% of a 10,000-file
 * re-check's CPU profile.
 */
export function resolvedPath(path: string): string {
  const resolved =
    path.length > 1 && path.charCodeAt(0) === SLASH && path.charCodeAt(path.length - 1) !== SLASH && !path.includes('//') && !path.includes('/.');
  return resolved ? path : resolve(path);
}

/** watchError turns a watch failure into an Error that names the path and says what to do. */
export function watchError(path: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException | undefined;
  const where = e?.path !== undefined && e.path !== path ? ` (at ${e.path})` : '';
  let reason: string;
  switch (e?.code) {
    case 'ENOSPC':
      reason = `out of inotify watches${where}: fs.inotify.max_user_watches is ${sysctl('max_user_watches')}; raise it with sysctl`;
      break;
    case 'EMFILE':
      reason = `too many open files or inotify instances${where}: raise fs.inotify.max_user_instances (${sysctl('max_user_instances')}) or the open-file limit (ulimit -n)`;
      break;
    case 'EACCES':
    case 'EPERM':
      reason = `permission denied${where}`;
      break;
    default:
      reason = e?.message ?? String(err);
  }
  return new Error(`cannot watch ${path}: ${reason}`, { cause: err });
}

/** sysctl reads an inotify limit for an error message ("?" when unreadable). */
function sysctl(name: string): string {
  try {
    return readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8').trim();
  } catch {
    return '?';
  }
}
