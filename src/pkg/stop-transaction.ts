// Stopping an apt-get transaction that was aborted (a timeout, a graph swap, a shutdown) without
// leaving dpkg worse than it was.
//
// apt-get runs dpkg on a pseudo-terminal in a session of its own, so the process group apt-get
// leads does not hold dpkg. Killing apt-get while dpkg runs hangs up dpkg's terminal: dpkg dies
// mid-package and leaves it `reinstreq half-installed` with its journal pending ("dpkg was
// interrupted"); and a kill sent as apt-get forks dpkg can miss dpkg altogether. So:
// - apt-get's group gets SIGINT, once: before the dpkg phase apt-get ends there (nothing has
//   changed); in it, apt-get lets the running dpkg finish and starts no other (apt's own ^C);
// - the maintainer scripts dpkg runs get SIGTERM (with everything they started), as if a script
//   had failed: dpkg unwinds that package itself (abort-install, abort-upgrade: scripts called so
//   are left alone) and returns an error;
// - what still runs after the grace gets SIGKILL, the whole tree.
// Then the caller puts dpkg's database in order where it needs it (apt.ts): `dpkg --configure -a`,
// what dpkg asks for after an interruption, configures what was unpacked and folds in a journal
// left by a SIGKILL, so dpkg is never left half-way.

import { readdir, readFile } from 'node:fs/promises';

/** ProcessInfo is one process of a tree, from /proc. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly session: number;
  readonly args: readonly string[];
}

// How often the tree is looked at again while it winds down: dpkg may go on to the next package's script.
const SWEEP_MS = 50;

/**
 * scriptsToStop picks, in `tree` (the descendants of the transaction's leader `leader`, which leads
 * its own session), the processes to SIGTERM: those of other sessions (dpkg's) below their session
 * leader, except a script that unwinds (an `abort-*` argument) and what it started.
 */
export function scriptsToStop(leader: number, tree: readonly ProcessInfo[]): number[] {
  const byPid = new Map(tree.map((p) => [p.pid, p]));
  const unwinding = (p: ProcessInfo): boolean => {
    for (let at: ProcessInfo | undefined = p; at !== undefined && at.pid !== at.session; at = byPid.get(at.ppid)) {
      if (at.args.some((arg) => arg.startsWith('abort-'))) return true;
    }
    return false;
  };
  return tree.filter((p) => p.session !== leader && p.pid !== p.session && !unwinding(p)).map((p) => p.pid);
}

/** descendants lists the processes below `pid` (not itself), from /proc. */
export async function descendants(pid: number): Promise<ProcessInfo[]> {
  const all = await processes();
  const children = new Map<number, ProcessInfo[]>();
  for (const p of all) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcessInfo[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

async function processes(): Promise<ProcessInfo[]> {
  const entries = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const found = await Promise.all(
    entries.map(async (name): Promise<ProcessInfo | undefined> => {
      try {
        const [stat, cmdline] = await Promise.all([readFile(`/proc/${name}/stat`, 'latin1'), readFile(`/proc/${name}/cmdline`, 'latin1')]);
        // The command name in parentheses may hold anything, spaces and parentheses included.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return { pid: Number(name), ppid: Number(fields[1]), session: Number(fields[3]), args: cmdline.split('\0').filter((arg) => arg !== '') };
      } catch {
        return undefined; // gone meanwhile
      }
    }),
  );
  return found.filter((p) => p !== undefined);
}

/**
 * stopTransaction ends the transaction led by `leader` (in its own session and process group) as
 * described above and resolves once `exited` has, SIGKILLing the whole tree after `graceMs`.
 */
export async function stopTransaction(leader: number, exited: Promise<unknown>, graceMs: number): Promise<void> {
  let done = false;
  void exited.finally(() => (done = true)).catch(() => undefined);
  const killAt = performance.now() + graceMs;
  const termed = new Set<number>();
  signal(-leader, 'SIGINT');
  while (!done) {
    const tree = await descendants(leader).catch(() => [] as ProcessInfo[]);
    if (performance.now() >= killAt) {
      signal(-leader, 'SIGKILL');
      for (const p of tree) signal(p.pid, 'SIGKILL');
    } else {
      for (const pid of scriptsToStop(leader, tree)) {
        if (termed.has(pid)) continue;
        termed.add(pid);
        signal(pid, 'SIGTERM');
      }
    }
    await Promise.race([exited.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, SWEEP_MS))]);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}
