// Which directories are on a local file system. The file kind makes the few calls of a small file
// synchronously there (see mainThreadCalls in file-fs.ts), never on a network file system: a call
// to an unreachable server can hang for minutes, and on the main thread it would hang the agent
// (signals, etcd keepalives, every other resource), not just one of libuv's threads.

import { statfs } from 'node:fs';

// statfs f_type of the file systems whose calls go over a network (or to a user-space daemon).
const REMOTE_TYPES: ReadonlySet<number> = new Set([
  0x6969, // nfs
  0x517b, // smb
  0xff534d42, // cifs
  0xfe534d42, // smb2
  0x65735546, // fuse (sshfs, s3fs, ...)
  0x00c36400, // ceph
  0x01021997, // 9p
  0x73757245, // coda
  0x5346414f, // afs
  0x6b414653, // kafs
  0x564c, // ncp
  0x7461636f, // ocfs2
  0x01161970, // gfs2
  0x47504653, // gpfs
  0x0bd00bd0, // lustre
]);

/** isRemoteType says whether a statfs f_type is one of a network (or user-space) file system. */
export function isRemoteType(type: number): boolean {
  return REMOTE_TYPES.has(type);
}

/** LocalDirs remembers, per directory, whether it is on a local file system (asked once, with statfs). */
export class LocalDirs {
  private readonly verdicts = new Map<string, Promise<boolean> | boolean>();

  /** isLocal says whether `dir` is on a local file system; a directory it cannot ask about is not. */
  isLocal(dir: string): boolean | Promise<boolean> {
    const known = this.verdicts.get(dir);
    if (known !== undefined) return known;
    const asking = new Promise<boolean>((resolve) => {
      statfs(dir, (err, stats) => {
        // Missing or unreadable: not remembered, the next check asks again.
        const local = !err && !isRemoteType(stats.type);
        if (err) this.verdicts.delete(dir);
        else this.verdicts.set(dir, local);
        resolve(local);
      });
    });
    this.verdicts.set(dir, asking);
    return asking;
  }
}
