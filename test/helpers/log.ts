import type { EventLog, LogEvent } from '../../src/log/events.js';

/** CollectedLog is an event log that keeps every event in memory for assertions. */
export interface CollectedLog {
  readonly log: EventLog;
  readonly events: LogEvent[];
  /** eventsOf lists the events of one kind (and, optionally, one resource). */
  eventsOf(event: string, resource?: string): LogEvent[];
}

/** collectLog builds an in-memory event log that records every event, debug included. */
export function collectLog(): CollectedLog {
  const events: LogEvent[] = [];
  const log: EventLog = {
    emit: (event) => events.push({ ts: new Date().toISOString(), ...event }),
    forResource: (id, kind, name) => {
      const at = (level: LogEvent['level']) => (message: string, fields?: Record<string, unknown>) =>
        events.push({ level, event: 'log', resource: id, kind, name, message, ...fields });
      return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    },
    flush: async () => {},
  };
  return {
    log,
    events,
    eventsOf: (event, resource) => events.filter((e) => e.event === event && (resource === undefined || e.resource === resource)),
  };
}

/** waitFor polls `condition` (which may ask etcd, say) every few ms until it holds, failing with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
