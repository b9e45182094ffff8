// The managed files of the file scenarios: N files of about 100 bytes in one directory, written
// out both as an mgmt YAML graph and as a JSON manifest for the plain-Node baselines.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** ManagedFile is one file a scenario manages: its absolute path and exact content. */
export interface ManagedFile {
  readonly name: string;
  readonly path: string;
  readonly content: string;
}

/** Manifest is what the baseline helpers read: the directory and every file in it. */
export interface Manifest {
  readonly dir: string;
  readonly files: readonly ManagedFile[];
}

const CONTENT_BYTES = 100;

/** makeManifest describes `count` files in `dir`, each with distinct content of 100 bytes. */
export function makeManifest(dir: string, count: number): Manifest {
  const files: ManagedFile[] = [];
  const width = String(count - 1).length;
  for (let i = 0; i < count; i++) {
    const name = `f${String(i).padStart(width, '0')}`;
    const head = `managed by mgmt bench: file ${i} of ${count} `;
    const content = head + '0123456789abcdef'.repeat(8).slice(0, CONTENT_BYTES - head.length - 1) + '\n';
    files.push({ name, path: join(dir, name), content });
  }
  return { dir, files };
}

/** toYaml renders the manifest as an mgmt graph of `file` resources (JSON strings are valid YAML scalars). */
export function toYaml(graphName: string, manifest: Manifest): string {
  const lines = [`graph: ${graphName}`, 'resources:', '  file:'];
  for (const file of manifest.files) {
    lines.push(`  - name: ${file.name}`, `    path: ${JSON.stringify(file.path)}`, `    content: ${JSON.stringify(file.content)}`);
  }
  return lines.join('\n') + '\n';
}

/** writeGraphAndManifest writes `<base>.yaml` and `<base>.json` next to each other and returns their paths. */
export async function writeGraphAndManifest(base: string, graphName: string, manifest: Manifest): Promise<{ yaml: string; json: string }> {
  const yaml = `${base}.yaml`;
  const json = `${base}.json`;
  await writeFile(yaml, toYaml(graphName, manifest));
  await writeFile(json, JSON.stringify(manifest));
  return { yaml, json };
}

/** wrongFiles lists the names of the managed files that are missing or differ from their content. */
export async function wrongFiles(manifest: Manifest): Promise<string[]> {
  const wrong: string[] = [];
  for (const file of manifest.files) {
    const actual = await readFile(file.path, 'utf8').catch(() => undefined);
    if (actual !== file.content) wrong.push(file.name);
  }
  return wrong;
}

/** expectConverged throws, naming a few, unless every managed file exists with exactly its content. */
export async function expectConverged(manifest: Manifest, what: string): Promise<void> {
  const wrong = await wrongFiles(manifest);
  if (wrong.length > 0) {
    throw new Error(`${what} left ${wrong.length} of ${manifest.files.length} files missing or wrong (e.g. ${wrong.slice(0, 3).join(', ')})`);
  }
}

/** emptyDir retires the manifest's directory and makes it again, empty, for a first converge. */
export async function emptyDir(manifest: Manifest): Promise<void> {
  await retireDir(manifest.dir);
  await mkdir(manifest.dir, { recursive: true });
}

let retired = 0;

/**
 * retireDir moves `dir` (if it exists) aside into `.retired/` beside it instead of removing it;
 * the bench removes it all when it exits. Why: on ext4 without a journal (this machine's disk), a
 * new inode is never one freed in the last 60 to 360 seconds, and the allocator walks past every
 * such inode in the group on each create. Removing 1,000 files and writing 1,000 new ones right
 * after made each create cost ~0.5 ms of system time (0.66 s for the plain Node loop against
 * 0.05 s on a fresh directory), for the agents and the baselines alike: the figures measured the
 * kernel's walk, not the agents. An operator's first converge does not follow such a removal.
 */
export async function retireDir(dir: string): Promise<void> {
  const graveyard = join(dirname(dir), '.retired');
  await mkdir(graveyard, { recursive: true });
  await rename(dir, join(graveyard, `${basename(dir)}-${++retired}`)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
