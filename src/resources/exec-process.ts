import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Observable, retry, throwError, timer } from 'rxjs';
import { backoffDelay } from '../../streams/retry-with-backoff.js';
import { Semaphores } from '../engine/semaphores.js';
import { LineSplitter, TailBuffer, tailLines } from './exec-output.js';

/** KILL_GRACE_MS is how long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 300;

// After the leader exits, a background grandchild may still hold our pipes open; we read what is
// left for this long and then stop listening rather than wait for the grandchild.
const DRAIN_MS = 100;

/** ProcessSpec says how to start one process: never through a shell, and with exactly `env`. */
export interface ProcessSpec {
  /** The program: an absolute path, or a path with a slash relative to `cwd`. */
  readonly file: string;
  readonly args: readonly string[];
  /** The complete environment of the process (nothing is inherited from the agent). */
  readonly env: Readonly<Record<string, string>>;
  /** The working directory; undefined = the agent's. */
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  /** Text written to stdin, which is then closed; undefined = stdin is /dev/null. */
  readonly input?: string;
}

/** ProcessExit is how a process ended: an exit code, or the signal that killed it. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** ProcessResult is how a finished process ended and the tail of what it printed. */
export interface ProcessResult extends ProcessExit {
  readonly stdout: string;
  readonly stderr: string;
  /** The process was killed because it ran longer than its timeout. */
  readonly timedOut: boolean;
}

/** RunOptions bound a run of a process. */
export interface RunOptions {
  /** Abort kills the process group and rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /** Kill the process group after this many milliseconds; 0 or undefined = never. */
  readonly timeoutMs?: number;
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

/** describeExit renders an exit as `exited with code 3` or `was killed by SIGTERM`. */
export function describeExit(exit: ProcessExit): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
}

/** withStderr appends the tail of stderr to a message, because that is usually where the reason is. */
export function withStderr(message: string, stderr: string): string {
  const tail = tailLines(stderr);
  return tail === '' ? message : `${message}: ${tail}`;
}

/**
 * killGroup sends SIGTERM to the process group led by `pid`, then SIGKILL to whatever is left after
 * `graceMs`; it resolves once the SIGKILL has been sent.
 */
export function killGroup(pid: number, graceMs: number = KILL_GRACE_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      signalGroup(pid, 'SIGTERM');
    } catch (err) {
      reject(err);
      return;
    }
    dyingGroups.add(pid);
    killDyingGroupsOnExit();
    // The SIGKILL goes out even when the leader died of the SIGTERM: a grandchild may ignore SIGTERM.
    setTimeout(() => {
      dyingGroups.delete(pid);
      try {
        signalGroup(pid, 'SIGKILL');
        resolve();
      } catch (err) {
        reject(err);
      }
    }, graceMs);
  });
}

// Groups sent SIGTERM whose SIGKILL is still due. If the agent exits first (a second ^C), the
// grace is cut short rather than lost: nothing we were killing may outlive us.
const dyingGroups = new Set<number>();
let exitHookInstalled = false;

function killDyingGroupsOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of dyingGroups) {
      try {
        signalGroup(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
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
        return await runOnce(spec, options);
      } catch (err) {
        if (!isSpawnLimit(err)) throw err;
        // An abort while waiting rejects with the signal's reason, as an abort of the run does.
        await sleep(backoffDelay(attempt, SPAWN_RETRY_MS.initial, SPAWN_RETRY_MS.max), undefined, { signal }).catch(() => signal.throwIfAborted());
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

async function runOnce(spec: ProcessSpec, options: RunOptions): Promise<ProcessResult> {
  const { signal, timeoutMs = 0 } = options;
  signal.throwIfAborted();
  const child = spawnGroup(spec);
  const stdout = new TailBuffer();
  const stderr = new TailBuffer();
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  if (spec.input !== undefined && child.stdin) {
    // A process that exits without reading its input breaks the pipe; its exit status says enough.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.input);
  }

  let killed: Promise<void> | undefined;
  let timedOut = false;
  const stop = (): void => {
    if (killed !== undefined || child.pid === undefined) return;
    killed = killGroup(child.pid);
    // Awaited below once the process has exited; until then a failed kill must not count as unhandled.
    killed.catch(() => undefined);
  };
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, timeoutMs)
      : undefined;
  signal.addEventListener('abort', stop, { once: true });
  try {
    const exit = await waitForExit(child);
    // Wait for the SIGKILL sweep too, so nothing of the group outlives this call.
    if (killed !== undefined) await killed;
    signal.throwIfAborted();
    return { ...exit, stdout: stdout.toString(), stderr: stderr.toString(), timedOut };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
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
    let child: ChildProcess;
    try {
      child = spawnGroup(spec);
    } catch (err) {
      subscriber.error(notStarted(err));
      return undefined;
    }
    const stderr = new TailBuffer();
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
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('spawn', () => subscriber.next({ type: 'started' }));

    let running = true;
    waitForExit(child).then(
      (exit) => {
        running = false;
        lines.flush();
        report();
        subscriber.error(new Error(withStderr(describeExit(exit), stderr.toString())));
      },
      (err: unknown) => {
        running = false;
        subscriber.error(notStarted(err));
      },
    );
    return () => {
      clearTimeout(resumeTimer);
      if (running && child.pid !== undefined) {
        const killed = killGroup(child.pid);
        if (onKill) onKill(killed);
        else killed.catch(() => undefined); // nobody waits: the sweep is best effort
      }
    };
  });
}

// spawnGroup starts the process detached, which makes it the leader of a new process group (and
// session): signalling the group then reaches every process it started, not just the leader.
function spawnGroup(spec: ProcessSpec): ChildProcess {
  closeInheritedDescriptorsOnce();
  return spawn(spec.file, [...spec.args], {
    cwd: spec.cwd,
    env: { ...spec.env },
    uid: spec.uid,
    gid: spec.gid,
    detached: true,
    stdio: [spec.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
}

// signalGroup signals every process of the group; a group that is already gone is not an error.
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

// waitForExit resolves once the process has exited and its output has been read; it rejects when
// the process could not be started at all.
function waitForExit(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drain);
        resolve({ code, signal });
      });
    });
  });
}

// Linux's O_CLOEXEC, which node's fs.constants does not name.
const O_CLOEXEC = 0o2000000;

/**
 * closeInheritedDescriptors closes every descriptor above 2 that the agent inherited from whoever
 * started it and returns their numbers: node and libuv open all of their own close-on-exec, so a
 * descriptor without that flag came from outside (node's IPC channel, when forked, is close-on-exec
 * too), and would otherwise reach every command, including those run as another user.
 */
export function closeInheritedDescriptors(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return []; // no /proc: nothing we can tell
  }
  const closed: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      flags = parseInt(/^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8);
    } catch {
      continue; // gone meanwhile, such as the listing's own descriptor
    }
    if (Number.isNaN(flags) || (flags & O_CLOEXEC) !== 0) continue;
    closeSync(fd);
    closed.push(fd);
  }
  return closed;
}

let inheritedClosed = false;

// Done before the first command rather than at import: tests load this module inside runners
// whose own inherited descriptors are none of our business until we start a command.
function closeInheritedDescriptorsOnce(): void {
  if (inheritedClosed) return;
  inheritedClosed = true;
  closeInheritedDescriptors();
}
