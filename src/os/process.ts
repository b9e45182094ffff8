// The one way the agent starts a program: an argument array (never a shell: a caller that wants
// one names /bin/sh itself), a process group of its own (so a kill reaches all it started, and a
// ^C at the agent's terminal reaches only the agent, which decides what to stop), bounded output
// tails, and a kill of the whole group on abort or timeout.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeInheritedDescriptorsOnce } from './inherited-fds.js';
import { killGroup, signalGroup } from './process-group.js';
import { OUTPUT_TAIL_BYTES, OutputTail } from './tail.js';

// After the leader exits, a background grandchild may still hold our pipes open; we read what is
// left for this long and then stop listening rather than wait for the grandchild.
const DRAIN_MS = 100;

/** ProcessSpec says how to start one process. */
export interface ProcessSpec {
  /** The program: a name looked up on PATH, an absolute path, or a path with a slash relative to `cwd`. */
  readonly file: string;
  readonly args: readonly string[];
  /** The complete environment of the process; undefined = the agent's own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The working directory; undefined = the agent's. */
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  /** Text written to stdin, which is then closed; undefined = stdin is /dev/null. */
  readonly input?: string;
  /** `tail` (the default) keeps the end of stdout; `stream` leaves `child.stdout` to the caller; `ignore` sends it to /dev/null. */
  readonly stdout?: 'tail' | 'stream' | 'ignore';
  /** `tail` (the default) keeps the end of stderr; `ignore` sends it to /dev/null. */
  readonly stderr?: 'tail' | 'ignore';
  /** How many bytes of each tail are kept; default OUTPUT_TAIL_BYTES, Infinity keeps all. */
  readonly tailBytes?: number;
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

/** RunningProcess is a started process, the leader of its own process group. */
export interface RunningProcess {
  readonly child: ChildProcess;
  /** The process id, which is also its group's id; undefined when it did not start. */
  readonly pid: number | undefined;
  /** The end of what it printed on stdout so far (empty unless stdout is `tail`). */
  readonly stdout: OutputTail;
  /** The end of what it printed on stderr so far (empty unless stderr is `tail`). */
  readonly stderr: OutputTail;
  /** exited resolves once the process has exited and its output has been read; it rejects when the process could not be started. */
  readonly exited: Promise<ProcessExit>;
  /** kill sends SIGTERM to the group, then SIGKILL after `graceMs` (killGroup); it resolves once the SIGKILL is sent. */
  kill(graceMs?: number): Promise<void>;
  /** signal sends one signal to the group, unless the process has already exited. */
  signal(signal: NodeJS.Signals): void;
}

/** RunOptions bound a run of a process. */
export interface RunOptions {
  /** Abort kills the process group and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Kill the process group after this many milliseconds; 0 or undefined = never. */
  readonly timeoutMs?: number;
}

/**
 * startProcess starts `spec` detached, which makes it the leader of a new process group (and
 * session). A spawn refused at once (a bad argument) throws; one that fails later (ENOENT, EACCES,
 * EMFILE) rejects `exited`.
 */
export function startProcess(spec: ProcessSpec): RunningProcess {
  closeInheritedDescriptorsOnce();
  const stdoutMode = spec.stdout ?? 'tail';
  const stderrMode = spec.stderr ?? 'tail';
  const child = spawn(spec.file, [...spec.args], {
    cwd: spec.cwd,
    env: spec.env === undefined ? undefined : { ...spec.env },
    uid: spec.uid,
    gid: spec.gid,
    detached: true,
    stdio: [spec.input === undefined ? 'ignore' : 'pipe', stdoutMode === 'ignore' ? 'ignore' : 'pipe', stderrMode === 'ignore' ? 'ignore' : 'pipe'],
  });
  const stdout = new OutputTail(spec.tailBytes ?? OUTPUT_TAIL_BYTES);
  const stderr = new OutputTail(spec.tailBytes ?? OUTPUT_TAIL_BYTES);
  if (stdoutMode === 'tail') child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  if (stderrMode === 'tail') child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  if (spec.input !== undefined && child.stdin) {
    // A process that exits without reading its input breaks the pipe; its exit status says enough.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.input);
  }
  const exited = waitForExit(child);
  // Whoever started it may only kill it; a start failure must not count as unhandled then.
  exited.catch(() => undefined);
  return {
    child,
    pid: child.pid,
    stdout,
    stderr,
    exited,
    kill: (graceMs) => (child.pid === undefined ? Promise.resolve() : killGroup(child.pid, graceMs)),
    signal(name) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(child.pid, name);
    },
  };
}

/**
 * runToExit runs `spec` to its end and returns how it ended with the tails of its output; a
 * non-zero exit is a result, not an error. Abort and timeout kill the whole group (SIGTERM, then
 * SIGKILL) and the call returns only once the SIGKILL is sent; an abort then rejects with the
 * signal's reason. A process that could not be started rejects with the spawn's error.
 */
export async function runToExit(spec: ProcessSpec, options: RunOptions = {}): Promise<ProcessResult> {
  const { signal, timeoutMs = 0 } = options;
  signal?.throwIfAborted();
  const running = startProcess(spec);
  let killed: Promise<void> | undefined;
  let timedOut = false;
  const stop = (): void => {
    if (killed !== undefined || running.pid === undefined) return;
    killed = running.kill();
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
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const exit = await running.exited;
    // Wait for the SIGKILL sweep too, so nothing of the group outlives this call.
    if (killed !== undefined) await killed;
    signal?.throwIfAborted();
    return { ...exit, stdout: running.stdout.toString(), stderr: running.stderr.toString(), timedOut };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}

/** describeExit renders an exit as `exited with code 3` or `was killed by SIGTERM`. */
export function describeExit(exit: ProcessExit): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? 'unknown'}`;
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
