import { Observable, type Subscriber, type Unsubscribable } from 'rxjs';

/** PathObserver is what a path's watch tells: `next` once it is ready and at each change, `error` once if it fails. */
export interface PathObserver {
  next(): void;
  error(err: unknown): void;
}

/** OwnRenames lets a writer say that the next rename onto a watched path is its own. */
export interface OwnRenames {
  /**
   * expectOwnRename announces that the caller is about to rename a file onto the path: the event
   * of that rename tells the watch's subscriber nothing it does not know, so it is not passed on.
   */
  expectOwnRename(): void;
  /** cancelOwnRename takes the announcement back: the rename failed. */
  cancelOwnRename(): void;
}

/** PathSubscription is one watch of a path: its end, and the writer's announcements. */
export interface PathSubscription extends Unsubscribable, OwnRenames {}

/** PathSource sets up the watch of a path for one observer (the shared file watcher, fs.ts). */
export interface PathSource {
  /** observe watches `target` for `observer` (ready at once, or an error) and returns its end. */
  observe(observer: PathObserver, target: string, recursive: boolean): PathSubscription;
}

/**
 * PathWatch is the Observable of one watched path (FsWatcher.watchPath). Its `observe` watches it
 * without an rxjs subscriber: the engine's workers use it, as a subscription's SafeSubscriber,
 * its observer wrapper and its finalizer list (a 17-slot array for one teardown) were ~280 bytes
 * per file that a 10,000-file swap promoted to the old space. A subscription to it holds nothing
 * but the watcher's own registration, so a process about to exit may leave it to the watcher's
 * release instead of ending each one (FsWatcher.release).
 */
export class PathWatch extends Observable<void> implements OwnRenames {
  // The latest subscription: a resource's watch has one at a time (a retry subscribes anew).
  private latest: PathSubscription | undefined;

  constructor(
    private readonly paths: PathSource,
    private readonly target: string,
    private readonly recursive: boolean,
  ) {
    // One shared subscribe function, called on the observable itself: no closure per watch.
    super(subscribePathWatch);
  }

  /** observe watches the path for `observer` as a subscription would, and returns its end. */
  observe(observer: PathObserver): Unsubscribable {
    return (this.latest = this.paths.observe(observer, this.target, this.recursive));
  }

  expectOwnRename(): void {
    this.latest?.expectOwnRename();
  }

  cancelOwnRename(): void {
    this.latest?.cancelOwnRename();
  }
}

function subscribePathWatch(this: Observable<void>, subscriber: Subscriber<void>): Unsubscribable {
  return (this as unknown as PathWatch).observe(subscriber);
}
