// Baseline of the drift scenario: the floor of "notice with inotify, then rewrite". One fs.watch
// on the directory; on each event naming a managed file, read it and, if it is missing or wrong,
// rewrite it atomically (temp file + rename, synchronously). Prints "ready" once watching.
// Usage: node repair-files.js MANIFEST.json — runs until killed.

import { readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Manifest {
  readonly dir: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly content: string }>;
}

const manifest = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Manifest;
const wanted = new Map(manifest.files.map((file) => [file.name, file.content]));

const repair = (name: string, content: string): void => {
  const path = join(manifest.dir, name);
  let actual: string | undefined;
  try {
    actual = readFileSync(path, 'utf8');
  } catch {
    actual = undefined;
  }
  if (actual === content) return;
  const temp = join(manifest.dir, `.${name}.repair`);
  writeFileSync(temp, content);
  renameSync(temp, path);
};

watch(manifest.dir, (_event, name) => {
  const content = name ? wanted.get(name.toString()) : undefined;
  if (content !== undefined) repair(name!.toString(), content);
});
process.on('SIGTERM', () => process.exit(0));
process.stdout.write('ready\n');
