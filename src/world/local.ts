// The local World: what hosts share, kept as files under --prefix so a restarted agent keeps its
// strings and exports, and so two agents sharing one prefix on one machine see each other.
//
// Layout under `dir`:
//   exported/<host>.json  one host's whole export set, {"host", "resources": [{kind, name, params}]}
//   strings/<key>         one string key per file, its value as the file's bytes
//   tmp/                  files being written; renamed into place when complete
// Names are encodeURIComponent-encoded (keys may hold `/`), with a leading `.` encoded too so no
// key can name `.`, `..` or a hidden file.

import { constants, readdirSync, unlinkSync } from 'node:fs';
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { defer, type Observable, ReplaySubject, takeUntil } from 'rxjs';
import { writeFileAtomic } from '../os/atomic-write.js';
import { pathExists } from '../os/path-exists.js';
import { createFsWatcher, type FsWatcher } from '../watchers/fs.js';
import { ensurePrivateDir } from './private-dir.js';
import type { ExportedResource, ExportSpec, World } from './types.js';

/** LocalWorldOptions says which host this is and where the World persists. */
export interface LocalWorldOptions {
  /** This host's name; its exports go to `exported/<hostname>.json`. */
  readonly hostname: string;
  /**
   * The directory the World keeps its files in (e.g. `<prefix>/world`); created when missing. It
   * and its parents must be root's or the agent's user's and writable by no one else (see
   * ensurePrivateDir): the constructor throws otherwise.
   */
  readonly dir: string;
}

// Most file systems allow 255 bytes per name; the `.json` suffix needs 5 of them.
const MAX_NAME_BYTES = 250;

/** LocalWorld is the World of a host without a cluster: files under a directory, watched with inotify. */
export class LocalWorld implements World {
  readonly hostname: string;
  private readonly exportedDir: string;
  private readonly stringsDir: string;
  private readonly tmpDir: string;
  private readonly fsWatcher: FsWatcher;
  // Replays its one value, so a watch subscribed after close completes at once.
  private readonly closed$ = new ReplaySubject<void>(1);
  private closed = false;

  constructor(options: LocalWorldOptions) {
    this.hostname = options.hostname;
    // Created and checked up front, so watches start on existing directories, writes need no mkdir
    // of their own, and no write goes through a symlink someone planted in place of a directory.
    const dir = ensurePrivateDir(options.dir, { parents: true });
    this.exportedDir = ensurePrivateDir(join(dir, 'exported'));
    this.stringsDir = ensurePrivateDir(join(dir, 'strings'));
    // Temporary files live beside the targets' directories, on the same file system (so rename is
    // atomic), but outside them, so a watch of exports never fires for a half-written file.
    this.tmpDir = ensurePrivateDir(join(dir, 'tmp'));
    removeStaleTemps(this.tmpDir);
    this.fsWatcher = createFsWatcher();
  }

  async exportResources(resources: readonly ExportSpec[]): Promise<void> {
    this.checkOpen();
    const target = join(this.exportedDir, `${fileName(this.hostname, 'hostname')}.json`);
    // Nothing to export and nothing exported before: no file to write (a one-shot run of a host
    // that exports nothing then writes and fsyncs nothing for it).
    if (resources.length === 0 && !(await pathExists(target))) return;
    const file = { host: this.hostname, resources: resources.map(({ kind, name, params }) => ({ kind, name, params })) };
    await this.writeAtomic(target, `${JSON.stringify(file, null, 2)}\n`);
  }

  async collectResources(kinds: readonly string[], onProblem: (problem: string) => void = () => {}): Promise<ExportedResource[]> {
    this.checkOpen();
    const wanted = new Set(kinds);
    const found: ExportedResource[] = [];
    for (const entry of (await readdir(this.exportedDir)).sort()) {
      if (!entry.endsWith('.json') || entry.startsWith('.')) continue;
      const path = join(this.exportedDir, entry);
      let text: string;
      try {
        text = await readNoFollow(path);
      } catch (err) {
        // A host may replace or remove its file between readdir and read; that is not a problem.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        onProblem(`cannot read exported resources ${path}: ${(err as Error).message}`);
        continue;
      }
      for (const res of parseExportFile(path, entry.slice(0, -'.json'.length), text, onProblem)) {
        if (wanted.has(res.kind)) found.push(res);
      }
    }
    return found.sort((a, b) => compare(a.host, b.host) || compare(a.kind, b.kind) || compare(a.name, b.name));
  }

  watchResources(): Observable<void> {
    return this.watch(this.exportedDir, true);
  }

  async strGet(key: string): Promise<string | undefined> {
    this.checkOpen();
    try {
      return await readNoFollow(this.stringPath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async strSet(key: string, value: string): Promise<void> {
    this.checkOpen();
    await this.writeAtomic(this.stringPath(key), value);
  }

  async strDel(key: string): Promise<void> {
    this.checkOpen();
    try {
      await unlink(this.stringPath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  strWatch(key: string): Observable<void> {
    return defer(() => this.watch(this.stringPath(key), false));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Complete the watches first, so closing the fs watcher does not turn them into errors.
    this.closed$.next();
    this.closed$.complete();
    this.fsWatcher.close();
  }

  /** watch emits when `path` (and, if recursive, anything below it) may have changed, until close. */
  private watch(path: string, recursive: boolean): Observable<void> {
    return defer(() => this.fsWatcher.watchPath(path, { recursive })).pipe(takeUntil(this.closed$));
  }

  /** stringPath is the file that holds a string key. */
  private stringPath(key: string): string {
    return join(this.stringsDir, fileName(key, 'key'));
  }

  /** writeAtomic replaces `target` with `data` so readers see the old or the new bytes, never a mix. */
  private writeAtomic(target: string, data: string): Promise<void> {
    return writeFileAtomic(target, data, { tempDir: this.tmpDir, mode: 0o600 });
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`the local world of ${this.hostname} is closed`);
  }
}

// A temporary file is named `<pid>-<suffix>.tmp` by the agent writing it.
const TEMP_NAME = /^(\d+)-[^/]*\.tmp$/;

/**
 * removeStaleTemps removes what writers killed mid-write (SIGKILL, a crash) left in the World's
 * tmp dir; a file of a process still running (another agent sharing the prefix) is left alone.
 */
function removeStaleTemps(tmpDir: string): void {
  for (const entry of readdirSync(tmpDir)) {
    const pid = TEMP_NAME.exec(entry)?.[1];
    if (pid === undefined || isRunning(Number(pid))) continue;
    try {
      unlinkSync(join(tmpDir, entry));
    } catch {
      // removed meanwhile by another agent opening the same World
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** readNoFollow reads a file of the World, refusing (ELOOP) a symlink planted in its place. */
async function readNoFollow(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** fileName encodes a key or host name as one safe file name (no `/`, no leading `.`). */
function fileName(name: string, what: string): string {
  if (name === '') throw new Error(`the local world cannot store an empty ${what}`);
  const encoded = encodeURIComponent(name).replace(/^\./, '%2E');
  if (Buffer.byteLength(encoded) > MAX_NAME_BYTES) {
    throw new Error(`${what} "${name.slice(0, 40)}…" is too long for the local world (${encoded.length} bytes encoded, at most ${MAX_NAME_BYTES}); use a shorter ${what}`);
  }
  return encoded;
}

/** parseExportFile reads one host's export file; what is malformed is reported and left out. */
function parseExportFile(path: string, encodedHost: string, text: string, onProblem: (problem: string) => void): ExportedResource[] {
  let host: string;
  let data: unknown;
  try {
    host = decodeURIComponent(encodedHost);
    data = JSON.parse(text);
  } catch (err) {
    onProblem(`skipped exported resources ${path}: ${(err as Error).message}`);
    return [];
  }
  if (!isRecord(data) || data.host !== host || !Array.isArray(data.resources)) {
    onProblem(`skipped exported resources ${path}: expected {"host": "${host}", "resources": [...]}`);
    return [];
  }
  const out: ExportedResource[] = [];
  data.resources.forEach((res: unknown, i) => {
    if (isRecord(res) && isName(res.kind) && isName(res.name) && isRecord(res.params)) {
      out.push({ host, kind: res.kind, name: res.name, params: res.params });
    } else {
      onProblem(`skipped exported resource #${i} of ${path}: expected {"kind", "name", "params"} with non-empty strings and an object`);
    }
  });
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

// Code-unit order, not locale order, so every host sorts the same way.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
