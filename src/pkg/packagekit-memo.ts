// What PackageKit said of installed packages (their package ids), kept while dpkg's database stays
// as it was: on a Debian host that database is all PackageKit reads to say what is installed, and
// every Resolve costs it a load of apt's whole cache (0.6 s and more here). The backend's checks
// read dpkg's database themselves; what still asks PackageKit for installed ids (the file lists of
// an autoedge prefetch, made again on every reload of the graph) then costs two stats while
// nothing changed. Without a dpkg database (PackageKit on another distribution) nothing is kept.

import { dirname } from 'node:path';
import { dpkgState } from './dpkg-status.js';

/** InstalledMemo keeps answers per package name for one state of dpkg's status file and journal. */
export class InstalledMemo<T> {
  private stamp: string | undefined;
  private readonly answers = new Map<string, T>();

  /** statusFile is dpkg's status file; its directory holds the journal (updates/). */
  constructor(private readonly statusFile: string) {}

  /**
   * lookup answers `names` from what was kept, calling `ask` for all of them when any is missing
   * or the database changed; an answer is kept only when the database did not change while it was asked.
   */
  async lookup(names: readonly string[], ask: (names: readonly string[]) => Promise<ReadonlyMap<string, T>>): Promise<Map<string, T>> {
    const before = await this.stampNow();
    if (before !== undefined && before === this.stamp && names.every((name) => this.answers.has(name))) {
      return new Map(names.map((name) => [name, this.answers.get(name)!]));
    }
    const asked = await ask(names);
    const after = await this.stampNow();
    if (before !== undefined && before === after) {
      if (this.stamp !== before) this.answers.clear();
      this.stamp = before;
      for (const [name, answer] of asked) this.answers.set(name, answer);
    }
    return new Map(asked);
  }

  private async stampNow(): Promise<string | undefined> {
    return (await dpkgState(dirname(this.statusFile)).catch(() => undefined))?.stamp;
  }
}
