// The commands of exec, msg and the account kinds: the OS layer's runner (src/os/process.ts) under
// a limit of how many run at once, tried again when the host is out of descriptors or processes,
// and a watched long-running process that reports its output as events.

import { Observable, retry, throwError, timer } from 'rxjs';
import { backoffDelay } from '../../streams/retry-with-backoff.js';
import { Semaphores } from '../os/semaphores.js';
import { describeExit, runToExit, startProcess, type ProcessResult, type ProcessSpec as OsProcessSpec, type RunningProcess, type RunOptions as OsRunOptions } from '../os/process.js';
import { delay } from '../os/time.js';
import { LineSplitter, tailLines } from './exec-output.js';

// Re-exported for the kinds and the CLI, which know commands through this module.
export { closeInheritedDescriptors } from '../os/inherited-fds.js';
export { describeExit, type ProcessExit, type ProcessResult } from '../os/process.js';

/** ProcessSpec says how to start one command: never through a shell, and with exactly `env`. */
export interface ProcessSpec extends OsProcessSpec {
  /** The complete environment of the process (nothing is inherited from the agent). */
  readonly env: Readonly<Record<string, string>>;
}

/** RunOptions bound a run of a command. */
export interface RunOptions extends OsRunOptions {
  /** Abort kills the process group and rejects with the signal's reason. */
  readonly signal: AbortSignal;
}

/** ProcessEvent is what a long-running watched process reports: it started, or it printed lines. */
export type ProcessEvent =
  | { readonly type: 'started' }
  | {
      readonly type: 'lines';
      /** How many lines one read brought (a flooding command brings thousands). */
      readonly count: number;
      /** The first few of them, for the log. */
      readonly first: readonly string[];
    };

/** LINES_KEPT is how many lines of one read a `lines` event keeps. */
export const LINES_KEPT = 5;

/** WATCH_READ_PAUSE_MS is how long a watched process's output waits between two reads: what it prints meanwhile is one event. */
export const WATCH_READ_PAUSE_MS = 10;

/** DEFAULT_COMMAND_LIMIT is how many commands (cmd, ifcmd, nifcmd, getent) run at once by default. */
export const DEFAULT_COMMAND_LIMIT = 32;

let commandLimit = DEFAULT_COMMAND_LIMIT;
const commandSlots = new Semaphores();

/**
 * setCommandLimit sets how many commands run at once (`--exec-parallelism`); more wait for a slot.
 * Long-running watchcmds do not count.
 */
export function setCommandLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`the command limit must be a whole number above 0, got ${limit}`);
  commandLimit = limit;
}

// Errors of a spawn that hit a limit of the host (descriptors, processes), not a fault of the
// command: it started nothing, so it is tried again after a pause rather than failed.
const SPAWN_LIMITS = new Set(['EMFILE', 'ENFILE', 'EAGAIN']);
const SPAWN_RETRY_MS = { initial: 10, max: 1000 };

/** withStderr appends the tail of stderr to a message, because that is usually where the reason is. */
export function withStderr(message: string, stderr: string): string {
  const tail = tailLines(stderr);
  return tail === '' ? message : `${message}: ${tail}`;
}

/**
 * runProcess runs a process to completion in its own process group and returns how it ended with
 * the tail of its output; a non-zero exit is a result, not an error. At most the command limit
 * (setCommandLimit) run at once; a spawn refused for want of descriptors or processes waits and is
 * tried again. Abort and timeout kill the whole group (SIGTERM, then SIGKILL); abort then rejects
 * with the signal's reason.
 */
export async function runProcess(spec: ProcessSpec, options: RunOptions): Promise<ProcessResult> {
  const { signal } = options;
  signal.throwIfAborted();
  // The limit is part of the id: a changed limit makes a new semaphore, the old one drains.
  const release = await commandSlots.acquire([`commands:${commandLimit}`], signal);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await runToExit(spec, options);
      } catch (err) {
        if (!isSpawnLimit(err)) throw err;
        // An abort while waiting rejects with the signal's reason, as an abort of the run does.
        await delay(backoffDelay(attempt, SPAWN_RETRY_MS.initial, SPAWN_RETRY_MS.max), signal);
      }
    }
  } finally {
    release();
  }
}

function isSpawnLimit(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, syscall } = err as NodeJS.ErrnoException;
  return code !== undefined && SPAWN_LIMITS.has(code) && syscall?.startsWith('spawn') === true;
}

/**
 * watchProcess starts a long-running process on subscribe: it emits `started` once the process
 * runs, then one `lines` event per read of its stdout, however many lines the read brought; its
 * exit, whatever the code, is an error. Reads are WATCH_READ_PAUSE_MS apart: a process that prints
 * without pause fills its pipe and blocks, instead of filling the agent's memory and time. Error
 * messages read as predicates (`exited with code 0`, `could not be started: ...`) for the caller to
 * prefix with what the process was. Teardown kills the process group and hands the kill to `onKill`,
 * so the caller can wait for it.
 */
export function watchProcess(spec: ProcessSpec, onKill?: (killed: Promise<void>) => void): Observable<ProcessEvent> {
  // A spawn refused for a limit of the host started nothing: wait and start it again, as runProcess does.
  return startWatched(spec, onKill).pipe(
    retry({
      delay: (err: unknown, attempt) =>
        isSpawnLimit((err as Error).cause) ? timer(backoffDelay(attempt, SPAWN_RETRY_MS.initial, SPAWN_RETRY_MS.max)) : throwError(() => err),
    }),
  );
}

function startWatched(spec: ProcessSpec, onKill?: (killed: Promise<void>) => void): Observable<ProcessEvent> {
  return new Observable<ProcessEvent>((subscriber) => {
    const notStarted = (err: unknown): Error =>
      new Error(`could not be started: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    let running: RunningProcess;
    try {
      running = startProcess({ ...spec, stdout: 'stream' });
    } catch (err) {
      subscriber.error(notStarted(err));
      return undefined;
    }
    const { child } = running;
    let count = 0;
    let first: string[] = [];
    const lines = new LineSplitter((line) => {
      count++;
      if (first.length < LINES_KEPT) first.push(line);
    });
    const report = (): void => {
      if (count === 0) return;
      const event: ProcessEvent = { type: 'lines', count, first };
      count = 0;
      first = [];
      subscriber.next(event);
    };
    let resumeTimer: NodeJS.Timeout | undefined;
    child.stdout?.on('data', (chunk: Buffer) => {
      lines.push(chunk);
      report();
      child.stdout?.pause();
      resumeTimer = setTimeout(() => child.stdout?.resume(), WATCH_READ_PAUSE_MS);
    });
    child.once('spawn', () => subscriber.next({ type: 'started' }));

    let alive = true;
    running.exited.then(
      (exit) => {
        alive = false;
        lines.flush();
        report();
        subscriber.error(new Error(withStderr(describeExit(exit), running.stderr.toString())));
      },
      (err: unknown) => {
        alive = false;
        subscriber.error(notStarted(err));
      },
    );
    return () => {
      clearTimeout(resumeTimer);
      if (alive && child.pid !== undefined) {
        const killed = running.kill();
        if (onKill) onKill(killed);
        else killed.catch(() => undefined); // nobody waits: the sweep is best effort
      }
    };
  });
}
