// The World of an agent whose own etcd is still starting: local resources must not wait for it
// (docs/cluster.md), so until the real World is ready collecting finds nothing, exports are kept
// and written once it is, and string keys wait. When it becomes ready the resource watch fires, so
// a collecting graph is rebuilt with what the cluster holds.

import { concat, defer, EMPTY, from, type Observable, of, ReplaySubject, switchMap, takeUntil } from 'rxjs';
import type { ExportedResource, ExportSpec, World } from './types.js';

/** DeferredWorld stands in for a World that is still being made. */
export class DeferredWorld implements World {
  readonly hostname: string;
  private inner: World | undefined;
  private failure: Error | undefined;
  private readonly ready: Promise<World>;
  private pendingExport: readonly ExportSpec[] | undefined;
  private keptExportFailure: Error | undefined;
  private readonly closed$ = new ReplaySubject<void>(1);
  private closed = false;
  /** settled resolves once the World is ready (and kept exports are written or failed) or failed; it never rejects. */
  readonly settled: Promise<void>;

  constructor(hostname: string, world: Promise<World>) {
    this.hostname = hostname;
    this.ready = world.then(
      (inner) => {
        this.inner = inner;
        return inner;
      },
      (err: unknown) => {
        this.failure = err instanceof Error ? err : new Error(String(err));
        throw this.failure;
      },
    );
    this.ready.catch(() => undefined);
    // Never rejects: a failure is given to the exporters that wait on it.
    this.settled = this.ready.then(
      async (inner) => {
        const kept = this.pendingExport;
        this.pendingExport = undefined;
        if (kept === undefined || this.closed) return;
        try {
          await inner.exportResources(kept);
        } catch (err) {
          this.keptExportFailure = err instanceof Error ? err : new Error(String(err));
        }
      },
      () => undefined,
    );
  }

  /** isReady says whether the real World is in place. */
  get isReady(): boolean {
    return this.inner !== undefined;
  }

  async exportResources(resources: readonly ExportSpec[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.inner) {
      // A kept set may still be being written; this newer one must land after it, not under it.
      await this.settled;
      return this.inner.exportResources(resources);
    }
    // Written when the World is ready; only the latest set matters, and every caller waits for it.
    this.pendingExport = resources;
    await this.settled;
    if (this.failure) throw this.failure;
    if (this.keptExportFailure) throw this.keptExportFailure;
  }

  async collectResources(kinds: readonly string[], onProblem?: (problem: string) => void): Promise<ExportedResource[]> {
    if (this.inner) return this.inner.collectResources(kinds, onProblem);
    if (this.failure) onProblem?.(`nothing collected: ${this.failure.message}`);
    return [];
  }

  watchResources(): Observable<void> {
    return this.follow((world) => world.watchResources());
  }

  async strGet(key: string): Promise<string | undefined> {
    return (await this.ready).strGet(key);
  }

  async strSet(key: string, value: string): Promise<void> {
    return (await this.ready).strSet(key, value);
  }

  async strDel(key: string): Promise<void> {
    return (await this.ready).strDel(key);
  }

  strWatch(key: string): Observable<void> {
    return this.follow((world) => world.strWatch(key));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closed$.next();
    this.closed$.complete();
    if (this.inner) await this.inner.close();
    else void this.ready.then((inner) => inner.close(), () => undefined);
  }

  // follow emits "ready" at once (there is nothing to miss yet), then once the real World's watch is
  // established (what it holds is new to the watcher; emitting earlier could miss a change made
  // before that watch exists), then the real World's changes. A World that failed to
  // start has no changes to report; its failure is reported where it is awaited.
  private follow(watch: (world: World) => Observable<void>): Observable<void> {
    return defer(() => {
      if (this.inner) return watch(this.inner);
      const later = from(this.ready.catch(() => undefined)).pipe(
        switchMap((inner) => (inner === undefined ? EMPTY : watch(inner))),
      );
      return concat(of(undefined), later);
    }).pipe(takeUntil(this.closed$));
  }
}
