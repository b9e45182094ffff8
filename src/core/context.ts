import type { Observable } from 'rxjs';
import type { ResourceLogger } from './logger.js';

/** WatchPathOptions tunes a path watch. */
export interface WatchPathOptions {
  /** Also report changes anywhere below the path when it is a directory. */
  readonly recursive?: boolean;
}

/**
 * SharedStrings is the part of the World a resource may use: string keys every host shares. The
 * World (src/world/types.ts) has this shape; the contract names only what resources need, so it
 * imports nothing above it.
 */
export interface SharedStrings {
  /** strGet reads a string key; undefined when it does not exist. */
  strGet(key: string): Promise<string | undefined>;
  /** strSet writes a string key. */
  strSet(key: string, value: string): Promise<void>;
  /** strDel deletes a string key (no error when it does not exist). */
  strDel(key: string): Promise<void>;
  /** strWatch emits once when the watch is ready, then whenever the key changes. */
  strWatch(key: string): Observable<void>;
}

/**
 * ResourceContext is everything a live resource may use from outside itself: resources import
 * nothing global, so tests can hand them a context of their own.
 */
export interface ResourceContext {
  /** The resource id `kind[name]`. */
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  readonly hostname: string;
  readonly log: ResourceLogger;
  /** What hosts share (string keys); the local World when there is no cluster. */
  readonly world?: SharedStrings;
  /** A private scratch directory for this resource (created on demand by the resource). */
  readonly scratchDir: string;
  /** refreshPending says whether a refresh notification waits for this run of checkApply. */
  refreshPending(): boolean;
  /**
   * watchPath emits whenever the file or directory at `path` may have changed (created, written,
   * removed, renamed, its attributes changed). It works for paths that do not exist yet. The first
   * emission means the watch is established. Shared: many watched paths in one directory use one
   * inotify watch.
   */
  watchPath(path: string, options?: WatchPathOptions): Observable<void>;
}
