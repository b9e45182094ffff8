// Child processes of the bench: timed runs to completion, long-running agents, and a registry
// that kills whatever is still alive when the bench exits, is interrupted or crashes.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MGMT_BIN } from './paths.js';

const live = new Set<ChildProcess>();

/** track registers a child so that killAll ends it if the bench stops first. */
export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** killAll sends SIGKILL to every tracked child still running (synchronous, for exit handlers). */
export function killAll(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** SpawnOptions are the settings shared by timed and long-running children. */
export interface SpawnOptions {
  readonly cwd?: string;
  /** Extra environment on top of the bench's own; a key set to undefined is left out. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Kill the child and fail after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Poll /proc/<pid>/status for the peak resident set (VmHWM) while the child runs. */
  readonly sampleRss?: boolean;
}

/** TimedRun is the outcome of one child run to completion. */
export interface TimedRun {
  /** Wall time from just before spawn() to the child's exit, in milliseconds. */
  readonly ms: number;
  /** Date.now() just before spawn(), to relate the child's own timestamps to the run. */
  readonly spawnedAt: number;
  /** Date.now() at the child's exit. */
  readonly exitedAt: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Highest VmHWM seen while polling, in MiB (a lower bound; undefined unless sampled). */
  readonly peakRssMb?: number;
  /**
   * CPU time in user mode of the child and the children it waited for, in milliseconds (10 ms
   * steps): the run's own code, less disturbed by other load on the machine than the wall time or
   * the system time (the kernel's share of writing 10,000 files swings by seconds with it).
   * Undefined without /proc.
   */
  readonly userMs?: number;
  /** CPU time in kernel mode, as userMs. */
  readonly systemMs?: number;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const RSS_POLL_MS = 20;

/** timedRun spawns `command args` (an argument array, no shell), waits for it, and times it. */
export function timedRun(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<TimedRun> {
  return new Promise<TimedRun>((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let peakKb: number | undefined;
    let exit: { at: number; wall: number; code: number | null; signal: NodeJS.Signals | null; cpu: ChildrenCpu | undefined } | undefined;

    const cpuBefore = childrenCpu();
    const spawnedAt = Date.now();
    const started = performance.now();
    const child = track(
      spawn(command, args, {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));

    const sampler = options.sampleRss
      ? setInterval(() => {
          const kb = child.pid === undefined ? undefined : readStatusKb(child.pid, 'VmHWM');
          if (kb !== undefined) peakKb = Math.max(peakKb ?? 0, kb);
        }, RSS_POLL_MS)
      : undefined;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`${describe(command, args)} did not finish within ${timeoutMs} ms${tail(Buffer.concat(stderr).toString())}`));
    }, timeoutMs);

    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      if (err) return reject(err);
      resolve({
        ms: exit!.wall,
        spawnedAt,
        exitedAt: exit!.at,
        code: exit!.code,
        signal: exit!.signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        peakRssMb: peakKb === undefined ? undefined : peakKb / 1024,
        userMs: exit!.cpu && cpuBefore ? exit!.cpu.user - cpuBefore.user : undefined,
        systemMs: exit!.cpu && cpuBefore ? exit!.cpu.system - cpuBefore.system : undefined,
      });
    };
    child.once('error', (err) => finish(new Error(`cannot run ${describe(command, args)}: ${err.message}`)));
    // The wall time ends at exit; the result waits for 'close' so that all output has been read.
    child.once('exit', (code, signal) => {
      // The child is reaped by now: its CPU time is in ours (exact unless another child ended meanwhile).
      exit = { at: Date.now(), wall: performance.now() - started, code, signal, cpu: childrenCpu() };
    });
    child.once('close', () => finish(exit ? undefined : new Error(`${describe(command, args)} closed without an exit status`)));
  });
}

/** expectSuccess throws a readable error unless the run exited with code 0. */
export function expectSuccess(run: TimedRun, what: string): TimedRun {
  if (run.code !== 0) {
    const how = run.signal ? `was killed by ${run.signal}` : `exited with ${run.code}`;
    throw new Error(`${what} ${how}${tail(run.stderr)}`);
  }
  return run;
}

/**
 * runMgmt runs the CLI as an operator does, `bin/mgmt.js ...args` (its first line starts node with
 * the launcher's flags, see bin/mgmt.js), to completion and times it.
 */
export function runMgmt(args: readonly string[], options: SpawnOptions = {}): Promise<TimedRun> {
  return timedRun(MGMT_BIN, args, options);
}

/** runNode runs a node process (`node ...args`) to completion and times it. */
export function runNode(args: readonly string[], options: SpawnOptions = {}): Promise<TimedRun> {
  return timedRun(process.execPath, args, options);
}

/** LongRunning is a child that runs until stopped, with its stdout delivered line by line. */
export interface LongRunning {
  readonly child: ChildProcess;
  /** Resolves with code and signal when the child exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the child wrote on stderr so far. */
  stderr(): string;
}

/** startNode starts `node ...args` in the background and calls onLine for each stdout line. */
export function startNode(args: readonly string[], onLine: (line: string) => void, options: SpawnOptions = {}): LongRunning {
  const child = track(
    spawn(process.execPath, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let errText = '';
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    // Keep the tail only: a chatty child must not grow the bench's memory without bound.
    errText = (errText + chunk).slice(-64 * 1024);
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  return { child, exited, stderr: () => errText };
}

/** stopChild sends `signal`, waits up to graceMs for the exit, then kills; it reports how long the exit took. */
export async function stopChild(
  running: LongRunning,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<{ ms: number | null; code: number | null; signal: NodeJS.Signals | null }> {
  const started = performance.now();
  if (running.child.exitCode !== null || running.child.signalCode !== null) {
    return { ms: 0, code: running.child.exitCode, signal: running.child.signalCode as NodeJS.Signals | null };
  }
  running.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    running.exited.then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  const ms = inTime ? performance.now() - started : null;
  if (!inTime) running.child.kill('SIGKILL');
  return { ms, ...(await running.exited) };
}

// /proc reports CPU times in USER_HZ ticks, 100 a second on Linux.
const TICK_MS = 10;

/** ChildrenCpu is the CPU time of the children this process has waited for, in ms. */
interface ChildrenCpu {
  readonly user: number;
  readonly system: number;
}

/** childrenCpu reads cutime and cstime of /proc/self/stat. */
function childrenCpu(): ChildrenCpu | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[13]) * TICK_MS, system: Number(fields[14]) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** readStatusKb reads one `Vm*` line of /proc/<pid>/status in KiB (undefined if unavailable). */
export function readStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function describe(command: string, args: readonly string[]): string {
  return [command, ...args].map((part) => (/\s/.test(part) ? JSON.stringify(part) : part)).join(' ');
}

function tail(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return '';
  const lines = trimmed.split('\n');
  return ':\n  ' + lines.slice(-15).join('\n  ');
}

/** syncDisks runs sync(1), so that writeback of earlier runs does not land inside the next timed run. */
export async function syncDisks(): Promise<void> {
  expectSuccess(await timedRun('sync', [], { timeoutMs: 60_000 }), 'sync');
}
