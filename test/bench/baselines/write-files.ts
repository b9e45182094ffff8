// Baseline of the files scenarios' first converge: the obvious loop a sysadmin would write.
// Usage: node write-files.js MANIFEST.json — writes every file atomically (a temp file in the same
// directory, then rename), one after the other with fs/promises, no fsync (like the agent).

import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

interface Manifest {
  readonly files: ReadonlyArray<{ readonly path: string; readonly content: string }>;
}

const manifest = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as Manifest;
for (const file of manifest.files) {
  const temp = join(dirname(file.path), `.${basename(file.path)}.tmp`);
  await writeFile(temp, file.content);
  await rename(temp, file.path);
}
