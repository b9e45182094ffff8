import type { Stats } from 'node:fs';
import { combineLatest, map, type Observable } from 'rxjs';
import { copyTree } from './file-copy.js';
import { fchmod, fchown, fstat, mainThreadCalls, stat, threadCalls } from './file-fs.js';
import { resolveId } from './file-ids.js';
import {
  createEmpty,
  isMissing,
  isRace,
  RaceError,
  keepAttributes,
  lstatIfAny,
  makeDir,
  probeContentSync,
  processUmask,
  removePath,
  removeStaleTemps,
  sameBytes,
  sameFiles,
  SMALL_FILE,
  tempBase,
  TempFiles,
  withOpenEntry,
  writeAtomic,
  type ContentProbe,
  type WriteOptions,
} from './file-io.js';
import { LocalDirs } from './local-fs.js';
import { formatMode, parseFileMode, type FileMode } from './file-mode.js';
import { SafeDirs, type SafeDir } from './safe-path.js';
import type { ResourceContext, WatchPathOptions } from '../core/context.js';
import type { ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';
import { fileCollect } from './file-collect.js';
import { filePath, filePathProblem } from './file-path.js';
import { fileUid, parentDirSearch } from './uids.js';
import { accountRefProblem, pathLengthProblem } from './values.js';
import { PathWatch, type OwnRenames } from '../watchers/path-watch.js';
import { eventLoopTurn } from '../os/turn.js';

/** FileState is what `state` may say: the path exists, is absent, or its existence is unmanaged (""). */
export type FileState = 'exists' | 'absent' | '';

/** fileParams declares the parameters of a file resource (classic defaults). */
export const fileParams = paramTable({
  path: { type: 'string', doc: 'absolute path; a trailing / makes it a directory (default: the name)', default: (name) => name },
  // Collect patterns set it.
  dirname: { type: 'string', doc: 'replaces the directory part of path; ends with /', default: '' },
  // Must not start with `/`.
  basename: { type: 'string', doc: 'replaces the last part of path', default: '' },
  // A FileState.
  state: { type: 'string', doc: 'exists (default), absent, or "" to leave existence unmanaged', default: 'exists' },
  content: { type: 'string', doc: 'exact file content (unset = unmanaged; ignored when absent)', optional: true },
  // A directory is copied only to a path ending with `/`.
  source: { type: 'string', doc: 'file to copy, or directory to copy recursively', default: '' },
  // Empty = unmanaged, as for owner and group.
  mode: { type: 'string', doc: 'octal like 0644, or symbolic like u=rw,go=r (= only)', default: '' },
  owner: { type: 'string', doc: 'user name or uid', default: '' },
  group: { type: 'string', doc: 'group name or gid', default: '' },
  recurse: { type: 'bool', doc: 'with state absent, remove a directory and its contents', default: false },
  force: { type: 'bool', doc: 'allow replacing a file by a directory or a directory by a file', default: false },
});

/** FileParams are the parameters of a file resource. */
export type FileParams = ParamsOf<typeof fileParams>;

const STATES: readonly string[] = ['exists', 'absent', ''];

/** accountProblem adds the problem of a file's `owner` or `group`, if it has one. */
function accountProblem(problems: ParamProblem[], key: 'owner' | 'group', ref: string): void {
  const reason = accountRefProblem(ref);
  if (reason !== undefined) problems.push({ param: key, reason: `${key} ${reason}` });
}

/** file manages a file or directory: existence, content (inline or copied), owner, group and mode. */
export const file: ResourceKind<FileParams> = {
  kind: 'file',
  doc: 'manages a file or directory (a path ending in /): existence, content or source copy, owner, group, mode',
  // File I/O queues on libuv's 4 threads: more in flight than this only costs memory (measured).
  parallelism: 32,
  params: fileParams,

  defaults: defaultsOf(fileParams),

  validate(params) {
    // No closure or loop array per call: a graph validates thousands of files, most of them before
    // V8 optimizes this (reading the 10,000-file graph takes 0.92x the instructions of the closure form).
    const problems: ParamProblem[] = [];
    const path = filePath(params);
    if (params.dirname !== '' && !params.dirname.endsWith('/')) {
      problems.push({ param: 'dirname', reason: `dirname "${params.dirname}" must end with "/"` });
    }
    if (params.basename.startsWith('/')) problems.push({ param: 'basename', reason: `basename "${params.basename}" must not start with "/"` });
    const pathProblem = filePathProblem(path);
    if (pathProblem !== undefined) problems.push({ param: 'path', reason: pathProblem });
    if (!STATES.includes(params.state)) {
      problems.push({ param: 'state', reason: `state "${params.state}" must be "exists", "absent" or "" (existence unmanaged)` });
    }
    if (path === '/' && params.state === 'absent') problems.push({ param: 'state', reason: 'refusing to make "/" absent' });
    // Content and source say nothing when the path must be absent (upstream file1.yaml does this).
    // Content on a directory is ignored with a warning, not refused: upstream autoedges2.yaml has it.
    if (params.state !== 'absent' && params.content !== undefined && params.source !== '') {
      problems.push({ param: 'content', reason: 'content and source are mutually exclusive: set only one' });
    }
    if (params.source !== '' && !params.source.startsWith('/')) {
      problems.push({ param: 'source', reason: `source "${params.source}" must be an absolute path` });
    } else if (params.source !== '') {
      const tooLong = pathLengthProblem(params.source);
      if (tooLong !== undefined) problems.push({ param: 'source', reason: `source ${tooLong}` });
    }
    if (params.mode !== '') {
      const parsed = parseFileMode(params.mode);
      if (typeof parsed === 'string') problems.push({ param: 'mode', reason: parsed });
    }
    if (params.owner !== '') accountProblem(problems, 'owner', params.owner);
    if (params.group !== '') accountProblem(problems, 'group', params.group);
    return problems;
  },

  init(params, ctx) {
    return new LiveFile(params, ctx);
  },

  // A file comes after its nearest managed parent directory only: that directory already comes
  // after the ones above it, so further edges would add nothing but work.
  autoedge: {
    uids: (params) => [fileUid(filePath(params))],
    search: (params) => parentDirSearch(filePath(params)),
  },

  collect: fileCollect(),
};

// The directories of managed files, held open after a safe walk (shared by every file resource).
const dirs = new SafeDirs();
// What each directory held of the agent's temp files when a file in it was first applied.
const tempFiles = new TempFiles();
// Which of those directories are on a local file system.
const localDirs = new LocalDirs();
// A check whose path keeps changing under it this many times in a row answers "not OK": the
// change that raced it is an event too, so the next check looks again.
const RACE_ATTEMPTS = 3;
const EMPTY = Buffer.alloc(0);
// The options of a watch, shared (10,000 files each made one).
const RECURSIVE: WatchPathOptions = Object.freeze({ recursive: true });
const NOT_RECURSIVE: WatchPathOptions = Object.freeze({ recursive: false });

/** LiveFile is a running file resource. */
class LiveFile {
  private readonly path: string; // with the trailing `/` of a directory, for messages
  private readonly target: string; // the fs path, without it
  private readonly parent: string | undefined; // the directory holding it (undefined for `/`)
  private readonly base: string; // its name in that directory
  private readonly isDir: boolean;
  private readonly content: Buffer | undefined;
  private readonly mode: FileMode | undefined;
  private tempsSwept = false;
  /** The watch of the path, when it can be told of this resource's own renames onto it. */
  private ownRenames: OwnRenames | undefined;
  /** What the last checkOKSync found when it was not OK, and when (see takeFreshProbe). */
  private lastProbe: { readonly probe: ContentProbe; readonly turn: number } | undefined;

  constructor(
    private readonly params: FileParams,
    private readonly ctx: ResourceContext,
  ) {
    this.path = filePath(params);
    this.isDir = this.path.endsWith('/');
    this.target = this.isDir && this.path !== '/' ? this.path.slice(0, -1) : this.path;
    const cut = this.target.lastIndexOf('/');
    this.parent = this.target === '/' ? undefined : this.target.slice(0, cut) || '/';
    this.base = this.target.slice(cut + 1);
    if (this.isDir && params.content !== undefined && params.state !== 'absent') {
      ctx.log.warn(`content is ignored: path ${this.path} ends with "/", so it is a directory`);
    }
    this.content = params.content === undefined || this.isDir ? undefined : Buffer.from(params.content);
    const mode = params.mode === '' ? undefined : parseFileMode(params.mode);
    if (typeof mode === 'string') throw new Error(mode); // validate() reports it first
    this.mode = mode;
  }

  watch(): Observable<void> {
    // A copied directory's contents are managed, so every level is watched; otherwise only the
    // path itself (and the source, whose changes must be copied).
    const recursive = this.isDir && this.params.source !== '';
    const own = this.ctx.watchPath(this.target, recursive ? RECURSIVE : NOT_RECURSIVE);
    // Told of this resource's own renames onto the path, which its subscriber need not hear of.
    this.ownRenames = own instanceof PathWatch ? own : undefined;
    if (this.params.source === '' || this.params.state === 'absent') return own;
    const watches = [own, this.ctx.watchPath(this.params.source, RECURSIVE)];
    // combineLatest emits first when every watch is ready, then on each change.
    return combineLatest(watches).pipe(map(() => undefined));
  }

  async checkApply(apply: boolean, signal: AbortSignal): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      try {
        return await this.checkApplyOnce(apply, signal);
      } catch (err) {
        // The path changed between two steps (deleted after the lstat, replaced before the
        // open): that is a new state to look at, not a failure.
        if (!raced(err)) throw err;
        if (attempt >= RACE_ATTEMPTS) return false;
      }
    }
  }

  /**
   * checkOKSync says whether a small file on a local disk already holds its content (and mode),
   * with the synchronous calls of a check (lstat, then open, read, close): the engine then skips
   * checkApply and its promises. Anything else (owner or group to look up, a directory, a copy,
   * temp files to sweep or not yet listed, a race, an error) is for checkApply.
   */
  checkOKSync(apply: boolean): boolean {
    const { params, content } = this;
    if (content === undefined || this.isDir || params.state === 'absent' || params.owner !== '' || params.group !== '') return false;
    if (this.isSmallAndLocal() !== true) return false;
    if (apply && !this.tempsSwept) {
      const temps = tempFiles.ofIfListed(this.parent!, tempBase(this.base));
      if (temps === undefined || temps.length > 0) return false;
      this.tempsSwept = true;
    }
    let probe: ContentProbe;
    try {
      probe = probeContentSync(this.target, content);
    } catch {
      return false;
    }
    if (!probe.same) {
      this.lastProbe = { probe, turn: eventLoopTurn() };
      return false;
    }
    const have = probe.found!.mode & 0o7777;
    return this.mode === undefined || this.mode.apply(have, false) === have;
  }

  private async checkApplyOnce(apply: boolean, signal: AbortSignal): Promise<boolean> {
    const state = this.params.state;
    // A check reads by path, as a reader of the file would (reading through a swapped parent
    // changes nothing, and a converged check costs what it did before). Every change goes
    // through the parent directory held open after a safe walk, checked to be still where its
    // path leads, so it cannot be redirected; the last component is never followed.
    let held: SafeDir | undefined;
    const entry: Entry = async (name = this.base) => {
      if (this.parent === undefined) return '/';
      held ??= await this.openParent(state === 'exists'); // missing parents only for a file to exist
      if (held === undefined) throw new RaceError(`${this.parent} was removed while ${this.path} was checked`);
      return held.entry(name);
    };
    try {
      // A small file on a local disk is looked at (and written) with main-thread calls.
      const probe = (await this.isSmallAndLocal()) ? this.takeFreshProbe() ?? probeContentSync(this.target, this.content!) : undefined;
      const found = probe !== undefined ? probe.found : await lstatIfAny(this.target);
      if (state === 'absent') return await this.makeAbsent(entry, found, apply);
      if (found === undefined && state === '') {
        if (!this.managesAnything()) return true;
        throw new Error(
          `${this.path} does not exist and state is "", so its content, owner or mode cannot be applied (set state: exists to create it)`,
        );
      }
      if (apply && !this.tempsSwept) await this.sweepTemps(entry);

      signal.throwIfAborted();
      const wanted = await this.wantedIds();
      signal.throwIfAborted();
      let result: Step;
      if (this.isDir) result = await this.ensureDir(entry, found, wanted, apply);
      else if (this.content !== undefined || this.params.source !== '') result = await this.ensureContent(entry, found, wanted, apply, probe);
      else result = await this.ensureFile(entry, found, wanted, apply);
      if (!result.ok && !apply) return false;

      if (this.isDir && this.params.source !== '') {
        signal.throwIfAborted();
        const into = apply ? await entry() : this.target;
        const copied = await copyTree(await this.sourceDir(), into, this.target, { apply, force: this.params.force, signal });
        if (!copied && !apply) return false;
        result = { ...result, ok: result.ok && copied };
      }
      // Whatever was just created or written got its owner and mode on the way.
      if (result.settled || result.stats === undefined) return result.ok;

      signal.throwIfAborted();
      return (await this.ensureAttributes(entry, result.stats, wanted, apply)) && result.ok;
    } finally {
      held?.release();
    }
  }

  /**
   * takeFreshProbe hands over (once) what checkOKSync found when it was not OK, if that was in this
   * turn of the event loop: the engine calls checkApply right after it, microtasks later, and
   * looking again cost a second lstat of every file a first converge writes. A change made since
   * is one a watch reports, as it would be had it come just after this look; a look left by a
   * pass that never reached checkApply is never taken by a later one.
   */
  private takeFreshProbe(): ContentProbe | undefined {
    const last = this.lastProbe;
    this.lastProbe = undefined;
    return last !== undefined && last.turn === eventLoopTurn() ? last.probe : undefined;
  }

  /** isSmallAndLocal says whether the content is at most SMALL_FILE bytes and the parent on a local file system. */
  private isSmallAndLocal(): boolean | Promise<boolean> {
    if (this.content === undefined || this.content.length > SMALL_FILE || this.parent === undefined) return false;
    return localDirs.isLocal(this.parent);
  }

  private async openParent(create: boolean): Promise<SafeDir | undefined> {
    if (this.parent === undefined) return undefined;
    try {
      return await dirs.acquire(this.parent, create, await localDirs.isLocal(this.parent));
    } catch (err) {
      if (raced(err)) throw err;
      throw wrap(err, `cannot reach ${this.path}`);
    }
  }

  /** sweepTemps removes the temp files of this path that a killed run left behind (once per run). */
  private async sweepTemps(entry: Entry): Promise<void> {
    this.tempsSwept = true;
    if (this.parent === undefined) return;
    const names = await tempFiles.of(this.parent, tempBase(this.base));
    if (names.length === 0) return;
    const places = await Promise.all(names.map((name) => entry(name)));
    for (const name of await removeStaleTemps(places, names)) {
      this.ctx.log.info(`removed ${this.parent === '/' ? '' : this.parent}/${name}, a temp file an interrupted write left`);
    }
  }

  private async makeAbsent(entry: Entry, found: Stats | undefined, apply: boolean): Promise<boolean> {
    if (found === undefined) return true;
    if (!apply) return false;
    // lstat-based: a symlink is removed itself, never what it points at.
    await removePath(await entry(), this.target, found.isDirectory(), this.params.recurse).catch((err: unknown) => {
      throw wrap(err, `cannot remove ${this.path}`);
    });
    return false;
  }

  private async ensureDir(entry: Entry, current: Stats | undefined, wanted: Ids, apply: boolean): Promise<Step> {
    if (current?.isDirectory()) return { ok: true, settled: false, stats: current };
    this.refuseReplace('a directory', current);
    if (!apply) return NOT_OK;
    const at = await entry();
    if (current !== undefined) await removePath(at, this.target, false, false);
    const options = { mode: this.modeFor(0o777 & ~processUmask(), true), ...wanted };
    await makeDir(at, options).catch((err: unknown) => {
      throw wrap(err, `cannot create directory ${this.path}`);
    });
    return { ok: false, settled: true, stats: undefined };
  }

  private async ensureFile(entry: Entry, current: Stats | undefined, wanted: Ids, apply: boolean): Promise<Step> {
    if (current?.isFile()) return { ok: true, settled: false, stats: current };
    this.refuseReplace('a regular file', current);
    if (!apply) return NOT_OK;
    const at = await entry();
    if (current?.isDirectory()) await removePath(at, this.target, true, true);
    const options = { mode: this.modeFor(0o666 & ~processUmask(), false), ...wanted };
    // A symlink or FIFO in the way is renamed over; a free name is created in place.
    const create = current === undefined || current.isDirectory() ? createEmpty(at, options) : writeAtomic(at, EMPTY, options, threadCalls, this.ownRenames);
    await create.catch((err: unknown) => {
      throw wrap(err, `cannot create ${this.path}`);
    });
    return { ok: false, settled: true, stats: undefined };
  }

  private async ensureContent(entry: Entry, current: Stats | undefined, wanted: Ids, apply: boolean, probe: ContentProbe | undefined): Promise<Step> {
    const source = this.params.source;
    const sourceStats = source === '' ? undefined : await this.sourceFile();
    const size = this.content?.length ?? sourceStats!.size;
    if (current !== undefined && !current.isFile()) {
      this.refuseReplace('a regular file', current);
      if (!apply) return NOT_OK;
      // A directory must go first; anything else (a symlink, a FIFO) is replaced by the rename.
      if (current.isDirectory()) await removePath(await entry(), this.target, true, true);
      current = undefined;
    } else if (current !== undefined && current.size === size) {
      const same =
        probe !== undefined ? probe.same : this.content !== undefined ? await sameBytes(this.target, this.content) : await sameFiles(source, this.target, size);
      if (same) return { ok: true, settled: false, stats: current };
    }
    if (!apply) return NOT_OK;

    // A rewrite keeps the file's own mode and owner unless they are managed; a new file gets the
    // default mode, a copy its source's. Content copied from a file never carries set-uid/set-gid
    // bits (whoever can write the source would get a set-id program): only `mode` sets them.
    const setIdKept = source === '' ? 0o7777 : 0o1777;
    const kept: WriteOptions = current !== undefined ? keepAttributes(current, source !== '') : {};
    const base = (current?.mode ?? sourceStats?.mode ?? 0o666 & ~processUmask()) & setIdKept;
    const options: WriteOptions = {
      mode: this.mode !== undefined ? this.modeFor(base, false) : current !== undefined ? kept.mode : sourceStats !== undefined ? base : undefined,
      uid: wanted.uid ?? kept.uid,
      gid: wanted.gid ?? kept.gid,
    };
    const calls = probe !== undefined ? mainThreadCalls : threadCalls;
    await writeAtomic(await entry(), this.content ?? { copyFrom: source }, options, calls, this.ownRenames).catch((err: unknown) => {
      throw wrap(err, `cannot write ${this.path}`);
    });
    return { ok: false, settled: true, stats: undefined };
  }

  /**
   * ensureAttributes fixes owner and group, then mode (chown clears set-id bits, so mode last),
   * on a descriptor opened without following a link and checked to be the inode found.
   */
  private async ensureAttributes(entry: Entry, current: Stats, wanted: Ids, apply: boolean): Promise<boolean> {
    const uidWrong = wanted.uid !== undefined && current.uid !== wanted.uid;
    const gidWrong = wanted.gid !== undefined && current.gid !== wanted.gid;
    const have = current.mode & 0o7777;
    const modeWrong = this.mode !== undefined && this.mode.apply(have, current.isDirectory()) !== have;
    if (!uidWrong && !gidWrong && !modeWrong) return true;
    if (!apply) return false;
    await withOpenEntry(await entry(), current, async (fd) => {
      let stats = current;
      if (uidWrong || gidWrong) {
        await fchown(fd, wanted.uid ?? -1, wanted.gid ?? -1).catch((err: unknown) => {
          throw wrap(err, `cannot change the owner of ${this.path}`);
        });
        if (this.mode !== undefined && (stats.mode & 0o6000) !== 0) stats = await fstat(fd);
      }
      if (this.mode === undefined) return;
      const now = stats.mode & 0o7777;
      const want = this.mode.apply(now, stats.isDirectory());
      if (now === want) return;
      await fchmod(fd, want).catch((err: unknown) => {
        throw wrap(err, `cannot change the mode of ${this.path} to ${formatMode(want)}`);
      });
    });
    return false;
  }

  /** modeFor returns the managed mode given what the mode would otherwise be, or undefined when unmanaged. */
  private modeFor(base: number, isDir: boolean): number | undefined {
    return this.mode?.apply(base, isDir);
  }

  private async wantedIds(): Promise<Ids> {
    if (this.params.owner === '' && this.params.group === '') return UNMANAGED_IDS;
    const [uid, gid] = await Promise.all([
      this.params.owner === '' ? undefined : resolveId('user', this.params.owner),
      this.params.group === '' ? undefined : resolveId('group', this.params.group),
    ]).catch((err: unknown) => {
      throw wrap(err, `cannot look up the owner or group of ${this.path}`);
    });
    return { uid, gid };
  }

  /**
   * refuseReplace throws when something that is not `wanted` is in the way and `force` is off.
   * An undeclared symlink is always replaced (never followed): the file kind declares no links,
   * like Puppet's `links => manage` for a file.
   */
  private refuseReplace(wanted: string, current: Stats | undefined): void {
    if (current === undefined || current.isSymbolicLink() || this.params.force) return;
    throw new Error(`${this.target} is ${kindOf(current)} but should be ${wanted} (set force: true to replace it)`);
  }

  private async sourceFile(): Promise<Stats> {
    const stats = await this.sourceStats();
    if (stats.isDirectory()) {
      throw new Error(`source ${this.params.source} is a directory but path ${this.path} is not (end path with "/" to copy a directory)`);
    }
    if (!stats.isFile()) throw new Error(`source ${this.params.source} is not a regular file`);
    return stats;
  }

  private async sourceDir(): Promise<string> {
    if (!(await this.sourceStats()).isDirectory()) {
      throw new Error(`source ${this.params.source} is not a directory but path ${this.path} is (remove the trailing "/" to copy a file)`);
    }
    return this.params.source;
  }

  private async sourceStats(): Promise<Stats> {
    try {
      return await stat(this.params.source);
    } catch (err) {
      if (isMissing(err)) throw new Error(`source ${this.params.source} does not exist`, { cause: err });
      throw wrap(err, `cannot read source ${this.params.source}`);
    }
  }

  private managesAnything(): boolean {
    const p = this.params;
    return this.content !== undefined || p.source !== '' || p.mode !== '' || p.owner !== '' || p.group !== '';
  }
}

/** Entry names an entry of the file's parent directory, held open (default: the file itself). */
type Entry = (name?: string) => Promise<string>;

/** Step is the outcome of the existence/content step of checkApply. */
interface Step {
  /** The path was already right. */
  readonly ok: boolean;
  /** The path was just created or written, owner and mode included. */
  readonly settled: boolean;
  /** The path's stats when it was left as found (for the attribute step). */
  readonly stats: Stats | undefined;
}

const NOT_OK: Step = { ok: false, settled: false, stats: undefined };

/** Ids are the managed owner and group ids; undefined = unmanaged. */
interface Ids {
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

const UNMANAGED_IDS: Ids = { uid: undefined, gid: undefined };

/** FileStepError is a failed fs call of a check, prefixed with what failed; its cause is the fs error. */
class FileStepError extends Error {}

/** wrap prefixes an fs error with what failed; the fs message already names the path. */
function wrap(err: unknown, what: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new FileStepError(`${what}: ${message}`, { cause: err });
}

/** raced says whether a failed step failed because the path changed under the check. */
function raced(err: unknown): boolean {
  return isRace(err instanceof FileStepError ? err.cause : err);
}

/** kindOf names what a path is, for messages. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a file';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}
