// The operator's word that inotify may have dropped events (fs-dir.ts re-syncs every watch then):
// a warning, at most one a minute, since a storm that overflows the queue once does so again and
// again while it lasts.

import type { EventLog } from '../log/events.js';

const QUIET_MS = 60_000;

/** inotifyOverflowWarning returns the watcher's onResync: a warning in `log`, at most one per minute. */
export function inotifyOverflowWarning(log: EventLog, now: () => number = Date.now): (events: number) => void {
  let lastWarned = -Infinity;
  let unreported = 0;
  return (events) => {
    unreported++;
    if (now() - lastWarned < QUIET_MS) return;
    lastWarned = now();
    const times = unreported === 1 ? '' : ` (${unreported} times since the last warning)`;
    unreported = 0;
    log.emit({
      level: 'warn',
      event: 'warning',
      message: `${events} file events arrived at once${times}: inotify may have dropped some (fs.inotify.max_queued_events), so every watched path is checked again`,
    });
  };
}
