import { defer, switchMap, type Observable } from 'rxjs';
import { errorMessage } from '../errors.js';
import type { AutoEdgeSearch, PrefetchItem, ResourceUid } from '../core/autoedge.js';
import type { ResourceContext } from '../core/context.js';
import type { GroupLiveResource, GroupMember } from '../core/group.js';
import type { LiveResource, ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';
import { isUnknown, RefusedPackagesError, type BackendEnv, type PkgBackend, type PkgInfo, type TransactionFlags } from '../pkg/backend.js';
import { isChange, isVersionState, needsAvailable, reached, transactionOf, verdict, type PlanMember, type Verdict } from '../pkg/plan.js';
import { selectBackend, type PkgBackendChoice } from '../pkg/select.js';
import { oneRound, packageSearch, pkgFileUid, pkgUid } from './uids.js';

/** pkgParams declares the parameters of a pkg resource; the name is the package. */
export const pkgParams = paramTable({
  // newest installs the candidate, and upgrades when a new one comes.
  state: { type: 'string', doc: 'installed, uninstalled, newest, or an exact version', default: 'installed' },
  // For a version state.
  allowdowngrade: { type: 'bool', doc: 'allow installing an older version than the installed one', default: false },
  allowuntrusted: { type: 'bool', doc: 'allow packages from sources that are not authenticated', default: false },
  // apt has no notion of non-free or unsupported packages and ignores these two.
  allownonfree: { type: 'bool', doc: 'allow non-free packages (PackageKit only)', default: false },
  allowunsupported: { type: 'bool', doc: 'allow unsupported packages (PackageKit only)', default: false },
});

/** PkgParams are the parameters of a pkg resource. */
export type PkgParams = ParamsOf<typeof pkgParams>;

/** SelectBackend creates the backend a resource or a prefetch uses (selectBackend's choice, or a test's own). */
export type SelectBackend = (env: BackendEnv) => Promise<PkgBackend>;

/** PkgKindOptions tune createPkgKind. */
export interface PkgKindOptions {
  /** backend is `--pkg-backend`, the package manager every resource of the kind uses; auto when absent. */
  readonly backend?: PkgBackendChoice | undefined;
  /** selectBackend creates backends; default: the real one `backend` names. */
  readonly selectBackend?: SelectBackend;
}

// Debian's package names (policy 5.6.1), loosely: PackageKit's other distributions use capitals
// and underscores too. An optional `:arch`. Never a leading `-`: apt-get would read an option.
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]*(?::[A-Za-z0-9_-]+)?$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+~:_-]*$/;

/** FetchedFiles is what an autoedge prefetch learned of one package. */
type FetchedFiles = { readonly files: readonly string[] | undefined } | { readonly error: string };

/**
 * createPkgKind builds the pkg kind for a run: it closes over the run's backend choice, and keeps
 * the file lists its autoedge prefetch read, for its synchronous uids and search. The registry
 * holds one per run (resources/index.ts), tests make their own.
 */
export function createPkgKind(options: PkgKindOptions = {}): ResourceKind<PkgParams> {
  const choice = options.backend ?? 'auto';
  const select: SelectBackend = options.selectBackend ?? ((env) => selectBackend(choice, env));
  const fetched = new Map<string, FetchedFiles>();

  return {
    kind: 'pkg',
    doc: 'installs, upgrades or removes a package (apt/dpkg, or PackageKit); grouped packages share one transaction',
    params: pkgParams,

    defaults: defaultsOf(pkgParams),

    validate(p) {
      const problems: ParamProblem[] = [];
      if (typeof p.state !== 'string' || p.state === '') {
        problems.push({ param: 'state', reason: `must be installed, uninstalled, newest or a version, got ${JSON.stringify(p.state)} (${typeof p.state})` });
      } else if (p.state === 'latest') {
        problems.push({ param: 'state', reason: 'must be installed, uninstalled, newest or a version, got "latest" (did you mean newest?)' });
      } else if (isVersionState(p.state) && !VERSION.test(p.state)) {
        problems.push({ param: 'state', reason: `"${p.state}" is not installed, uninstalled, newest, nor a version (letters, digits and . + ~ : _ -)` });
      }
      return problems;
    },

    // The name is the package: one apt-get would read as an option never gets that far.
    validateName: (name) => (PACKAGE_NAME.test(name) ? [] : [{ param: 'name', reason: invalidName(name) }]),

    init: (params, ctx) => single(new PkgRunner([{ name: ctx.name, params, ctx }], select)),

    // Grouped packages run as one transaction: the same kind of change, and
    // the same allow* flags, since one transaction has one set of them. installed and newest both
    // install (the candidate), so they share a group; each member is still checked for its own state.
    group: {
      compatible: (a, b) => {
        const key = groupKey(a);
        return key !== undefined && key === groupKey(b);
      },
      key: groupKey,
      init: (members) => new PkgRunner(members, select),
    },

    // A package comes before the files it ships and the services whose units it ships (reference
    // 5), and an exec of a program it ships after it. Its file list comes from the package
    // manager, read ahead by `prefetch` when the graph has such resources; a package whose list is
    // unknown (not installed and no package file at hand) has no automatic edges.
    autoedge: {
      uids(_p, name) {
        const entry = fetched.get(name);
        const uids: ResourceUid[] = [pkgUid(name)];
        if (entry !== undefined && 'files' in entry) {
          for (const path of entry.files ?? []) if (!path.endsWith('/')) uids.push(pkgFileUid(path));
        }
        return uids;
      },
      search(_p, name): AutoEdgeSearch {
        const entry = fetched.get(name);
        if (entry === undefined) return oneRound([]);
        if ('error' in entry) throw new Error(entry.error);
        return entry.files === undefined ? oneRound([]) : packageSearch(entry.files);
      },
      prefetchUsefulWith: ['file', 'svc', 'exec'],
      async prefetch(items: readonly PrefetchItem<PkgParams>[]) {
        const names = [...new Set(items.map((item) => item.name))];
        const valid = names.filter((name) => PACKAGE_NAME.test(name));
        for (const name of names) if (!PACKAGE_NAME.test(name)) fetched.set(name, { error: invalidName(name) });
        if (valid.length === 0) return;
        let backend: PkgBackend | undefined;
        try {
          backend = await select({});
          const installed = await backend.query(valid);
          // Only a missing package can be unknown; asking the sources is the slow part, so the file lists are read meanwhile.
          const missing = valid.filter((name) => installed.get(name)?.installed === undefined);
          const [available, files] = await Promise.all([
            missing.length > 0 ? backend.query(missing, { available: true }) : new Map<string, PkgInfo>(),
            backend.listFiles(valid),
          ]);
          for (const name of valid) {
            const info = available.get(name);
            if (info !== undefined && isUnknown(info)) {
              fetched.set(name, { error: `package ${name} is not known to ${backend.name}, so its files are unknown` });
            } else fetched.set(name, { files: files.get(name) });
          }
        } catch (err) {
          for (const name of valid) fetched.set(name, { error: `cannot list the files of package ${name}: ${errorMessage(err)}` });
        } finally {
          await backend?.close().catch(() => undefined);
        }
      },
    },
  };
}

/** pkg is the pkg kind with the auto backend (its parameters and checks are every run's). */
export const pkg: ResourceKind<PkgParams> = createPkgKind();

/** groupKey buckets packages that may share a transaction; undefined for a version, which never groups. */
function groupKey(p: PkgParams): string | undefined {
  if (isVersionState(p.state)) return undefined;
  const change = p.state === 'uninstalled' ? 'remove' : 'install';
  const flags = [p.allowdowngrade, p.allowuntrusted, p.allownonfree, p.allowunsupported].map((flag) => (flag ? '1' : '0')).join('');
  return `${change}:${flags}`;
}

function invalidName(name: string): string {
  return `"${name}" is not a valid package name (letters, digits and + . _ -, optionally :arch; not starting with -)`;
}

/**
 * PkgRunner is the live part of a package or a group of packages: one watch of the package
 * database, and a checkApply that reads every member's state in one query and makes at most one
 * transaction for all of them. A member that cannot be done (unknown, a version not offered, not
 * authenticated without allowuntrusted, refused by PackageKit's free or supported filter) does not
 * hold the others back: they are done, then the run fails naming it.
 */
class PkgRunner implements GroupLiveResource {
  private readonly plan: readonly PlanMember[];
  private readonly ctx: ResourceContext;
  private backend: Promise<PkgBackend> | undefined;

  constructor(
    private readonly members: readonly GroupMember<PkgParams>[],
    private readonly select: SelectBackend,
  ) {
    for (const member of members) if (!PACKAGE_NAME.test(member.name)) throw new Error(invalidName(member.name));
    this.plan = members.map((member) => ({ name: member.name, state: member.params.state, allowDowngrade: member.params.allowdowngrade }));
    this.ctx = members[0]!.ctx;
  }

  watch(): Observable<void> {
    return defer(() => this.getBackend()).pipe(switchMap((backend) => backend.watch()));
  }

  async checkApply(apply: boolean, signal: AbortSignal): Promise<readonly boolean[]> {
    const backend = await this.getBackend();
    const infos = new Map(await backend.query(this.plan.map((member) => member.name), { signal }));
    await this.askSources(backend, infos, this.plan.filter((member) => needsAvailable(member, infos.get(member.name)?.installed, apply)), signal);
    let verdicts = this.verdicts(backend, infos);
    const results = verdicts.map((v) => v.kind === 'ok');
    if (!apply || results.every(Boolean)) {
      const failures = this.failures(verdicts);
      if (failures.length > 0) throw new Error(failures.join('; '));
      return results;
    }
    let failures: string[];
    try {
      failures = [...this.failures(verdicts), ...(await this.transact(backend, infos, verdicts, signal))];
    } catch (err) {
      const again = signal.aborted ? undefined : await this.withoutRefused(backend, infos, verdicts, err, signal);
      if (again === undefined) throw err;
      // The members it could not do fail with their own message; the backend's whole answer is logged.
      this.ctx.log.warn(`transaction refused, trying again without the members that cannot be done: ${errorMessage(err)}`);
      verdicts = again;
      failures = [...this.failures(verdicts), ...(await this.transact(backend, infos, verdicts, signal))];
    }
    if (failures.length > 0) throw new Error(failures.join('; '));
    return results;
  }

  /**
   * withoutRefused learns from a failed transaction which members cannot be done and returns the
   * verdicts with those as errors, for a transaction of the others; undefined when it cannot tell
   * (the failure is the whole transaction's) or nothing would be left. Two kinds are told apart:
   * packages the backend refused one by one (not authenticated without allowuntrusted, dropped by
   * PackageKit's free or supported filter, a version not offered), when all of them are members;
   * and packages installed without asking the sources first that no source offers.
   */
  private async withoutRefused(backend: PkgBackend, infos: Map<string, PkgInfo>, verdicts: readonly Verdict[], err: unknown, signal: AbortSignal): Promise<Verdict[] | undefined> {
    const changing = (i: number): boolean => isChange(verdicts[i]!);
    if (err instanceof RefusedPackagesError) {
      // Backends name a package without its `:arch`.
      const refusalOf = (name: string): string | undefined => err.refusals.get(name) ?? err.refusals.get(name.split(':')[0]!);
      const refused = this.plan.map((member, i) => (changing(i) ? refusalOf(member.name) : undefined));
      const refusedMembers = refused.filter((message) => message !== undefined).length;
      const changes = this.plan.filter((_, i) => changing(i)).length;
      // A refused package that is no member (a dependency from an untrusted source) fails them all,
      // and so does refusing every member: then the backend's whole answer says it best.
      if (refusedMembers === 0 || refusedMembers === changes || err.refusals.size > refusedMembers) return undefined;
      return verdicts.map((v, i) => (refused[i] === undefined ? v : { kind: 'error', message: refused[i] }));
    }
    const unasked = this.plan.filter((member, i) => verdicts[i]!.kind === 'install' && infos.get(member.name)?.available === undefined);
    if (unasked.length === 0) return undefined;
    await this.askSources(backend, infos, unasked, signal);
    const again = this.verdicts(backend, infos);
    return again.some((v, i) => v.kind === 'error' && verdicts[i]!.kind !== 'error') ? again : undefined;
  }

  /** transact makes the one transaction of the changes among `verdicts`, logs it, and returns the members it did not get there. */
  private async transact(backend: PkgBackend, before: ReadonlyMap<string, PkgInfo>, verdicts: readonly Verdict[], signal: AbortSignal): Promise<string[]> {
    const changed = this.plan.filter((_, i) => isChange(verdicts[i]!));
    if (changed.length === 0) return [];
    const transaction = transactionOf(this.plan, verdicts);
    const started = performance.now();
    const report = await backend.apply(transaction, this.flags(), signal);
    const ids = this.members.filter((member) => changed.some((c) => c.name === member.name)).map((member) => member.ctx.id);
    this.ctx.log.info(report.summary, { transaction: { backend: backend.name, ...transaction, members: ids }, ms: Math.round((performance.now() - started) * 10) / 10 });
    // Converged means the next check says so (the original's #988): see that it does now.
    const now = await backend.query(changed.map((member) => member.name), { signal });
    const failures: string[] = [];
    for (const member of changed) {
      const after = now.get(member.name) ?? { name: member.name, installed: undefined };
      if (!reached(member, before.get(member.name)!, after)) {
        const is = after.installed === undefined ? 'not installed' : `at version ${after.installed}`;
        failures.push(this.label(member.name, `${report.summary} succeeded but package ${member.name} is ${is}, not ${member.state}`));
      }
    }
    return failures;
  }

  private async askSources(backend: PkgBackend, infos: Map<string, PkgInfo>, members: readonly PlanMember[], signal: AbortSignal): Promise<void> {
    if (members.length === 0) return;
    // A backend that cannot list every version a source has (PackageKit) looks up the wanted ones.
    const versions = new Map(members.filter((member) => isVersionState(member.state)).map((member) => [member.name, member.state]));
    for (const [name, info] of await backend.query(members.map((member) => member.name), { available: true, versions, signal })) infos.set(name, info);
  }

  private verdicts(backend: PkgBackend, infos: ReadonlyMap<string, PkgInfo>): Verdict[] {
    return this.plan.map((member) => verdict(member, infos.get(member.name) ?? { name: member.name, installed: undefined }, backend.name));
  }

  async cleanup(): Promise<void> {
    const backend = this.backend;
    this.backend = undefined;
    if (backend) await (await backend.catch(() => undefined))?.close();
  }

  private getBackend(): Promise<PkgBackend> {
    if (this.backend === undefined) {
      const selecting = this.select({ watchPath: this.ctx.watchPath });
      this.backend = selecting;
      // A failed selection (PackageKit gone) is tried again by the next run.
      selecting.catch(() => {
        if (this.backend === selecting) this.backend = undefined;
      });
    }
    return this.backend;
  }

  private failures(verdicts: readonly Verdict[]): string[] {
    const failures: string[] = [];
    verdicts.forEach((v, i) => {
      if (v.kind === 'error') failures.push(this.label(this.plan[i]!.name, v.message));
    });
    return failures;
  }

  // In a group, a message names the member it is about; alone, the engine names the resource.
  private label(name: string, message: string): string {
    if (this.members.length === 1) return message;
    return `${this.members.find((member) => member.name === name)!.ctx.id}: ${message}`;
  }

  private flags(): TransactionFlags {
    // Members of a group have the same flags (groupKey).
    const p = this.members[0]!.params;
    return { allowDowngrade: p.allowdowngrade, allowUntrusted: p.allowuntrusted, allowNonfree: p.allownonfree, allowUnsupported: p.allowunsupported };
  }
}

function single(runner: PkgRunner): LiveResource {
  return {
    watch: () => runner.watch(),
    checkApply: async (apply, signal) => (await runner.checkApply(apply, signal))[0]!,
    cleanup: () => runner.cleanup(),
  };
}
