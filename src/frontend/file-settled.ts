import { from, merge, type Observable, skip, tap } from 'rxjs';
import { whenSettled } from '../../streams/when-settled.js';
import type { EventLog } from '../log/events.js';
import { writersOf } from '../watchers/open-writers.js';

// While a writer holds the graph file open, /proc is looked at again after 50 ms, doubling to 1 s.
const WRITER_RECHECK_MS = { recheckInitialMs: 50, recheckMaxMs: 1000 };
// A writer holding the graph file open this long is named in a warning.
const WRITER_WARN_MS = 5000;

/** FileSettledOptions say which file to follow and when it counts as written. */
export interface FileSettledOptions {
  readonly path: string;
  /** Milliseconds the file must stay unchanged (and closed by its writers) before it is read. */
  readonly quietMs: number;
  /** watchPath's first emission says "ready", later ones "may have changed"; absent = no watch (--no-watch). */
  readonly watchPath?: (path: string) => Observable<void>;
  /** Requests to read the file again as an edit would (SIGHUP). */
  readonly reloads: Observable<void>;
  readonly log: EventLog;
}

/** SettledFile is a file's "written, read it now" stream and whether a write is still under way. */
export interface SettledFile {
  /** settled emits once per burst of changes (or reload request), when the file's writer is done. */
  readonly settled: Observable<void>;
  /** busy says whether a change (or reload request) came that has not settled yet. */
  busy(): boolean;
}

/**
 * fileSettled follows a graph file by the reload rule: it is read again when it changed or a
 * reload is asked for, but only once its writer is done: after `quietMs` without a change, and while
 * no process holds it open for writing, so a file still being written is never parsed (an edit saved
 * by rename reloads after the quiet period, a `>` or `>>` writer after it closed the file).
 */
export function fileSettled(options: FileSettledOptions): SettledFile {
  const { path, log } = options;
  let busy = false;
  let writersSince: number | undefined;
  let writersNamed = false;
  // closed says whether no process holds the file open for writing; a writer that keeps it open
  // long is named once, so the operator knows why the edit is not applied yet.
  const closed = async (): Promise<boolean> => {
    const writers = await writersOf(path);
    if (writers.length === 0) {
      writersSince = undefined;
      writersNamed = false;
      return true;
    }
    writersSince ??= performance.now();
    if (!writersNamed && performance.now() - writersSince >= WRITER_WARN_MS) {
      writersNamed = true;
      log.emit({ level: 'warn', event: 'reload', message: `waiting to reload: ${path} is still open for writing by pid ${writers.join(', ')}` });
    }
    return false;
  };
  // The watch's first emission only says "ready".
  const changed = options.watchPath ? merge(options.watchPath(path).pipe(skip(1)), options.reloads) : options.reloads;
  const settled = changed.pipe(
    tap(() => (busy = true)),
    whenSettled({ quietMs: options.quietMs, isSettled: () => from(closed()), ...WRITER_RECHECK_MS }),
    tap(() => (busy = false)),
  );
  return { settled, busy: () => busy };
}
