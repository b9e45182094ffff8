import type { Observable } from 'rxjs';
import type { World } from '../world/types.js';

/** PkgBackendChoice is `--pkg-backend`: PackageKit over D-Bus, apt/dpkg, or auto (PackageKit when it answers on the system bus). */
export type PkgBackendChoice = 'auto' | 'packagekit' | 'apt';

/** ParamType is the YAML type a parameter accepts; the frontend checks it before `validate`. */
export type ParamType =
  | 'string' // any YAML scalar, taken as its source text (so `mode: 0644` stays "0644")
  | 'bool'
  | 'int' // a whole number, negative allowed
  | 'uint' // a whole number >= 0
  | 'number' // any number, `.inf` allowed
  | 'stringList' // a sequence of scalars
  | 'stringMap'; // a mapping of scalar keys to scalar values

/** ParamSpec describes one parameter of a resource kind. */
export interface ParamSpec {
  readonly type: ParamType;
  /** One line saying what the parameter does. */
  readonly doc: string;
  /** Dead upstream keys we accept silently with a warning that they have no effect. */
  readonly deprecated?: string;
}

/** ParamProblem is one reason a set of parameters is invalid. */
export interface ParamProblem {
  readonly param: string;
  readonly reason: string;
}

/** ResourceLogger writes messages that carry the resource id; fields become event-log keys. */
export interface ResourceLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** WatchPathOptions tunes a path watch. */
export interface WatchPathOptions {
  /** Also report changes anywhere below the path when it is a directory. */
  readonly recursive?: boolean;
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
  /** What hosts share (exported resources, string keys); the local World when there is no cluster. */
  readonly world?: World;
  /** Which package backend `pkg` uses (`--pkg-backend`); auto when absent. */
  readonly pkgBackend?: PkgBackendChoice;
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

/** LiveResource is the running part of a resource, created by `init`. */
export interface LiveResource {
  /**
   * watch emits once when the resource's watches are established (ready), then once per possible
   * change. A spurious emission is fine; a missed change is a bug. An error is a watch failure
   * (retried by the engine with the retry/delay meta params).
   */
  watch(): Observable<void>;
  /**
   * checkApply returns true when the state was already correct; false when it was wrong and, if
   * `apply`, is now fixed. It throws on failure and honours `signal` (abort = stop promptly).
   */
  checkApply(apply: boolean, signal: AbortSignal): Promise<boolean>;
  /** cleanup releases whatever init took (processes, handles). */
  cleanup?(): Promise<void>;
}

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
}

/** AutoEdgeEnv is what an autoedge prefetch may need to know of the run. */
export interface AutoEdgeEnv {
  /** Which package backend the run uses (`--pkg-backend`); auto when absent. */
  readonly pkgBackend?: PkgBackendChoice;
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
  prefetch?(resources: readonly PrefetchItem<P>[], env: AutoEdgeEnv): Promise<void>;
  /**
   * prefetchUsefulWith names the kinds whose resources what `prefetch` reads can connect to (a
   * package's files: file, svc, exec). A graph holding none of them skips the prefetch: a one-shot
   * run of packages alone then starts without asking the package manager for edges it cannot have.
   * Absent: always prefetch.
   */
  readonly prefetchUsefulWith?: readonly string[];
}

/** GroupMember is one resource inside a group: its name, parameters and context. */
export interface GroupMember<P> {
  readonly name: string;
  readonly params: P;
  readonly ctx: ResourceContext;
}

/**
 * GroupLiveResource is the running part of a group: one watch for all members and one checkApply
 * that handles them together (three packages in one transaction), reporting each member's result.
 */
export interface GroupLiveResource {
  watch(): Observable<void>;
  /** Resolves to one result per member, in member order (true = that member was already right). */
  checkApply(apply: boolean, signal: AbortSignal): Promise<readonly boolean[]>;
  cleanup?(): Promise<void>;
}

/** GroupTrait lets a kind's resources be grouped automatically and run as one. */
export interface GroupTrait<P> {
  /** compatible says whether two resources of this kind may share a group. */
  compatible(a: P, b: P): boolean;
  /**
   * key, when given, buckets resources so `compatible` is only asked within a bucket (thousands of
   * resources that mostly cannot group cost O(n), not O(n²)); it must never separate two resources
   * `compatible` would group. undefined = this resource never groups.
   */
  key?(params: P): string | undefined;
  /**
   * init runs a whole group at once. Without it the engine runs each member's own checkApply in
   * turn, with their watches merged: right for kinds that group for fewer runs, not transactions.
   */
  init?(members: readonly GroupMember<P>[]): GroupLiveResource;
}

/** ResourceKind is the definition of one kind, in lifecycle order. */
export interface ResourceKind<P extends object = Record<string, unknown>> {
  readonly kind: string;
  /** One line saying what the kind manages. */
  readonly doc: string;
  /** The parameters the kind accepts, by YAML key. */
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** defaults returns the parameters a resource named `name` has before the YAML's are applied. */
  defaults(name: string): P;
  /** validate returns every problem with the parameters; empty = valid. */
  validate(params: P): ParamProblem[];
  /**
   * validateName, for kinds whose name is what they manage (a package, an account), returns every
   * problem with the name given the parameters, as `name` problems; validateResource calls both.
   */
  validateName?(name: string, params: P): ParamProblem[];
  /** init creates the live resource. It must not touch the system (checkApply does that). */
  init(params: P, ctx: ResourceContext): LiveResource;
  /** refreshable: a pending refresh over a `notify` edge makes the engine run checkApply again. */
  readonly refreshable?: boolean;
  /**
   * notifiesAllEdges: a change of this resource refreshes its children over every outgoing edge,
   * not only `notify` edges (a timer tick re-runs the exec it points at).
   */
  readonly notifiesAllEdges?: boolean;
  /**
   * parallelism caps how many checkApplys of this kind run at once. For kinds whose work queues on
   * libuv's small thread pool anyway (file I/O), thousands in flight only cost memory and GC.
   */
  readonly parallelism?: number;
  /** autoedge: this kind's resources get automatic edges (meta autoedge and --no-autoedges turn it off). */
  readonly autoedge?: AutoEdgeTrait<P>;
  /** group: this kind's resources may be grouped (meta autogroup and --no-autogroup turn it off). */
  readonly group?: GroupTrait<P>;
}

/** AnyResourceKind is a kind whose parameter type is not known statically. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyResourceKind = ResourceKind<any>;
