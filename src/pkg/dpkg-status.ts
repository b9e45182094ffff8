// dpkg's database of installed packages, read directly: /var/lib/dpkg/status plus the journal
// entries in updates/ that dpkg has not folded into it yet (what dpkg-query reads, without the
// ~5 ms process). A parsed database is kept until the files change, so the check of an installed
// package costs a stat.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** DpkgEntry is one package stanza of dpkg's database. */
export interface DpkgEntry {
  readonly name: string;
  readonly arch: string;
  readonly version: string;
  /** The third word of `Status:` (installed, config-files, half-configured, ...). */
  readonly status: string;
}

// Unpacked and configured; only triggers are left to run, so its files are in place.
const INSTALLED_STATUSES: ReadonlySet<string> = new Set(['installed', 'triggers-pending', 'triggers-awaited']);

/** isInstalledEntry says whether an entry counts as installed. */
export function isInstalledEntry(entry: DpkgEntry): boolean {
  return INSTALLED_STATUSES.has(entry.status);
}

/**
 * parseDpkgStatus reads the stanzas of a dpkg status file (or journal entry), keeping the fields
 * the pkg resource needs. It scans lines without building intermediate objects: a host's
 * database is about 1 MB and is parsed again after every package transaction.
 */
export function parseDpkgStatus(text: string): DpkgEntry[] {
  const entries: DpkgEntry[] = [];
  let name = '';
  let arch = '';
  let version = '';
  let status = '';
  const flush = (): void => {
    if (name !== '') entries.push({ name, arch, version, status });
    name = arch = version = status = '';
  };
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end === start) flush();
    else {
      const first = text.charCodeAt(start);
      // Continuation lines start with a space or a tab; only single-line fields are read.
      if (first !== 32 && first !== 9) {
        const line = text.slice(start, end);
        if (line.startsWith('Package: ')) {
          if (name !== '') flush(); // a stanza without a blank line before it
          name = line.slice(9).trim();
        } else if (line.startsWith('Status: ')) {
          const words = line.slice(8).trim().split(/\s+/);
          status = words[2] ?? '';
        } else if (line.startsWith('Version: ')) version = line.slice(9).trim();
        else if (line.startsWith('Architecture: ')) arch = line.slice(14).trim();
      }
    }
    start = end + 1;
  }
  flush();
  return entries;
}

/** DpkgDatabase answers which version of a package is installed. */
export class DpkgDatabase {
  private readonly byName = new Map<string, DpkgEntry[]>();

  constructor(entries: readonly DpkgEntry[], private readonly nativeArch: string) {
    for (const entry of entries) {
      const list = this.byName.get(entry.name);
      // A later stanza of the same package and architecture (a journal entry) replaces the earlier one.
      if (list === undefined) this.byName.set(entry.name, [entry]);
      else {
        const at = list.findIndex((other) => other.arch === entry.arch);
        if (at >= 0) list[at] = entry;
        else list.push(entry);
      }
    }
  }

  /**
   * entry returns the installed entry for `name` (`name:arch` picks an architecture); with several
   * architectures installed, the native one or `all` wins.
   */
  entry(name: string): DpkgEntry | undefined {
    const colon = name.indexOf(':');
    const bare = colon < 0 ? name : name.slice(0, colon);
    const arch = colon < 0 ? undefined : name.slice(colon + 1);
    const installed = (this.byName.get(bare) ?? []).filter(isInstalledEntry);
    if (arch !== undefined) return installed.find((entry) => entry.arch === arch || (arch === this.nativeArch && entry.arch === 'all'));
    return installed.find((entry) => entry.arch === this.nativeArch || entry.arch === 'all') ?? installed[0];
  }

  /** installedVersion returns the installed version of `name`, or undefined. */
  installedVersion(name: string): string | undefined {
    return this.entry(name)?.version;
  }
}

interface Cached {
  readonly stamp: string;
  readonly db: DpkgDatabase;
}

// One parse per database directory and state of its files, shared by every resource of the agent.
const cache = new Map<string, Cached>();

/**
 * readDpkgDatabase returns dpkg's database under `dir` (default /var/lib/dpkg), parsed again only
 * when the status file or the journal changed since the last call.
 */
export async function readDpkgDatabase(dir: string, nativeArch: string = nativeDebianArch()): Promise<DpkgDatabase> {
  const statusPath = join(dir, 'status');
  const updatesDir = join(dir, 'updates');
  const [info, journal] = await Promise.all([stat(statusPath), readdir(updatesDir).catch(() => [] as string[])]);
  // Journal entries are numbered; anything else there (tmp.i) is being written.
  const pending = journal.filter((file) => /^\d+$/.test(file)).sort();
  const stamp = `${info.ino}:${info.size}:${info.mtimeMs}:${pending.join(',')}`;
  const cached = cache.get(dir);
  if (cached?.stamp === stamp) return cached.db;
  const texts = await Promise.all([readFile(statusPath, 'utf8'), ...pending.map((file) => readFile(join(updatesDir, file), 'utf8').catch(() => ''))]);
  const db = new DpkgDatabase(texts.flatMap(parseDpkgStatus), nativeArch);
  cache.set(dir, { stamp, db });
  return db;
}

const NODE_TO_DEBIAN_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'armhf',
  ia32: 'i386',
  ppc64: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64el',
  loong64: 'loong64',
};

/** nativeDebianArch is Debian's name of the architecture this agent runs on (what `dpkg --print-architecture` says for a native node). */
export function nativeDebianArch(): string {
  return NODE_TO_DEBIAN_ARCH[process.arch] ?? process.arch;
}
