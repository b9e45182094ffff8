import type { ResourceLogger } from '../resources/types.js';

/** roundMs rounds a duration to 0.01 ms, the precision events report. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Level orders events by importance. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** LogEvent is one entry of the event log; extra fields become JSON keys. */
export interface LogEvent {
  readonly level: Level;
  /** The event name: graph, watch, check, apply, error, retry, refresh, converged, exit, log, ... */
  readonly event: string;
  /** `kind[name]` when the event concerns one resource. */
  readonly resource?: string;
  readonly message?: string;
  readonly [field: string]: unknown;
}

/** EventLog receives every event of a run and writes it for people or for machines. */
export interface EventLog {
  emit(event: LogEvent): void;
  /** forResource returns a logger whose messages carry the resource id. */
  forResource(id: string, kind: string, name: string): ResourceLogger;
  /** flush waits until everything emitted has been written. */
  flush(): Promise<void>;
}

/** EventLogOptions choose the output format and destinations. */
export interface EventLogOptions {
  readonly format: 'text' | 'json';
  readonly host: string;
  /** Lowest level written; `debug` also shows check and watch events in text mode. */
  readonly level?: Level;
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
  /** The clock, for tests. */
  readonly now?: () => Date;
}

// Events that are routine for machines but noise for people: text mode shows them at debug only.
const QUIET_IN_TEXT = new Set(['watch', 'check']);

/** createEventLog builds an event log: NDJSON on stdout, or human lines on stderr. */
export function createEventLog(options: EventLogOptions): EventLog {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const now = options.now ?? (() => new Date());
  const minRank = LEVEL_RANK[options.level ?? 'info'];
  const json = options.format === 'json';

  // Writes are batched per tick: 10,000 resources converging would otherwise make 30,000 writes.
  let pending: string[] = [];
  let scheduled = false;
  let drained: Promise<void> = Promise.resolve();
  const out: NodeJS.WritableStream = json ? stdout : stderr;
  // A reader that went away (`mgmt run ... | head`) must not crash the agent: stop writing instead.
  let closed = false;
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
    else throw err;
  });
  const write = (line: string): void => {
    if (closed) return;
    pending.push(line);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const chunk = pending.join('');
      pending = [];
      if (closed) return;
      drained = new Promise((resolve) => {
        if (out.write(chunk)) return resolve();
        // A reader that goes away never drains: closing or failing also ends the wait.
        const done = (): void => {
          out.off('drain', done).off('close', done).off('error', done);
          resolve();
        };
        out.on('drain', done).on('close', done).on('error', done);
      });
    });
  };

  // `exit` is the last event of a run by contract: what a stopping resource says later is dropped.
  let ended = false;
  const emit = (event: LogEvent): void => {
    if (ended) return;
    if (event.event === 'exit') ended = true;
    const textQuiet = !json && QUIET_IN_TEXT.has(event.event);
    const rank = textQuiet ? LEVEL_RANK.debug : LEVEL_RANK[event.level];
    if (rank < minRank) return;
    const date = now();
    if (json) {
      write(JSON.stringify({ ts: date.toISOString(), host: options.host, ...event }) + '\n');
    } else {
      write(formatText(date, event) + '\n');
    }
  };

  const forResource = (id: string, kind: string, name: string): ResourceLogger => {
    const at =
      (level: Level) =>
      (message: string, fields?: Record<string, unknown>): void =>
        emit({ level, event: 'log', resource: id, kind, name, message, ...fields });
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  };

  const flush = async (): Promise<void> => {
    // Wait for a scheduled batch to be handed to the stream, then for the stream to take it.
    while (scheduled) await new Promise((resolve) => setImmediate(resolve));
    await drained;
  };

  return { emit, forResource, flush };
}

// The fields a text line shows itself, so they are not repeated as key=value.
const TEXT_SHOWN = new Set(['level', 'event', 'resource', 'kind', 'name', 'message']);

// What people read for the events they see most; anything else gets its event name and fields.
const TEXT_SUMMARY: Record<string, (event: LogEvent) => string | undefined> = {
  apply: (e) => `applied in ${e.ms} ms`,
  check: (e) => (e.ok ? `checked: ok in ${e.ms} ms` : `would change (noop), checked in ${e.ms} ms`),
  refresh: (e) => `refreshed by ${(e.from as string[] | undefined)?.join(', ') ?? 'a notify edge'}`,
  converged: (e) => `converged (timeout ${e.timeout} s)`,
  unconverged: () => 'unconverged',
};

// Fields a summary already says.
const SUMMARIZED = new Set(['ms', 'ok', 'changed', 'noop', 'from', 'timeout']);

/** formatText renders an event as `HH:MM:SS.mmm LEVEL kind[name]: message (key=value ...)`. */
export function formatText(date: Date, event: LogEvent): string {
  const time = date.toTimeString().slice(0, 8) + '.' + String(date.getMilliseconds()).padStart(3, '0');
  const head = [time];
  if (event.level !== 'info') head.push(event.level.toUpperCase());
  const summary = event.message === undefined ? TEXT_SUMMARY[event.event]?.(event) : undefined;
  if (event.event !== 'log' && summary === undefined) head.push(event.event);
  let line = head.join(' ');
  if (event.resource) line += ` ${event.resource}:`;
  const message = event.message ?? summary;
  if (message) line += ` ${message}`;
  const extras = Object.entries(event)
    .filter(([key, value]) => !TEXT_SHOWN.has(key) && value !== undefined && !(summary !== undefined && SUMMARIZED.has(key)))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  if (extras.length > 0) line += ` (${extras.join(' ')})`;
  return line;
}
