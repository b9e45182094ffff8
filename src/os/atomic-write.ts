// Replacing a whole file so that a reader sees the old bytes or the new, never a mix: the bytes go
// to a temp file on the same file system, are flushed, and the temp file is renamed over the target.
// The file resource writes through directory descriptors instead (resources/file-io.ts): it must not
// follow a link it did not declare; these writers own their directories.

import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** AtomicWriteOptions say where the temp file goes and what mode the new file gets. */
export interface AtomicWriteOptions {
  /** A directory on the target's file system for the temp file; undefined = the target's own directory. */
  readonly tempDir?: string;
  /** The new file's mode, before the umask; default 0o666. */
  readonly mode?: number;
}

/**
 * writeFileAtomic replaces `target` with `data`: written to a fresh temp file (created exclusively),
 * flushed, then renamed into place, so a crash cannot leave an empty or half file under the real
 * name. On failure the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempPathFor(target, options.tempDir);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o666);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/**
 * tempPathFor names a fresh temp file for `target`: `<pid>-<random>.tmp` in `tempDir` (which holds
 * temp files only, so a stale one is known by its pid), else `.<name>.<pid>.<random>.tmp` hidden
 * beside the target, where rename() stays atomic.
 */
export function tempPathFor(target: string, tempDir?: string): string {
  if (tempDir !== undefined) return join(tempDir, `${process.pid}-${tempSuffix()}.tmp`);
  return join(dirname(target), `.${basename(target)}.${process.pid}.${tempSuffix()}.tmp`);
}

/**
 * tempSuffix is 8 random characters for a temp file's name. Not crypto-grade on purpose
 * (randomBytes showed in the profile of 10,000 writes, and loading node:crypto costs a one-shot
 * run ~2.5 ms): temp files are created with O_EXCL, so a guessed name only makes a write fail.
 */
export function tempSuffix(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}
