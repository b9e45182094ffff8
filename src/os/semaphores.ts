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
  // A Set, not an array: a cancelled waiter leaves in O(1), where indexOf made stopping 10,000
  // waiters quadratic. Insertion order keeps the queue first come, first served.
  private readonly waiters = new Set<() => void>();

  constructor(size: number) {
    this.free = size;
  }

  /** tryTake takes one unit if one is free (then nobody waits: a release hands its unit to a waiter). */
  tryTake(): boolean {
    if (this.free === 0) return false;
    this.free--;
    return true;
  }

  enqueue(grant: () => void): void {
    this.waiters.add(grant);
  }

  dequeue(grant: () => void): void {
    this.waiters.delete(grant);
  }

  release(): void {
    for (const next of this.waiters) {
      this.waiters.delete(next);
      next();
      return;
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

/** Semaphores hands out the graph-global counting semaphores by id. */
export class Semaphores {
  private readonly table = new Map<string, Semaphore>();
  // Each resource asks with the same ids array every time: sorting and looking them up once per
  // array, not per check.
  private readonly prepared = new WeakMap<readonly string[], readonly Semaphore[]>();

  /**
   * take takes every semaphore in `ids` at once when each has a unit free, and returns their
   * release; otherwise it takes nothing and returns undefined. It allocates nothing for no ids.
   */
  take(ids: readonly string[]): Release | undefined {
    if (ids.length === 0) return NOTHING_TO_RELEASE;
    const semas = this.semaphoresOf(ids);
    for (const sema of semas) if (sema.free === 0) return undefined;
    for (const sema of semas) sema.free--;
    return releaserOf([...semas]);
  }

  /**
   * wait takes every semaphore in `ids` (sorted, each once), waiting in turn for each that has no
   * unit free. Its cancel is the caller's to call: a waiter needs no abort listener, which cost
   * an EventTarget listener per waiting check (9,968 of them for 10,000 files and a kind's 32 slots).
   */
  wait(ids: readonly string[]): SemaphoreWait {
    const semas = this.semaphoresOf(ids);
    const held: Semaphore[] = [];
    let waitingOn: { readonly sema: Semaphore; readonly grant: () => void } | undefined;
    let fail: (reason: unknown) => void = () => undefined;
    const granted = new Promise<Release>((resolve, reject) => {
      fail = reject;
      const takeFrom = (first: number): void => {
        let i = first;
        while (i < semas.length && semas[i]!.tryTake()) held.push(semas[i++]!);
        if (i === semas.length) {
          waitingOn = undefined;
          resolve(releaserOf(held));
          return;
        }
        const sema = semas[i]!;
        const grant = (): void => {
          held.push(sema);
          takeFrom(i + 1);
        };
        waitingOn = { sema, grant };
        sema.enqueue(grant);
      };
      takeFrom(0);
    });
    const cancel = (reason: unknown): void => {
      if (!waitingOn) return;
      waitingOn.sema.dequeue(waitingOn.grant);
      waitingOn = undefined;
      releaserOf(held)();
      fail(reason);
    };
    return { granted, cancel };
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
    let semas = this.prepared.get(ids);
    if (semas) return semas;
    semas = [...new Set(ids)].sort().map((id) => {
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
