import { NEVER, startWith, type Observable } from 'rxjs';

/**
 * onceTick is the event source for a negative `poll` meta param ("run once"): it emits one event at
 * once on subscribe and then stays open without completing, since a completed watch would read as
 * a stopped resource.
 */
export function onceTick(): Observable<void> {
  return NEVER.pipe(startWith(undefined));
}
