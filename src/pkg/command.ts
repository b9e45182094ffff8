// Running the package manager's programs: argument arrays (never a shell), the whole output kept
// (apt-cache and dpkg-deb print more than a tail), and a choice of what an abort does.

import { describeExit, runToExit, startProcess, type ProcessExit } from '../os/process.js';

/** CommandResult is how a program ended and what it printed. */
export interface CommandResult extends ProcessExit {
  readonly stdout: string;
  readonly stderr: string;
}

/** RunningCommand is a started program: `done` settles when it has exited and its output is read. */
export interface RunningCommand {
  readonly done: Promise<CommandResult>;
  /** The program's process id, which leads its process group and session; undefined when it did not start. */
  readonly pid: number | undefined;
  /** kill ends the program (SIGTERM to its process group). */
  kill(): void;
}

// apt-cache and dpkg-deb print more than a tail: everything is kept.
const WHOLE_OUTPUT = { tailBytes: Infinity } as const;

/**
 * startCommand runs `file args` with exactly `env`, in a process group of its own, so that a ^C
 * at the agent's terminal does not reach it (a package transaction cut in half leaves dpkg
 * needing repair: only the agent decides whether to stop one). `done` rejects only when the
 * program could not be started.
 */
export function startCommand(file: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningCommand {
  const running = startProcess({ file, args, env, ...WHOLE_OUTPUT });
  const done = running.exited.then(
    (exit) => ({ ...exit, stdout: running.stdout.toString(), stderr: running.stderr.toString() }),
    (err: Error) => Promise.reject(notStarted(file, err)),
  );
  return { done, pid: running.pid, kill: () => running.signal('SIGTERM') };
}

/**
 * runCommand runs a program that only reads (apt-cache, dpkg-deb) to its end; an abort kills its
 * process group and rejects with the signal's reason.
 */
export async function runCommand(file: string, args: readonly string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<CommandResult> {
  try {
    return await runToExit({ file, args, env, ...WHOLE_OUTPUT }, { signal });
  } catch (err) {
    throw signal?.aborted ? err : notStarted(file, err as Error);
  }
}

function notStarted(file: string, err: Error): Error {
  return new Error(`${file} could not be started: ${err.message}`, { cause: err });
}

/** commandLine renders a program and its arguments for people, quoting what a shell would split. */
export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * failureReason picks apt's and dpkg's own reason out of a failed run: the `E:` lines, else the
 * last lines of stderr, else how it ended.
 */
export function failureReason(result: CommandResult): string {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const errors = lines.filter((line) => line.startsWith('E: '));
  const ended = describeExit(result);
  const why = (errors.length > 0 ? errors : lines.slice(-3)).join(' ');
  return why === '' ? ended : `${ended}: ${why}`;
}
