// Shared, ref-counted inotify watches on directories (one fs.watch handle per directory, however
// many subscribers), with recwatch-style climbing: a directory that does not exist yet is waited
// for through its parent (which may itself be waiting on its own parent), and is watched directly
// as soon as it appears; when it disappears again the watch climbs back up.
//
// Why fs.watch and why directories: measured on this machine (Node 20, ext4, inotify), fs.watch
// delivers a write 0.12 ms after the write returns (p50; p99 2.9 ms), while @parcel/watcher
// batches (p50 51 ms) and saw a write under a directory created with `mkdir -p a/b/c` only 2 times
// out of 20. inotify on a directory also reports every entry in it (create, write, attrib, delete,
// rename), so 10,000 files in one directory cost one watch instead of 10,000.
//
// What fs.watch reports here (measured): on the parent, every change of an entry by its name,
// with 'rename'/'change' unreliable for directories (chmod of a subdirectory arrives as 'rename');
// on a directory's own watch, its own deletion, move and attribute changes arrive under its own
// basename (ambiguous with an entry of the same name, so we stat to tell them apart); a watch
// follows a moved directory's inode, so a move must be detected by comparing inodes.

import { readFileSync, watch, statSync, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { atTurnEnd } from '../os/turn.js';

// Lost events. libuv reads every inotify event of the process through one queue (its size is
// fs.inotify.max_queued_events), and when the queue overflows it drops the kernel's IN_Q_OVERFLOW
// (wd -1) without a word: the events lost with it would leave drift unrepaired for good (seen: a
// file deleted in a storm of changes under 1,000 watched files stayed missing). An overflow is only
// ever read with a full queue before it, and libuv drains the queue within one turn of the event
// loop, so a turn that delivers at least half the limit is taken for one: every watch re-syncs.
const DEFAULT_QUEUE_LIMIT = 16_384;
let suspectOverflowAt: number | undefined;
let eventsThisTurn = 0;
// Every registry with a watch: an overflow loses the events of all of them alike.
const liveRegistries = new Set<DirWatches>();

/** countEvent counts one delivered event towards this turn's. */
function countEvent(): void {
  if (eventsThisTurn++ === 0) atTurnEnd(resyncIfOverflowed);
}

/** resyncIfOverflowed ends a turn of events: one that delivered enough to have overflowed the queue re-syncs every watch. */
function resyncIfOverflowed(): void {
  const events = eventsThisTurn;
  eventsThisTurn = 0;
  suspectOverflowAt ??= Math.floor(queueLimit() / 2);
  if (events < suspectOverflowAt) return;
  for (const registry of [...liveRegistries]) registry.resync(events);
}

/** queueLimit reads fs.inotify.max_queued_events (the kernel's default when it cannot be read). */
function queueLimit(): number {
  try {
    const limit = Number.parseInt(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'), 10);
    return Number.isSafeInteger(limit) && limit > 0 ? limit : DEFAULT_QUEUE_LIMIT;
  } catch {
    return DEFAULT_QUEUE_LIMIT;
  }
}

/** DirWatchesOptions configures a registry of directory watches. */
export interface DirWatchesOptions {
  /**
   * onResync hears that a turn delivered `events` events, enough that the queue may have
   * overflowed, and that every watch is about to report a change of anything it watches.
   */
  onResync?(events: number): void;
}

/** DirListener receives the events of one watched directory. */
export interface DirListener {
  /**
   * change says entry `name` may have changed; `undefined` means anything in the directory may
   * have. `renamed` is inotify's word that the entry was created, removed or renamed (fs.watch's
   * 'rename'), not only written or chmod-ed.
   */
  change(name: string | undefined, renamed: boolean): void;
  /** error reports that the watch failed; the listener receives nothing after it. */
  error(err: unknown): void;
}

/**
 * DirRegistration is one listener's registration at a directory, for one entry name or every entry
 * (null). A listener may be its own registration, and its unsubscribe an rxjs teardown: fs.ts's
 * one object per watched path, where a registration, a listener and a release closure (with its
 * context) were four, ~100 bytes more per file that 10,000 files' swap promoted to the old space.
 */
export abstract class DirRegistration implements DirListener {
  /** Registered, and not removed since. */
  live = false;
  /** The directory's node it is registered at. */
  node: DirNode | undefined;

  constructor(readonly name: string | null) {}

  abstract change(name: string | undefined, renamed: boolean): void;
  abstract error(err: unknown): void;

  /** unsubscribe ends the registration; again, or before it was registered, it does nothing. */
  unsubscribe(): void {
    this.node?.remove(this);
  }
}

/** ListenerRegistration registers a plain listener (listen). */
class ListenerRegistration extends DirRegistration {
  constructor(
    name: string | null,
    private readonly listener: DirListener,
  ) {
    super(name);
  }

  change(name: string | undefined, renamed: boolean): void {
    this.listener.change(name, renamed);
  }

  error(err: unknown): void {
    this.listener.error(err);
  }
}

/** DirWatches is a registry of shared directory watches; see `listen`. */
export class DirWatches {
  private readonly nodes = new Map<string, DirNode>();
  private handles = 0;

  constructor(private readonly options: DirWatchesOptions = {}) {}

  /**
   * listen subscribes `listener` to the entry `name` of directory `dir` (or to every entry when
   * `name` is null) and returns the function that unsubscribes it. The watch is established when
   * listen returns, even if `dir` does not exist yet. It throws when the watch cannot be set up.
   */
  listen(dir: string, name: string | null, listener: DirListener): () => void {
    const registration = new ListenerRegistration(name, listener);
    this.register(dir, registration);
    return () => registration.unsubscribe();
  }

  /**
   * register registers `registration` (not registered before) at directory `dir`, for its name,
   * as listen does; its unsubscribe ends it. It throws when the watch cannot be set up.
   */
  register(dir: string, registration: DirRegistration): void {
    let node = this.nodes.get(dir);
    const fresh = node === undefined;
    if (node === undefined) {
      node = new DirNode(this, dir);
      this.nodes.set(dir, node);
      liveRegistries.add(this);
    }
    node.add(registration);
    if (fresh) {
      try {
        node.start();
      } catch (err) {
        node.remove(registration);
        node.dispose();
        throw err;
      }
    }
  }

  /** handleCount returns the number of open fs.watch handles. */
  handleCount(): number {
    return this.handles;
  }

  /** dirCount returns the number of directories watched or waited for (open handles or not). */
  dirCount(): number {
    return this.nodes.size;
  }

  /** releaseAll closes every handle and drops every watch, telling no listener. */
  releaseAll(): void {
    for (const node of [...this.nodes.values()]) node.dispose();
  }

  /** closeAll fails every watch with `err` and closes every handle. */
  closeAll(err: Error): void {
    for (const node of [...this.nodes.values()]) node.fail(err);
  }

  /** @internal */
  opened(): void {
    this.handles++;
  }

  /** @internal */
  closed(): void {
    this.handles--;
  }

  /**
   * resync treats every watch as having missed its events (the queue may have overflowed after
   * `events` in one turn): every watched directory is watched anew (a moved or deleted one at
   * whatever its path names now), a waited-for one is looked for again, and every listener hears
   * that anything may have changed.
   */
  resync(events: number): void {
    this.options.onResync?.(events);
    for (const node of [...this.nodes.values()]) node.resync();
  }

  /** @internal */
  forget(node: DirNode): void {
    if (this.nodes.get(node.path) === node) this.nodes.delete(node.path);
    if (this.nodes.size === 0) liveRegistries.delete(this);
  }

  /**
   * @internal A watched directory was deleted or moved: a watch below it follows the moved inode
   * and would never hear of it, so each one re-checks that its path still names what it watches.
   */
  revalidateBelow(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const node of [...this.nodes.values()]) {
      if (node.path.startsWith(prefix)) node.revalidate();
    }
  }
}

/** DirNode is the watch of one directory path: armed (an fs.watch handle) or waiting (on its parent). */
class DirNode {
  // A name's one registration is held as itself, several in an array: the 10,000 files of one
  // directory each listen to their own name, and with a Set per name, a count per listener in a
  // Map keyed by the listener (and two closures per listener, fs.ts) a watched file held 1,450
  // bytes of heap, 700 now, and 20,000 of them took twice as long to release.
  private readonly byName = new Map<string, DirRegistration | DirRegistration[]>();
  private readonly anyName = new Set<DirRegistration>();
  /** Live registrations, by name or not. */
  private count = 0;
  private readonly base: string;
  private handle: FSWatcher | undefined;
  private identity: Pick<Stats, 'dev' | 'ino'> | undefined;
  private releaseParent: (() => void) | undefined;
  private dead = false;

  constructor(
    private readonly registry: DirWatches,
    readonly path: string,
  ) {
    this.base = basename(path);
  }

  /** add registers `registration` for its entry name (every entry when null); remove takes it back. */
  add(registration: DirRegistration): void {
    registration.live = true;
    registration.node = this;
    this.count++;
    const { name } = registration;
    if (name === null) {
      this.anyName.add(registration);
      return;
    }
    const held = this.byName.get(name);
    if (held === undefined) this.byName.set(name, registration);
    else if (Array.isArray(held)) held.push(registration);
    else this.byName.set(name, [held, registration]);
  }

  /** remove ends a registration (again: nothing); the node is disposed with its last one. */
  remove(registration: DirRegistration): void {
    if (!registration.live) return;
    registration.live = false;
    this.count--;
    const { name } = registration;
    if (name === null) this.anyName.delete(registration);
    else {
      const held = this.byName.get(name);
      if (held === registration) this.byName.delete(name);
      else if (Array.isArray(held)) {
        const left = held.filter((other) => other !== registration);
        this.byName.set(name, left.length === 1 ? left[0]! : left);
      }
    }
    if (!this.dead && this.count === 0) this.dispose();
  }

  /** start arms the watch or, when the directory does not exist, waits for it through its parent. */
  start(): void {
    if (!this.arm()) this.wait();
  }

  /** dispose releases the handle or the parent subscription; the node is unusable afterwards. */
  dispose(): void {
    if (this.dead) return;
    this.dead = true;
    this.registry.forget(this);
    this.disarm();
    this.stopWaiting();
  }

  /** fail disposes the node and passes `err` to every listener. */
  fail(err: unknown): void {
    if (this.dead) return;
    const registrations = this.allRegistrations();
    this.dispose();
    for (const registration of registrations) registration.error(err);
  }

  /**
   * resync acts as the missed events would have, then reports a change of anything: a waiting
   * node tries again, an armed one re-arms on whatever the path names now (a directory replaced
   * by one that took its inode number looks unmoved, and its lost deletion was the only word).
   */
  resync(): void {
    if (this.dead) return;
    if (this.handle === undefined) this.retry();
    else this.rearm();
  }

  /** armed says whether the directory has its own handle (rather than waiting on its parent). */
  get armed(): boolean {
    return this.handle !== undefined;
  }

  /** revalidate re-arms when the path no longer names the directory being watched. */
  revalidate(): void {
    if (!this.dead && this.handle !== undefined && this.moved()) this.rearm();
  }

  /** arm opens the fs.watch handle; false when the path is not (yet) a directory. */
  private arm(): boolean {
    let handle: FSWatcher;
    try {
      handle = watch(this.path, { persistent: true });
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    // Stat after the watch exists, so a change between the two is seen by the watch; fs.watch
    // accepts a regular file too, so this is also where a file in the way is told apart.
    let stats: Stats;
    try {
      stats = statSync(this.path);
    } catch (err) {
      handle.close();
      if (isMissing(err)) return false;
      throw err;
    }
    if (!stats.isDirectory()) {
      handle.close();
      return false;
    }
    handle.on('change', (type, name) => this.onEvent(typeof name === 'string' ? name : undefined, type === 'rename'));
    handle.on('error', (err) => this.fail(err));
    this.handle = handle;
    this.identity = { dev: stats.dev, ino: stats.ino };
    this.registry.opened();
    return true;
  }

  private disarm(): void {
    if (this.handle === undefined) return;
    this.handle.close();
    this.handle = undefined;
    this.identity = undefined;
    this.registry.closed();
  }

  /** wait subscribes to the parent for this directory's name, then checks once more (race). */
  private wait(): void {
    if (this.path === '/' || this.path === dirname(this.path)) {
      throw new Error(`${this.path} is not a directory`);
    }
    this.releaseParent = this.registry.listen(dirname(this.path), this.base, {
      change: () => this.retry(),
      error: (err) => this.fail(err),
    });
    // The directory may have appeared between the failed arm and the parent's watch.
    this.retry();
  }

  private stopWaiting(): void {
    const release = this.releaseParent;
    this.releaseParent = undefined;
    release?.();
  }

  /** retry tries to arm a waiting node; on success everything in it may be new. */
  private retry(): void {
    if (this.dead || this.handle !== undefined) return;
    let armed: boolean;
    try {
      armed = this.arm();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!armed) return;
    this.stopWaiting();
    this.notify(undefined);
  }

  /**
   * rearm replaces the handle by one on whatever directory the path names now. The new handle is
   * opened before the old one is closed: for the same inode libuv shares the inotify watch, so no
   * event falls in between.
   */
  private rearm(): void {
    const old = this.handle;
    const moved = this.moved();
    this.handle = undefined;
    this.identity = undefined;
    let armed = false;
    let failure: unknown;
    try {
      armed = this.arm();
    } catch (err) {
      failure = err;
    }
    if (old !== undefined) {
      old.close();
      this.registry.closed();
    }
    if (failure !== undefined) {
      this.fail(failure);
      return;
    }
    if (moved) this.registry.revalidateBelow(this.path);
    if (!armed && !this.dead) {
      try {
        this.wait();
      } catch (err) {
        this.fail(err);
        return;
      }
    }
    if (!this.dead) this.notify(undefined);
  }

  private onEvent(name: string | undefined, renamed: boolean): void {
    countEvent();
    if (this.dead) return;
    // Our own deletion, move or chmod arrives under our own basename, indistinguishable here from
    // a change of an entry of that name. The inode number cannot tell a live watch from a dead
    // one either: ext4 hands a deleted directory's inode number to the next mkdir (seen in the
    // tests). So any such event re-arms, and everything in the directory may have changed.
    if (name === undefined || name === this.base) {
      this.rearm();
      return;
    }
    this.notify(name, renamed);
  }

  /** moved says whether the path no longer names the directory the handle watches. */
  private moved(): boolean {
    try {
      const stats = statSync(this.path);
      return !stats.isDirectory() || stats.ino !== this.identity?.ino || stats.dev !== this.identity.dev;
    } catch {
      return true;
    }
  }

  private notify(name: string | undefined, renamed = true): void {
    // Most events name one file's registration, or none (the agent's own temp files): no array.
    if (name !== undefined && this.anyName.size === 0) {
      const named = this.byName.get(name);
      if (named === undefined) return;
      if (!Array.isArray(named)) {
        if (!this.dead && named.live) named.change(name, renamed);
        return;
      }
    }
    const registrations: DirRegistration[] = [];
    if (name === undefined) {
      registrations.push(...this.allRegistrations());
    } else {
      const named = this.byName.get(name);
      if (Array.isArray(named)) registrations.push(...named);
      else if (named !== undefined) registrations.push(named);
      registrations.push(...this.anyName);
    }
    for (const registration of registrations) {
      // A registration removed by an earlier listener in this loop must not hear the event.
      if (this.dead || !registration.live) continue;
      registration.change(name, renamed);
    }
  }

  private allRegistrations(): DirRegistration[] {
    const registrations = [...this.anyName];
    for (const held of this.byName.values()) {
      if (Array.isArray(held)) registrations.push(...held);
      else registrations.push(held);
    }
    return registrations;
  }
}

/** isMissing says whether an fs error means "no such directory (yet)". */
function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
