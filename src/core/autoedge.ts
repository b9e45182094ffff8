/**
 * ResourceUid names something a resource is, or needs, for automatic edges: a `type` (`file`,
 * `pkgfile`, `svc`, `user`, `group`, `exec`, ...) and a `key` matched exactly through a hash index
 * (a path, a unit name, a user name).
 */
export interface ResourceUid {
  readonly type: string;
  readonly key: string;
}

/** WantedUid is a ResourceUid a resource looks for; `reversed` puts the edge found → this one. */
export interface WantedUid extends ResourceUid {
  /** true: the edge goes from the resource found to this one (a parent directory before a file). */
  readonly reversed: boolean;
}

/**
 * AutoEdgeSearch is one resource's search for its automatic edges, asked round by round like
 * upstream's AutoEdge: `next()` gives the uids wanted in this round (undefined = done), `test()`
 * hears which were found and says whether to go on (a file stops at its nearest managed parent).
 */
export interface AutoEdgeSearch {
  next(): readonly WantedUid[] | undefined;
  test(found: readonly boolean[]): boolean;
  /**
   * sameAs, when set, is shared by searches that ask the same rounds and decide alike on the same
   * answers (the files of one directory): one whose every uid asked was offered by nobody tells
   * the stage that the others would find nothing either, so it skips them.
   */
  readonly sameAs?: object;
}

/** PrefetchItem is one resource whose automatic edges a prefetch prepares. */
export interface PrefetchItem<P> {
  readonly name: string;
  readonly params: P;
}

/** AutoEdgeTrait lets a kind take part in automatic edges. */
export interface AutoEdgeTrait<P> {
  /** uids lists what a resource with these parameters is (what others may find). */
  uids(params: P, name: string): readonly ResourceUid[];
  /**
   * search starts the resource's search for what it needs. It may throw (say, a package whose
   * file list cannot be read): that resource gets a warning and no automatic edges.
   */
  search(params: P, name: string): AutoEdgeSearch;
  /**
   * prefetch, when given, reads ahead what `uids` and `search` need but cannot read synchronously
   * (a package's file list, from the package manager), for every participating resource of the
   * kind at once; loadGraph and `mgmt check` await it before compiling, and the kind keeps what
   * it read for `uids` and `search`. It should not reject: what it could not read, `search`
   * reports by throwing (a warning on that resource). Without a prefetch, `uids` and `search`
   * must still work (with less to go on).
   */
  prefetch?(resources: readonly PrefetchItem<P>[]): Promise<void>;
  /**
   * prefetchUsefulWith names the kinds whose resources what `prefetch` reads can connect to (a
   * package's files: file, svc, exec). A graph holding none of them skips the prefetch: a one-shot
   * run of packages alone then starts without asking the package manager for edges it cannot have.
   * Absent: always prefetch.
   */
  readonly prefetchUsefulWith?: readonly string[];
}
