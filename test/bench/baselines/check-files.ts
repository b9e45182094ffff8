// Baseline of the files scenarios' re-check: read every file and compare it with its content.
// Usage: node check-files.js MANIFEST.json — exits 1 and names the count if any file is wrong.

import { readFile } from 'node:fs/promises';

interface Manifest {
  readonly files: ReadonlyArray<{ readonly path: string; readonly content: string }>;
}

const manifest = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as Manifest;
let wrong = 0;
for (const file of manifest.files) {
  const actual = await readFile(file.path, 'utf8').catch(() => undefined);
  if (actual !== file.content) wrong++;
}
if (wrong > 0) {
  process.stderr.write(`check-files: ${wrong} of ${manifest.files.length} files are missing or wrong\n`);
  process.exitCode = 1;
}
