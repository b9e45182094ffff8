// Running the package manager's programs: argument arrays (never a shell), the whole output kept
// (apt-cache and dpkg-deb print more than a tail), and a choice of what an abort does.

import { spawn } from 'node:child_process';

/** CommandResult is how a program ended and what it printed. */
export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
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

/**
 * startCommand runs `file args` with exactly `env`, in a process group of its own, so that a ^C
 * at the agent's terminal does not reach it (a package transaction cut in half leaves dpkg
 * needing repair: only the agent decides whether to stop one). `done` rejects only when the
 * program could not be started.
 */
export function startCommand(file: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningCommand {
  const child = spawn(file, [...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const done = new Promise<CommandResult>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${file} could not be started: ${err.message}`, { cause: err })));
    child.once('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
  return {
    done,
    pid: child.pid,
    kill() {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

/**
 * runCommand runs a program that only reads (apt-cache, dpkg-deb) to its end; an abort kills it
 * and rejects with the signal's reason.
 */
export async function runCommand(file: string, args: readonly string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<CommandResult> {
  signal?.throwIfAborted();
  const running = startCommand(file, args, env);
  if (signal === undefined) return running.done;
  const onAbort = (): void => running.kill();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await running.done;
    signal.throwIfAborted();
    return result;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
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
  const ended = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code ?? 'unknown'}`;
  const why = (errors.length > 0 ? errors : lines.slice(-3)).join(' ');
  return why === '' ? ended : `${ended}: ${why}`;
}
