import { Subject, interval, map, merge, of, startWith, switchMap, tap } from 'rxjs';
import type { ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamsOf } from '../core/params.js';

/** timerParams declares the parameters of a timer resource. */
export const timerParams = paramTable({
  // 0 until set: validate requires a positive interval.
  interval: { type: 'uint', doc: 'seconds between ticks (> 0)', default: 0 },
});

/** TimerParams are the parameters of a timer resource. */
export type TimerParams = ParamsOf<typeof timerParams>;

// rxjs interval uses setInterval, which holds at most 2^31-1 ms; a longer period would fire at once.
const MAX_INTERVAL_S = Math.floor(0x7fffffff / 1000);

/**
 * timer ticks every `interval` seconds; each tick is a change that refreshes its children over
 * every outgoing edge, so `timer -> exec` re-runs the exec each interval. A refresh restarts it.
 */
export const timer: ResourceKind<TimerParams> = {
  kind: 'timer',
  doc: 'ticks every interval seconds; each tick re-runs the resources it points at',
  params: timerParams,
  refreshable: true,
  notifiesAllEdges: true,

  defaults: defaultsOf(timerParams),

  validate(p) {
    if (Number.isInteger(p.interval) && p.interval > 0 && p.interval <= MAX_INTERVAL_S) return [];
    return [
      {
        param: 'interval',
        reason: `must be a whole number of seconds from 1 to ${MAX_INTERVAL_S}, got ${String(p.interval)} (${typeof p.interval})`,
      },
    ];
  },

  init(p, ctx) {
    const periodMs = p.interval * 1000;
    // Each value restarts the ticker from now; watch() may be resubscribed, so it is a Subject.
    const restart = new Subject<void>();
    let ticked = false;

    return {
      watch: () =>
        merge(
          of(undefined), // ready at once: a timer has nothing to establish
          restart.pipe(
            startWith(undefined),
            switchMap(() => interval(periodMs)),
            tap(() => {
              ticked = true;
            }),
            map(() => undefined),
          ),
        ),

      async checkApply(apply) {
        if (ctx.refreshPending()) {
          if (!apply) return false;
          ctx.log.info('received a notification: restarting the timer');
          ticked = false;
          restart.next();
          return false;
        }
        if (!ticked) return true;
        ticked = false; // the tick is the change; report it once
        return false;
      },
    };
  },
};
