// Counting semaphores shared by the whole graph (meta `sema`). Ids are locked in sorted order so
// two resources holding overlapping sets can never deadlock.

/** semaphoreSize reads the count after the last `:` of an id (`"lock:3"` → 3); default 1. */
export function semaphoreSize(id: string): number {
  const colon = id.lastIndexOf(':');
  if (colon < 0) return 1;
  const count = Number(id.slice(colon + 1));
  return Number.isInteger(count) && count > 0 ? count : 1;
}

class Semaphore {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  /** acquire takes one unit, waiting for a release while none is free; an abort ends the wait and takes nothing. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    // An abort listener added to an already aborted signal never fires: the wait would never end.
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(grant);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

/** Semaphores hands out the graph-global counting semaphores by id. */
export class Semaphores {
  private readonly table = new Map<string, Semaphore>();

  /**
   * acquire takes every semaphore in `ids` (sorted, each once) and resolves to a function that
   * releases them all. An abort while waiting (or before) releases what was taken, only that, and
   * rejects with the signal's reason.
   */
  async acquire(ids: readonly string[], signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    const sorted = [...new Set(ids)].sort();
    const held: Semaphore[] = [];
    const releaseAll = (): void => {
      for (const sema of held.splice(0).reverse()) sema.release();
    };
    try {
      for (const id of sorted) {
        let sema = this.table.get(id);
        if (!sema) {
          sema = new Semaphore(semaphoreSize(id));
          this.table.set(id, sema);
        }
        await sema.acquire(signal);
        held.push(sema);
      }
    } catch (err) {
      releaseAll();
      throw err;
    }
    return releaseAll;
  }
}
