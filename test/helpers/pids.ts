// Processes the tests start through the agent: their pids, written by the commands themselves,
// and whether they still run.

import { existsSync, readFileSync } from 'node:fs';
import { waitFor } from './log.js';

/** isAlive says whether `pid` runs; a zombie (dead, not yet reaped) does not. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** pidIn waits until a command has written its pid and a newline to `file`, and returns the pid. */
export async function pidIn(file: string, timeoutMs = 15_000): Promise<number> {
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'), `a pid in ${file}`, timeoutMs);
  return Number(readFileSync(file, 'utf8').trim());
}

/**
 * pidPairIn waits until a fixture such as spawn-grandchild.sh has recorded "<own pid> <grandchild
 * pid>" in `file` (it renames the file into place, so it is whole once it exists) and returns both.
 */
export async function pidPairIn(file: string): Promise<[number, number]> {
  await waitFor(() => existsSync(file), `the fixture to record its pids in ${file}`);
  return readFileSync(file, 'utf8').trim().split(' ').map(Number) as [number, number];
}
