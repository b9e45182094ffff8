import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * findOnPath returns the absolute path of the first executable regular file called `name` in the
 * directories of `searchPath` (the agent's PATH), or undefined. Relative entries (the empty one
 * included, meaning ".") are skipped: they would make the program depend on the agent's working
 * directory, a classic hijack of a root process.
 */
export async function findOnPath(name: string, searchPath = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** isExecutableFile says whether `path` is a regular file we may execute (access() alone accepts directories). */
export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false; // missing, unreadable or not executable
  }
}
