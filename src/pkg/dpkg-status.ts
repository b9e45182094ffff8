// dpkg's database of installed packages, read directly: /var/lib/dpkg/status plus the journal
// entries in updates/ that dpkg has not folded into it yet (what dpkg-query reads, without the
// ~5 ms process). Only the stanzas of the packages asked about are parsed (a host's status file is
// about 1 MB; a one-shot run asks about a few packages, once before and once after its
// transaction), and the database is kept until the files change, so the check of an installed
// package costs a stat.
//
// A read must not overlap a checkpoint. dpkg journals each change into updates/NNNN, and at the
// end of a run writes a new status file, renames it into place and only then deletes the journal
// entries. A read that began between the two (the rename is what the pkg watch hears) could pair
// the new status file with the first entries of the journal (`deinstall ok installed`, still
// installed) when the later ones were gone by the time it opened them; and no event follows the
// deletions. So the state of the files is stamped before and after each read, and a read that
// overlapped a change is made again.

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

  /**
   * texts are the status file and then the journal entries, in the order dpkg applies them (a
   * later stanza of a package and architecture replaces an earlier one).
   */
  constructor(
    private readonly texts: readonly string[],
    private readonly nativeArch: string,
  ) {}

  /**
   * entry returns the installed entry for `name` (`name:arch` picks an architecture); with several
   * architectures installed, the native one or `all` wins.
   */
  entry(name: string): DpkgEntry | undefined {
    const colon = name.indexOf(':');
    const bare = colon < 0 ? name : name.slice(0, colon);
    const arch = colon < 0 ? undefined : name.slice(colon + 1);
    const installed = this.stanzas(bare).filter(isInstalledEntry);
    if (arch !== undefined) return installed.find((entry) => entry.arch === arch || (arch === this.nativeArch && entry.arch === 'all'));
    return installed.find((entry) => entry.arch === this.nativeArch || entry.arch === 'all') ?? installed[0];
  }

  /** installedVersion returns the installed version of `name`, or undefined. */
  installedVersion(name: string): string | undefined {
    return this.entry(name)?.version;
  }

  /** stanzas finds and parses the stanzas of package `bare` only, one per architecture. */
  private stanzas(bare: string): DpkgEntry[] {
    const known = this.byName.get(bare);
    if (known !== undefined) return known;
    const list: DpkgEntry[] = [];
    const field = `Package: ${bare}\n`;
    for (const text of this.texts) {
      let parsedUpTo = -1;
      for (let at = text.indexOf(field); at >= 0; at = text.indexOf(field, at + field.length)) {
        if (at > 0 && text.charCodeAt(at - 1) !== 10) continue; // inside another line
        if (at < parsedUpTo) continue; // in a block parsed already
        // The block of lines around it, between blank lines (parseDpkgStatus splits a block
        // holding several stanzas without a blank line between them).
        const blank = text.lastIndexOf('\n\n', at);
        const from = blank < 0 ? 0 : blank + 2;
        const next = text.indexOf('\n\n', at);
        parsedUpTo = next < 0 ? text.length : next;
        for (const entry of parseDpkgStatus(text.slice(from, parsedUpTo))) {
          if (entry.name !== bare) continue;
          const same = list.findIndex((other) => other.arch === entry.arch);
          if (same >= 0) list[same] = entry;
          else list.push(entry);
        }
      }
    }
    this.byName.set(bare, list);
    return list;
  }
}

interface Cached {
  readonly stamp: string;
  readonly db: DpkgDatabase;
}

/** DpkgState is one state of dpkg's database files: a stamp that changes with them, and the journal entries waiting. */
export interface DpkgState {
  readonly stamp: string;
  /** The journal entries in updates/, in the order dpkg applies them. */
  readonly pending: readonly string[];
}

/**
 * dpkgState stamps dpkg's database under `dir`: the status file's identity, size and times (dpkg
 * replaces it by rename, a new inode) and the journal entries waiting in updates/ (each is renamed
 * into place whole, so its name says enough). Rejects when the status file cannot be read.
 */
export async function dpkgState(dir: string): Promise<DpkgState> {
  const [info, journal] = await Promise.all([stat(join(dir, 'status'), { bigint: true }), readdir(join(dir, 'updates')).catch(() => [] as string[])]);
  // Journal entries are numbered; anything else there (tmp.i) is being written.
  const pending = journal.filter((file) => /^\d+$/.test(file)).sort();
  return { stamp: `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}:${pending.join(',')}`, pending };
}

// A read that keeps overlapping dpkg's writes gives up after this many tries (dpkg's own next
// checkpoint is heard by the watch, and the failed check is tried again then).
const READ_TRIES = 20;
const READ_RETRY_MS = 5;

// One parse per database directory and state of its files, shared by every resource of the agent.
const cache = new Map<string, Cached>();

/**
 * readDpkgDatabase returns dpkg's database under `dir` (default /var/lib/dpkg), parsed again only
 * when the status file or the journal changed since the last call.
 */
export async function readDpkgDatabase(dir: string, nativeArch: string = nativeDebianArch()): Promise<DpkgDatabase> {
  let before = await dpkgState(dir);
  for (let tries = 1; ; tries++) {
    const cached = cache.get(dir);
    if (cached?.stamp === before.stamp) return cached.db;
    // latin1: the fields read are ASCII, and decoding a megabyte as UTF-8 costs more than finding the stanzas.
    const texts = await Promise.all([
      readFile(join(dir, 'status'), 'latin1'),
      // An entry deleted meanwhile reads as nothing: the stamp after the read then differs.
      ...before.pending.map((file) => readFile(join(dir, 'updates', file), 'latin1').catch(() => '')),
    ]);
    const after = await dpkgState(dir);
    if (after.stamp === before.stamp) {
      const db = new DpkgDatabase(texts, nativeArch);
      cache.set(dir, { stamp: before.stamp, db });
      return db;
    }
    if (tries >= READ_TRIES) throw new Error(`dpkg's database in ${dir} kept changing while it was read (${READ_TRIES} tries): a package transaction is running`);
    before = after;
    await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
  }
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
