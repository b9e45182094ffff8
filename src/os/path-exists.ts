import { stat } from 'node:fs/promises';

/** pathExists says whether `path` exists, following symlinks (like Go's os.Stat: a dangling link does not count). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}
