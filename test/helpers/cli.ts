import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { LogEvent } from '../../src/log/events.js';

/** MGMT_BIN is the built command line entry point the tests run as a real process. */
export const MGMT_BIN = fileURLToPath(new URL('../../bin/mgmt.js', import.meta.url));
/** REPO_ROOT is the repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const BUILT = fileURLToPath(new URL('../../dist/bundle/mgmt.cjs', import.meta.url));

/** MgmtResult is what a finished mgmt process left behind. */
export interface MgmtResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as NDJSON events (with --log-format json). */
  readonly events: LogEvent[];
}

/** MgmtProcess is a running mgmt with its events as they arrive. */
export interface MgmtProcess {
  readonly child: ChildProcess;
  readonly events: LogEvent[];
  stderr(): string;
  /** waitForEvent resolves with the first event (from the start) matching `match`. */
  waitForEvent(match: (event: LogEvent) => boolean, what: string, timeoutMs?: number): Promise<LogEvent>;
  /** exited resolves when the process ends. */
  readonly exited: Promise<MgmtResult>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

// Flags by which a test chooses its World itself; without any, `run` gets --no-server.
const WORLD_FLAGS = ['--seeds', '--no-server', '--client-urls', '--etcd-binary'];

/**
 * withTestWorld adds `--no-server` to a `run` that does not choose its World: single-host tests use
 * the local World, as parallel agents each starting etcd on the default port 2379 would collide.
 */
export function withTestWorld(args: readonly string[]): readonly string[] {
  if (args[0] !== 'run' || args.some((arg) => WORLD_FLAGS.some((flag) => arg === flag || arg.startsWith(`${flag}=`)))) return args;
  return [...args, '--no-server'];
}

/** StartOptions say where mgmt runs and what it finds in its environment. */
export interface StartOptions {
  /** The working directory; default the repository root. */
  readonly cwd?: string;
  /** Variables set over this process's environment (e.g. a PATH without etcd); node itself is found by its absolute path. */
  readonly env?: Readonly<Record<string, string>>;
}

/** startMgmt runs `bin/mgmt.js` with `args` (see withTestWorld) and collects its output. */
export function startMgmt(args: readonly string[], options: StartOptions = {}): MgmtProcess {
  if (!existsSync(BUILT)) throw new Error('mgmt is not built: run `npm run build` first');
  const child = spawn(process.execPath, [MGMT_BIN, ...withTestWorld(args)], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env === undefined ? process.env : { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const events: LogEvent[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      events.push(JSON.parse(line) as LogEvent);
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<MgmtResult>((resolve) => {
    child.on('close', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal, stdout, stderr, events });
    });
  });
  const waitForEvent = (match: (event: LogEvent) => boolean, what: string, timeoutMs = 20_000): Promise<LogEvent> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = events.find(match);
        if (found) {
          cleanup();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup();
          reject(new Error(`mgmt exited (${child.exitCode ?? child.signalCode}) before ${what}\nstderr:\n${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}\nevents: ${events.map((e) => e.event).join(',')}\nstderr:\n${stderr}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return { child, events, stderr: () => stderr, waitForEvent, exited };
}

/** runMgmt runs mgmt to completion (killing it after `timeoutMs`) and returns what it left. */
export async function runMgmt(args: readonly string[], options: StartOptions & { timeoutMs?: number } = {}): Promise<MgmtResult> {
  const proc = startMgmt(args, options);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const result = await proc.exited;
  clearTimeout(timer);
  return result;
}
