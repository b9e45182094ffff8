// Counting semaphores shared by the whole graph (meta `sema`, and a kind's own `parallelism`). Ids
// are locked in sorted order so two resources holding overlapping sets can never deadlock.

/** semaphoreSize reads the count after the last `:` of an id (`"lock:3"` → 3); default 1. */
export function semaphoreSize(id: string): number {
  const colon = id.lastIndexOf(':');
  if (colon < 0) return 1;
  const count = Number(id.slice(colon + 1));
  return Number.isInteger(count) && count > 0 ? count : 1;
}

/** Release gives back every semaphore a take or a wait took; calling it again does nothing. */
export type Release = () => void;

/** SemaphoreWait is a wait for a set of semaphores: its release once all are taken, or its cancel. */
export interface SemaphoreWait {
  /** granted resolves to the release once every semaphore is taken; a cancel rejects it. */
  readonly granted: Promise<Release>;
  /** cancel ends a wait not yet granted, gives back what it took and rejects `granted` with `reason`; after the grant it does nothing. */
  cancel(reason: unknown): void;
}

class Semaphore {
  free: number;
  // First come, first served: an array read from `head`. A cancelled waiter is left in it and
  // skipped when its turn comes (it waits here no more), so a cancel is O(1) and so is a release.
  // A Set whose first entry was taken at each release was scanned from its start past every entry
  // deleted before: 10,000 waiters released one by one took 18 ms, 100,000 took 2.3 s.
  private waiters: (Waiter | undefined)[] = [];
  private head = 0;
  /** Cancelled waiters still in `waiters`: compacted away once they are half of it. */
  private stale = 0;

  constructor(size: number) {
    this.free = size;
  }

  /** tryTake takes one unit if one is free (then nobody waits: a release hands its unit to a waiter). */
  tryTake(): boolean {
    if (this.free === 0) return false;
    this.free--;
    return true;
  }

  enqueue(waiter: Waiter): void {
    this.waiters.push(waiter);
  }

  /** dequeue is told that a waiter queued here no longer waits (it is skipped at its turn). */
  dequeue(): void {
    this.stale++;
    if (this.stale > 64 && this.stale * 2 > this.waiters.length - this.head) {
      this.waiters = this.waiters.slice(this.head).filter((waiter) => waiter!.isQueuedOn(this));
      this.head = 0;
      this.stale = 0;
    }
  }

  release(): void {
    while (this.head < this.waiters.length) {
      const next = this.waiters[this.head]!;
      this.waiters[this.head++] = undefined;
      const waits = next.isQueuedOn(this);
      if (!waits) this.stale--;
      // The part already served is dropped now and then, so a queue that never empties stays small.
      if (this.head === this.waiters.length) {
        this.waiters = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters = this.waiters.slice(this.head);
        this.head = 0;
      }
      if (waits) {
        next.grant();
        return;
      }
    }
    this.free++;
  }
}

const NOTHING_TO_RELEASE: Release = () => undefined;

/** releaserOf gives back `held` in reverse order, once. */
function releaserOf(held: Semaphore[]): Release {
  return () => {
    for (const sema of held.splice(0).reverse()) sema.release();
  };
}

/** Grantee is told, once, that a queued wait now holds every semaphore it asked for. */
export interface Grantee {
  slotsGranted(release: Release): void;
}

/** QueuedWait is a wait that tells its grantee (no promise); cancel ends it while it waits. */
export interface QueuedWait {
  /** cancel ends a wait not yet granted and gives back what it took; true if it was still waiting. */
  cancel(): boolean;
}

/**
 * Waiter takes its semaphores in order, queued on each that has no unit free, and tells its
 * grantee once it holds them all. One object per wait (its state in fields, not in closures):
 * 10,000 checks may wait at once.
 */
class Waiter implements QueuedWait {
  private readonly semas: readonly Semaphore[];
  private readonly held: Semaphore[] = [];
  /** The semaphore it is queued on, while it waits. */
  private queuedOn: Semaphore | undefined;

  constructor(
    semas: readonly Semaphore[],
    private readonly grantee: Grantee,
  ) {
    this.semas = semas;
    this.takeRest();
  }

  /** grant is a release handing this waiter the unit it queued for. */
  grant(): void {
    this.held.push(this.queuedOn!);
    this.queuedOn = undefined;
    this.takeRest();
  }

  cancel(): boolean {
    const queuedOn = this.queuedOn;
    if (!queuedOn) return false;
    this.queuedOn = undefined;
    queuedOn.dequeue();
    releaserOf(this.held)();
    return true;
  }

  /** isQueuedOn says whether this waiter waits for `sema` now. */
  isQueuedOn(sema: Semaphore): boolean {
    return this.queuedOn === sema;
  }

  private takeRest(): void {
    const { semas, held } = this;
    let i = held.length;
    while (i < semas.length && semas[i]!.tryTake()) held.push(semas[i++]!);
    if (i === semas.length) {
      this.grantee.slotsGranted(releaserOf(held));
      return;
    }
    this.queuedOn = semas[i]!;
    this.queuedOn.enqueue(this);
  }
}

/** PromisedWait is a Waiter whose grant resolves a promise. */
class PromisedWait implements SemaphoreWait, Grantee {
  readonly granted: Promise<Release>;
  private readonly waiter: Waiter;
  private resolve!: (release: Release) => void;
  private reject!: (reason: unknown) => void;

  constructor(semas: readonly Semaphore[]) {
    this.granted = new Promise<Release>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.waiter = new Waiter(semas, this);
  }

  slotsGranted(release: Release): void {
    this.resolve(release);
  }

  cancel(reason: unknown): void {
    if (this.waiter.cancel()) this.reject(reason);
  }
}

/** Semaphores hands out the graph-global counting semaphores by id. */
export class Semaphores {
  private readonly table = new Map<string, Semaphore>();
  // Each resource asks with the same ids array every time: sorting and looking them up once per
  // array, not per check.
  private readonly prepared = new WeakMap<readonly string[], readonly Semaphore[]>();
  // The last ids asked for, and their semaphores: a graph's vertices mostly share their kind's list,
  // and the WeakMap lookup was most of a take's cost.
  private lastIds: readonly string[] | undefined;
  private lastSemas: readonly Semaphore[] = [];

  /**
   * take takes every semaphore in `ids` at once when each has a unit free, and returns their
   * release; otherwise it takes nothing and returns undefined. It allocates nothing for no ids.
   */
  take(ids: readonly string[]): Release | undefined {
    if (ids.length === 0) return NOTHING_TO_RELEASE;
    const semas = this.semaphoresOf(ids);
    for (let i = 0; i < semas.length; i++) if (semas[i]!.free === 0) return undefined;
    for (let i = 0; i < semas.length; i++) semas[i]!.free--;
    return releaserOf(semas.slice());
  }

  /**
   * wait takes every semaphore in `ids` (sorted, each once), waiting in turn for each that has no
   * unit free. Its cancel is the caller's to call: a waiter needs no abort listener, which cost
   * an EventTarget listener per waiting check (9,968 of them for 10,000 files and a kind's 32 slots).
   */
  wait(ids: readonly string[]): SemaphoreWait {
    return new PromisedWait(this.semaphoresOf(ids));
  }

  /**
   * queue takes every semaphore in `ids` like wait, and tells `grantee` when it holds them all
   * (at once, before queue returns, when every one is free). No promise, no closure: the engine
   * parks a worker here as itself until it holds its slots.
   */
  queue(ids: readonly string[], grantee: Grantee): QueuedWait {
    return new Waiter(this.semaphoresOf(ids), grantee);
  }

  /**
   * acquire takes every semaphore in `ids` (sorted, each once) and resolves to a function that
   * releases them all. An abort while waiting (or before) releases what was taken, only that, and
   * rejects with the signal's reason.
   */
  async acquire(ids: readonly string[], signal?: AbortSignal): Promise<Release> {
    signal?.throwIfAborted();
    const wait = this.wait(ids);
    if (!signal) return wait.granted;
    const onAbort = (): void => wait.cancel(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await wait.granted;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private semaphoresOf(ids: readonly string[]): readonly Semaphore[] {
    if (ids === this.lastIds) return this.lastSemas;
    let semas = this.prepared.get(ids);
    if (!semas) semas = this.prepare(ids);
    this.lastIds = ids;
    this.lastSemas = semas;
    return semas;
  }

  private prepare(ids: readonly string[]): readonly Semaphore[] {
    const semas = [...new Set(ids)].sort().map((id) => {
      let sema = this.table.get(id);
      if (!sema) {
        sema = new Semaphore(semaphoreSize(id));
        this.table.set(id, sema);
      }
      return sema;
    });
    this.prepared.set(ids, semas);
    return semas;
  }
}
