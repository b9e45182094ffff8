import { spawn, type ChildProcess } from 'node:child_process';
import { Observable } from 'rxjs';
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

/** ProcessEvent is what a long-running watched process reports: it started, or it printed a line. */
export type ProcessEvent = { readonly type: 'started' } | { readonly type: 'line'; readonly line: string };

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
 * the tail of its output; a non-zero exit is a result, not an error. Abort and timeout kill the
 * whole group (SIGTERM, then SIGKILL); abort then rejects with the signal's reason.
 */
export async function runProcess(spec: ProcessSpec, options: RunOptions): Promise<ProcessResult> {
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
 * runs, then one `line` per line of its stdout; its exit, whatever the code, is an error. Error
 * messages read as predicates (`exited with code 0`, `could not be started: ...`) for the caller to
 * prefix with what the process was. Teardown kills the process group and hands the kill to `onKill`,
 * so the caller can wait for it.
 */
export function watchProcess(spec: ProcessSpec, onKill?: (killed: Promise<void>) => void): Observable<ProcessEvent> {
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
    const lines = new LineSplitter((line) => subscriber.next({ type: 'line', line }));
    child.stdout?.on('data', (chunk: Buffer) => lines.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('spawn', () => subscriber.next({ type: 'started' }));

    let running = true;
    waitForExit(child).then(
      (exit) => {
        running = false;
        lines.flush();
        subscriber.error(new Error(withStderr(describeExit(exit), stderr.toString())));
      },
      (err: unknown) => {
        running = false;
        subscriber.error(notStarted(err));
      },
    );
    return () => {
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
