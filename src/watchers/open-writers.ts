// Who has a file open for writing, read from /proc: inotify through fs.watch reports no
// close-after-write, so a live reload asks the kernel's open-file tables instead. The agent runs as
// root and so sees every process; a non-root agent sees its own user's (others are skipped).

import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';

// fdinfo's flags are octal open(2) flags; O_ACCMODE picks O_RDONLY (0), O_WRONLY (1) or O_RDWR (2).
const O_ACCMODE = 0o3;

/**
 * writersOf resolves to the pids of the processes that hold the file at `path` open for writing
 * (O_WRONLY or O_RDWR), matched by device and inode; none when the path or /proc is missing. Processes
 * that exit or cannot be read during the scan are skipped, so it never rejects for them.
 */
export async function writersOf(path: string, procDir = '/proc'): Promise<number[]> {
  let real: string;
  let target: { dev: number; ino: number };
  try {
    real = await realpath(path);
    target = await stat(real);
  } catch {
    return [];
  }
  let entries: string[];
  try {
    entries = await readdir(procDir);
  } catch {
    return []; // no /proc to ask (not Linux, or not mounted): the quiet period alone decides
  }
  const pids = entries.filter((entry) => /^\d+$/.test(entry));
  const found = await Promise.all(pids.map(async (pid) => ((await holdsForWriting(procDir, pid, real, target)) ? [Number(pid)] : [])));
  return found.flat();
}

async function holdsForWriting(procDir: string, pid: string, real: string, target: { dev: number; ino: number }): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`${procDir}/${pid}/fd`);
  } catch {
    return false; // gone, or another user's process seen by a non-root agent
  }
  for (const fd of fds) {
    const link = `${procDir}/${pid}/fd/${fd}`;
    try {
      // The link text is the file's current name: cheap to compare, and the inode check below
      // confirms it (a file replaced meanwhile keeps its old name in a writer's fd).
      const name = await readlink(link);
      if (name !== real) continue;
      const opened = await stat(link);
      if (opened.dev !== target.dev || opened.ino !== target.ino) continue;
      const info = await readFile(`${procDir}/${pid}/fdinfo/${fd}`, 'utf8');
      const flags = /^flags:\s+([0-7]+)$/m.exec(info)?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_ACCMODE) !== 0) return true;
    } catch {
      // the fd was closed or the process exited during the scan
    }
  }
  return false;
}
