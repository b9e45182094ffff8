import { combineLatest, debounceTime, from, identity, map, type Observable, startWith } from 'rxjs';
import { convergedAfter } from '../../streams/converged-after.js';

/**
 * convergedStates emits true when the engine has been idle, with the World settled, for
 * `timeoutSeconds`, and false when it stops being so. `worldSettled` is undefined for a graph that
 * does not use the World; one that does is not converged before it resolves (its exports written).
 */
export function convergedStates(idle$: Observable<boolean>, worldSettled: Promise<unknown> | undefined, timeoutSeconds: number): Observable<boolean> {
  const settled$ = from((worldSettled ?? Promise.resolve()).then(() => true)).pipe(startWith(worldSettled === undefined));
  return combineLatest([idle$, settled$]).pipe(
    map(([idle, settled]) => idle && settled),
    // With a zero timeout, a momentary idle between two microtasks must not count: settle first.
    timeoutSeconds === 0 ? debounceTime(0) : identity,
    convergedAfter(timeoutSeconds * 1000),
  );
}
