import type { ResourceLogger } from '../core/logger.js';
import { escapeControl } from './escape.js';

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
  /**
   * wants says whether an event of `level` may be written at all; an emitter may skip building
   * one it would drop. Absent means every level is wanted.
   */
  wants?(level: Level): boolean;
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

// Events that are routine for machines but noise for people: text mode shows them at debug only
// (a check that found something to change, as in noop, is no routine).
const QUIET_IN_TEXT = new Set(['watch', 'check']);

/**
 * MAX_BACKLOG_BYTES bounds what the log holds for a reader that falls behind: past it, routine events
 * are dropped and counted, and a `dropped` event says how many before the next line written.
 */
export const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

// The most a batch of lines holds before it is written: 64 KiB is ~400 lines, so a converging
// 10,000-file graph still makes ~70 writes, where 1 MiB batches (and their joined copies) were
// ~6 MB of its peak RSS in the large-object space.
const MAX_BATCH_BYTES = 64 * 1024;

/** FLUSH_DEADLINE_MS is how long flush waits for a reader that reads nothing more: a stop must not hang on it. */
export const FLUSH_DEADLINE_MS = 500;

/**
 * isRoutine says whether an event may be dropped when the reader falls behind: watch events, checks
 * that found the state OK, and debug lines. Errors, applies, "would change" checks, exit and every
 * warning are never dropped.
 */
export function isRoutine(event: LogEvent): boolean {
  if (event.level === 'warn' || event.level === 'error') return false;
  if (event.event === 'watch') return true;
  if (event.event === 'check') return event.ok === true;
  return event.level === 'debug';
}

/** createEventLog builds an event log: NDJSON on stdout, or human lines on stderr. */
export function createEventLog(options: EventLogOptions): EventLog {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const now = options.now;
  const minRank = LEVEL_RANK[options.level ?? 'info'];
  const json = options.format === 'json';

  // Writes are batched per tick: 10,000 resources converging would otherwise make 30,000 writes.
  let pending: string[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  let drained: Promise<void> = Promise.resolve();
  let waitingForDrain = false;
  const out: NodeJS.WritableStream & { writableLength?: number } = json ? stdout : stderr;
  // A reader that went away (`mgmt run ... | head`) must not crash the agent: stop writing instead.
  let closed = false;
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
    else throw err;
  });
  const handOver = (): void => {
    if (pending.length === 0) return;
    const chunk = pending.join('');
    pending = [];
    pendingBytes = 0;
    if (closed) return;
    // One wait for 'drain' covers every batch written meanwhile (a drain means all of them left):
    // a wait per full batch piled listeners on a slow reader's stream (MaxListenersExceededWarning).
    if (out.write(chunk) || waitingForDrain) return;
    waitingForDrain = true;
    drained = new Promise((resolve) => {
      // A reader that goes away never drains: closing or failing also ends the wait.
      const done = (): void => {
        out.off('drain', done).off('close', done).off('error', done);
        waitingForDrain = false;
        resolve();
      };
      out.on('drain', done).on('close', done).on('error', done);
    });
  };
  const write = (line: string): void => {
    if (closed) return;
    pending.push(line);
    pendingBytes += line.length;
    // A graph that converges in one stretch of microtasks (an 80,000-noop chain) never lets the
    // batch go: past MAX_BACKLOG_BYTES it dropped 43,273 check events a reader keeping up would
    // have taken. A full batch goes to the stream at once, so only a reader behind drops events.
    if (pendingBytes >= MAX_BATCH_BYTES) {
      handOver();
      return;
    }
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      handOver();
    });
  };
  // What this log holds that its reader has not taken yet.
  const backlog = (): number => pendingBytes + (out.writableLength ?? 0);

  // The head of every JSON line (`{"ts":"...","host":"...",`), built once per millisecond: a
  // Date, its ISO string and a copy of the event per line were most of format's cost.
  const hostJson = JSON.stringify(options.host);
  let headAt = NaN;
  let head = '';
  const jsonHead = (at: number): string => {
    if (at !== headAt) {
      headAt = at;
      head = `{"ts":"${new Date(at).toISOString()}","host":${hostJson},`;
    }
    return head;
  };
  const format = (event: LogEvent): string => {
    const at = now ? now().getTime() : Date.now();
    if (!json) return formatText(new Date(at), event) + '\n';
    // An event naming ts or host itself overrides the head's value in place, as a spread does.
    if ('ts' in event || 'host' in event) return JSON.stringify({ ts: new Date(at).toISOString(), host: options.host, ...event }) + '\n';
    return jsonHead(at) + JSON.stringify(event).slice(1) + '\n';
  };

  // Routine events dropped since the last line written, by event name.
  let dropped = new Map<string, number>();
  let droppedCount = 0;
  const reportDropped = (): void => {
    if (droppedCount === 0) return;
    const events = Object.fromEntries(dropped);
    const message = `the log's reader fell behind: ${droppedCount} routine events were dropped`;
    write(format({ level: 'warn', event: 'dropped', message, count: droppedCount, events }));
    dropped = new Map();
    droppedCount = 0;
  };

  // `exit` is the last event of a run by contract: what a stopping resource says later is dropped.
  let ended = false;
  const wants = (level: Level): boolean => !ended && LEVEL_RANK[level] >= minRank;
  const emit = (event: LogEvent): void => {
    if (ended) return;
    const textQuiet = !json && QUIET_IN_TEXT.has(event.event) && event.ok !== false;
    const rank = textQuiet ? LEVEL_RANK.debug : LEVEL_RANK[event.level];
    if (rank < minRank) return;
    if (isRoutine(event) && backlog() >= MAX_BACKLOG_BYTES) {
      dropped.set(event.event, (dropped.get(event.event) ?? 0) + 1);
      droppedCount++;
      return;
    }
    if (event.event === 'exit') ended = true;
    reportDropped();
    write(format(event));
  };

  const forResource = (id: string, kind: string, name: string): ResourceLogger => {
    const at =
      (level: Level) =>
      (message: string, fields?: Record<string, unknown>): void =>
        emit({ level, event: 'log', resource: id, kind, name, message, ...fields });
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  };

  const flush = async (): Promise<void> => {
    // Wait for a scheduled batch to be handed to the stream, then for the stream to take it, for
    // as long as the reader keeps reading: one that stopped must not keep the agent from exiting.
    while (scheduled) await new Promise((resolve) => setImmediate(resolve));
    let done = false;
    void drained.then(() => (done = true));
    let left = backlog();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_DEADLINE_MS)))]);
      clearTimeout(timer);
      if (done || backlog() >= left) return;
      left = backlog();
    }
  };

  return { emit, wants, forResource, flush };
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

// The clock part of a text line changes once a second: toTimeString (time zone and all) is
// made once per second, not per line.
let clockSecond = NaN;
let clockText = '';

/** clockTime renders `HH:MM:SS.mmm` in local time. */
function clockTime(date: Date): string {
  const ms = date.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    clockText = date.toTimeString().slice(0, 8);
  }
  return `${clockText}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

/**
 * formatText renders an event as `HH:MM:SS.mmm LEVEL kind[name]: message (key=value ...)`, with every
 * control character escaped: one event is always exactly one line.
 */
export function formatText(date: Date, event: LogEvent): string {
  let line = clockTime(date);
  if (event.level !== 'info') line += ` ${event.level.toUpperCase()}`;
  // A summary says more than a message the engine attached for machines ("would change (noop)").
  const summary = TEXT_SUMMARY[event.event]?.(event);
  if (event.event !== 'log' && summary === undefined) line += ` ${event.event}`;
  if (event.resource) line += ` ${event.resource}:`;
  const message = summary ?? event.message;
  if (message) line += ` ${message}`;
  let extras = '';
  for (const key in event) {
    const value = event[key];
    if (value === undefined || TEXT_SHOWN.has(key) || (summary !== undefined && SUMMARIZED.has(key))) continue;
    extras += `${extras === '' ? '' : ' '}${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
  }
  if (extras !== '') line += ` (${extras})`;
  return escapeControl(line);
}
