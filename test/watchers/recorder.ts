import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import type { FsWatcher } from '../../src/watchers/fs.js';

/** Recorder counts the emissions of one subscription and lets a test wait for them. */
export interface Recorder {
  /** Emissions so far (the first one is "ready"). */
  readonly count: number;
  /** The error the stream ended with, if any. */
  readonly error: unknown;
  /** next resolves at the first emission after the call; rejects on a stream error or after `ms`. */
  next(ms?: number): Promise<void>;
  /** failed resolves with the stream's error; rejects after `ms`. */
  failed(ms?: number): Promise<unknown>;
  unsubscribe(): void;
}

/** record subscribes to `source$` and records what it emits. */
export function record(source$: Observable<void>): Recorder {
  let count = 0;
  let error: unknown;
  let waiters: Array<() => void> = [];
  const wake = (): void => {
    const current = waiters;
    waiters = [];
    for (const waiter of current) waiter();
  };

  // until resolves once `settled` returns a value; a throw from `settled` rejects.
  const until = <T>(ms: number, what: string, settled: () => T | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      const check = (): void => {
        let value: T | undefined;
        try {
          value = settled();
        } catch (err) {
          clearTimeout(timer);
          reject(err);
          return;
        }
        if (value === undefined) {
          waiters.push(check);
          return;
        }
        clearTimeout(timer);
        resolve(value);
      };
      check();
    });

  const subscription = source$.subscribe({
    next: () => {
      count++;
      wake();
    },
    error: (err: unknown) => {
      error = err ?? new Error('the stream failed');
      wake();
    },
  });

  return {
    get count() {
      return count;
    },
    get error() {
      return error;
    },
    async next(ms = 5000) {
      const target = count + 1;
      await until(ms, `event #${target}`, () => {
        if (error !== undefined) throw error;
        return count >= target ? true : undefined;
      });
    },
    failed(ms = 5000) {
      return until(ms, 'an error', () => error);
    },
    unsubscribe: () => subscription.unsubscribe(),
  };
}

/** eventually polls `condition` every few milliseconds until it holds; rejects after `ms`. */
export async function eventually(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

let fences = 0;

/**
 * settled resolves once every event of `dir` so far has been delivered through `watcher`: it
 * creates a file of a new name there, whose first event inotify delivers after them.
 */
export function settled(watcher: FsWatcher, dir: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const path = join(dir, `fence-${++fences}`);
    let seen = 0;
    const subscription = watcher.watchPath(path).subscribe(() => {
      if (++seen < 2) return; // the first is "ready"
      subscription.unsubscribe();
      resolve();
    });
    writeFileSync(path, '');
  });
}
