import { Observable, of, Subscription } from 'rxjs';

/**
 * whenAllReady merges watch streams whose first emission means "ready": it emits once when every
 * source has emitted at least once (all watches established), then once per later emission of
 * any source. Emissions of a source that is ready while others are still starting are covered by
 * that single ready emission (the first check follows it). It errors when any source errors and
 * completes when all have completed; with no sources it emits once and completes.
 */
export function whenAllReady<T>(sources: readonly Observable<T>[]): Observable<void> {
  if (sources.length === 0) return of(undefined);
  return new Observable<void>((subscriber) => {
    const subscription = new Subscription();
    const ready = sources.map(() => false);
    let starting = sources.length;
    let running = sources.length;
    sources.forEach((source, index) => {
      subscription.add(
        source.subscribe({
          next: () => {
            if (!ready[index]) {
              ready[index] = true;
              starting -= 1;
              if (starting === 0) subscriber.next();
            } else if (starting === 0) {
              subscriber.next();
            }
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            running -= 1;
            if (running === 0) subscriber.complete();
          },
        }),
      );
    });
    return subscription;
  });
}
