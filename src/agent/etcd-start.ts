import { asyncScheduler, debounceTime, filter, NEVER, type Observable, race, type SchedulerLike, take, timer } from 'rxjs';

// How long the engine must stay idle before the first pass counts as done.
const IDLE_SETTLE_MS = 10;
// The longest a bootstrapping host's etcd waits for the first pass of a graph that does not use the World.
const ETCD_START_DELAY_MS = 2000;

/**
 * etcdStartDue emits once when a bootstrapping host should start its own etcd for a first graph
 * that does not use the World: once the engine settles idle (the first pass is done), or after
 * ETCD_START_DELAY_MS at the latest. A run that exits once converged (timeout 0) never emits: it
 * serves no cluster, and its exit follows the first idle; a start there only raced the exit (when
 * the converged check ran late, ~1 run in 10 with the log on a pipe, it loaded etcd3, made a CA and
 * spawned etcd just to kill it).
 */
export function etcdStartDue(idle$: Observable<boolean>, convergedTimeout: number, scheduler: SchedulerLike = asyncScheduler): Observable<unknown> {
  if (convergedTimeout === 0) return NEVER;
  return race(idle$.pipe(debounceTime(IDLE_SETTLE_MS, scheduler), filter(Boolean)), timer(ETCD_START_DELAY_MS, scheduler)).pipe(take(1));
}
