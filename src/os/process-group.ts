// Killing what a process started: every process the runner starts leads a process group of its
// own, and a kill goes to the whole group, so a grandchild (a shell's pipeline, a daemon that
// forked) dies with its parent.

/** KILL_GRACE_MS is how long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 300;

/** signalGroup signals every process of the group led by `pid`; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
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
