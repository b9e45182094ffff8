import { closeSync, readdirSync, readFileSync } from 'node:fs';

// Linux's O_CLOEXEC, which node's fs.constants does not name.
const O_CLOEXEC = 0o2000000;

/**
 * closeInheritedDescriptors closes every descriptor above 2 that the agent inherited from whoever
 * started it and returns their numbers: node and libuv open all of their own close-on-exec, so a
 * descriptor without that flag came from outside (node's IPC channel, when forked, is close-on-exec
 * too), and would otherwise reach every process the agent starts, including those run as another user.
 */
export function closeInheritedDescriptors(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return []; // no /proc: nothing we can tell
  }
  const closed: number[] = [];
  for (const name of names) {
    const fd = Number(name);
    if (!Number.isInteger(fd) || fd <= 2) continue;
    let flags: number;
    try {
      flags = parseInt(/^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8);
    } catch {
      continue; // gone meanwhile, such as the listing's own descriptor
    }
    if (Number.isNaN(flags) || (flags & O_CLOEXEC) !== 0) continue;
    closeSync(fd);
    closed.push(fd);
  }
  return closed;
}

let inheritedClosed = false;

/**
 * closeInheritedDescriptorsOnce runs closeInheritedDescriptors before the first process starts
 * rather than at import: tests load the runner inside runners whose own inherited descriptors are
 * none of our business until we start a process.
 */
export function closeInheritedDescriptorsOnce(): void {
  if (inheritedClosed) return;
  inheritedClosed = true;
  closeInheritedDescriptors();
}
