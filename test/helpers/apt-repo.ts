// A local apt repository for the package tests: tiny .debs built with
// `dpkg-deb --build`, indexed with `apt-ftparchive`, served as `deb [trusted=yes] file:DIR ./`.
// An untrusted one (`untrusted: true`, for allowuntrusted) is served as
// `deb [allow-insecure=yes] file:DIR ./` instead: a flat repository has no Release file, which apt
// 2.6 refuses outright for a plain source (`apt-get update` fails); allow-insecure makes it read
// the index with a warning, and its packages are then unauthenticated: `apt-get install -y`
// refuses them ("There were unauthenticated packages and -y was used without
// --allow-unauthenticated", exit 100) unless given --allow-unauthenticated.
// Only that source is ever read: an APT_CONFIG file points apt at a source list holding it alone,
// so the host's real sources are never refreshed nor used, and the tests stay offline and
// deterministic. Everything is undone by close(): the packages are purged, apt's list files of
// the source removed, the directory deleted.
//
// No vitest in here: the package benchmark uses this file too. Tests call createAptRepo in a
// beforeAll and close() in an afterAll.

import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** TEST_PACKAGE_PREFIX starts the name of every package this helper builds, so purging can never hit a real one. */
export const TEST_PACKAGE_PREFIX = 'mgmt-test-';

/**
 * testPackage names a test package after its role and this process: `mgmt-test-<role>-p<pid>`. Two
 * test runs on one machine (a developer's and another's full suite) then never share a package,
 * and createAptRepo can purge what a killed run left behind.
 */
export function testPackage(role: string): string {
  return `${TEST_PACKAGE_PREFIX}${role}-p${process.pid}`;
}

/** DebSpec describes one package to build. */
export interface DebSpec {
  /** The package name; must start with `mgmt-test-`. */
  readonly name: string;
  /** Its version; default 1.0. */
  readonly version?: string;
  /** Ship the systemd unit /usr/lib/systemd/system/<name>.service too. */
  readonly unit?: boolean;
  /** depends is the control file's Depends field (`other-pkg (>= 1.0), third`); default none. */
  readonly depends?: string;
  /**
   * section is the control file's Section field, which the index repeats; default `misc` (main).
   * A component before a `/` is the archive area: PackageKit's apt backend calls a package free
   * only in main or universe, so `non-free/misc` is one its `free` filter drops.
   */
  readonly section?: string;
  /** preinst is the body of a `/bin/sh` preinst script (e.g. `sleep 30`, a slow install); default none. */
  readonly preinst?: string;
}

/** AptRepoOptions tune createAptRepo. */
export interface AptRepoOptions {
  /**
   * untrusted serves the repository as a source apt reads but does not authenticate
   * (`[allow-insecure=yes]` instead of `[trusted=yes]`): installing its packages then needs
   * --allow-unauthenticated (aptGet's callers pass it), or PackageKit without its only-trusted flag.
   */
  readonly untrusted?: boolean;
}

/** AptRun is how a command of the helper ended. */
export interface AptRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** AptRepo is a built, indexed and configured local repository. */
export interface AptRepo {
  /** The repository directory (mode 755, readable by `_apt`). */
  readonly dir: string;
  /** source is the repository's sources.list line (`deb [trusted=yes] file:DIR ./`, or allow-insecure when untrusted). */
  readonly source: string;
  /** The APT_CONFIG file that makes apt read only this repository's source. */
  readonly aptConfig: string;
  /** The environment for a process that should use this repository (`{ APT_CONFIG }`). */
  readonly env: Readonly<Record<string, string>>;
  /** The package names built so far. */
  readonly packages: readonly string[];
  /** add builds more packages (or versions), indexes them and refreshes the source. */
  add(debs: readonly DebSpec[]): Promise<void>;
  /** aptGet runs apt-get with this repository's configuration, non-interactively. */
  aptGet(args: readonly string[]): Promise<AptRun>;
  /** purge purges these test packages (default: every one built) where installed. */
  purge(names?: readonly string[]): Promise<void>;
  /** installedVersion asks dpkg-query (not the code under test) which version of `name` is installed. */
  installedVersion(name: string): Promise<string | undefined>;
  /** close purges every package built, removes apt's list files of the source and the directory. */
  close(): Promise<void>;
}

/** shippedFile is the file every test package ships: /usr/share/mgmt-test/<name>.txt. */
export function shippedFile(name: string): string {
  return `/usr/share/mgmt-test/${name}.txt`;
}

/** shippedUnitFile is the unit file a test package built with `unit: true` ships. */
export function shippedUnitFile(name: string): string {
  return `/usr/lib/systemd/system/${name}.service`;
}

const LISTS_DIR = '/var/lib/apt/lists';
const APT_HISTORY = '/var/log/apt/history.log';
// Another test file may hold dpkg's or the lists' lock for a moment.
const LOCK_OPTIONS = ['-o', 'DPkg::Lock::Timeout=120'];

/** createAptRepo builds the packages in a fresh repository, configures its source and refreshes it. */
export async function createAptRepo(debs: readonly DebSpec[], options: AptRepoOptions = {}): Promise<AptRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'mgmt-apt-'));
  await chmod(dir, 0o755); // apt downloads as the unprivileged _apt user
  const pool = join(dir, 'pool');
  await mkdir(pool);
  const sourceList = join(dir, 'sources.list');
  const aptConfig = join(dir, 'apt.conf');
  const source = `deb [${options.untrusted ? 'allow-insecure=yes' : 'trusted=yes'}] file:${pool} ./`;
  await writeFile(sourceList, `${source}\n`);
  await writeFile(
    aptConfig,
    [
      `Dir::Etc::sourcelist "${sourceList}";`,
      'Dir::Etc::sourceparts "/dev/null";',
      // Keep the host's own list files when this source alone is refreshed.
      'APT::Get::List-Cleanup "0";',
      '',
    ].join('\n'),
  );
  const env = { APT_CONFIG: aptConfig };
  const built: string[] = [];
  const run = (file: string, args: readonly string[], cwd?: string): Promise<AptRun> => runTool(file, args, { ...process.env, ...env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' }, cwd);

  const repo: AptRepo = {
    dir: pool,
    source,
    aptConfig,
    env,
    get packages() {
      return [...new Set(built)];
    },
    async add(more) {
      for (const deb of more) {
        await buildDeb(pool, deb);
        built.push(deb.name);
      }
      const index = await run('apt-ftparchive', ['packages', '.'], pool);
      if (index.code !== 0) throw new Error(`apt-ftparchive failed: ${index.stderr}`);
      await writeFile(join(pool, 'Packages'), index.stdout);
      await retryOnLock(() => run('apt-get', ['update', '-q', ...LOCK_OPTIONS]), 'apt-get update');
    },
    aptGet: (args) => retryOnLock(() => run('apt-get', [...LOCK_OPTIONS, ...args]), `apt-get ${args.join(' ')}`, false),
    async purge(names = built) {
      const installed: string[] = [];
      for (const name of new Set(names)) {
        if (!name.startsWith(TEST_PACKAGE_PREFIX)) throw new Error(`refusing to purge ${name}: not a test package`);
        if ((await repo.installedVersion(name)) !== undefined || (await dpkgKnows(name))) installed.push(name);
      }
      if (installed.length === 0) return;
      // apt-get waits for dpkg's lock (another test file may be installing); dpkg itself would fail.
      await retryOnLock(() => run('apt-get', ['purge', '-y', '-q', ...LOCK_OPTIONS, ...installed]), `apt-get purge ${installed.join(' ')}`);
      // A package whose install dpkg unwound (a stopped transaction) stays selected, `install ok
      // not-installed`, which apt-get purge leaves: unselect it, so the host's database forgets it.
      const selected = (await Promise.all(installed.map(async (name) => ((await dpkgKnows(name)) ? name : undefined)))).filter((name) => name !== undefined);
      if (selected.length > 0) await runTool('dpkg', ['--set-selections'], process.env, undefined, selected.map((name) => `${name} purge\n`).join(''));
    },
    async installedVersion(name) {
      const result = await runTool('dpkg-query', ['-W', '-f', '${Status}\\t${Version}', name], { ...process.env, LC_ALL: 'C' });
      if (result.code !== 0) return undefined;
      const [status, version] = result.stdout.split('\t');
      return status?.endsWith(' installed') ? version : undefined;
    },
    async close() {
      try {
        await repo.purge();
      } finally {
        await removeListFiles(pool);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await repo.add(debs);
    // Left behind by an earlier run that was killed: start from none installed.
    await repo.purge([...repo.packages, ...(await orphanedTestPackages())]);
  } catch (err) {
    await repo.close().catch(() => undefined);
    throw err;
  }
  return repo;
}

/**
 * useAptConfig makes this process's apt read only the source behind `aptConfig` (the backends run
 * apt with the agent's environment) and returns what puts the old APT_CONFIG back.
 */
export function useAptConfig(aptConfig: string): () => void {
  const saved = process.env.APT_CONFIG;
  process.env.APT_CONFIG = aptConfig;
  return () => {
    if (saved === undefined) delete process.env.APT_CONFIG;
    else process.env.APT_CONFIG = saved;
  };
}

/** aptHistoryMark returns where apt's history log ends now, for aptHistorySince. */
export async function aptHistoryMark(): Promise<number> {
  try {
    return (await stat(APT_HISTORY)).size;
  } catch {
    return 0;
  }
}

/**
 * aptHistorySince returns the `Commandline:` of every apt run logged after `mark`; with `names`,
 * only those naming one of them (other tests on the machine may run apt meanwhile).
 */
export async function aptHistorySince(mark: number, names?: readonly string[]): Promise<string[]> {
  let text: string;
  try {
    text = (await readFile(APT_HISTORY)).subarray(mark).toString('utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.startsWith('Commandline: '))
    .map((line) => line.slice('Commandline: '.length))
    .filter((command) => names === undefined || command.split(' ').some((word) => names.some((name) => word === name || word.startsWith(`${name}=`) || word === `${name}-`)));
}

async function buildDeb(pool: string, deb: DebSpec): Promise<void> {
  if (!deb.name.startsWith(TEST_PACKAGE_PREFIX)) throw new Error(`test package ${deb.name} must be named ${TEST_PACKAGE_PREFIX}*`);
  const version = deb.version ?? '1.0';
  const root = join(pool, `.build-${deb.name}-${version}`);
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  const control = [
    `Package: ${deb.name}`,
    `Version: ${version}`,
    'Architecture: all',
    'Maintainer: mgmt tests <mgmt-tests@localhost>',
    `Section: ${deb.section ?? 'misc'}`,
    'Priority: optional',
    ...(deb.depends === undefined ? [] : [`Depends: ${deb.depends}`]),
    `Description: mgmt test package ${deb.name}`,
    '',
  ].join('\n');
  await writeFile(join(root, 'DEBIAN', 'control'), control);
  if (deb.preinst !== undefined) await writeFile(join(root, 'DEBIAN', 'preinst'), `#!/bin/sh\n${deb.preinst}\n`, { mode: 0o755 });
  await writeAt(root, shippedFile(deb.name), `${deb.name} ${version}\n`);
  if (deb.unit) {
    await writeAt(root, shippedUnitFile(deb.name), `[Unit]\nDescription=mgmt test unit ${deb.name}\n\n[Service]\nType=oneshot\nExecStart=/bin/true\n`);
  }
  const out = join(pool, `${deb.name}_${version.replace(/:/g, '%3a')}_all.deb`);
  const result = await runTool('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out], process.env);
  await rm(root, { recursive: true, force: true });
  if (result.code !== 0) throw new Error(`dpkg-deb --build ${deb.name} failed: ${result.stderr}`);
}

async function writeAt(root: string, path: string, content: string): Promise<void> {
  const full = join(root, path);
  await mkdir(join(full, '..'), { recursive: true });
  await writeFile(full, content);
}

// apt names a source's list files after its URI: file:/tmp/x/pool ./ → _tmp_x_pool_._Packages(.lz4).
async function removeListFiles(pool: string): Promise<void> {
  const prefix = `${pool.replace(/\//g, '_')}_`;
  for (const dir of [LISTS_DIR, join(LISTS_DIR, 'partial')]) {
    const files = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(files.filter((file) => file.startsWith(prefix)).map((file) => rm(join(dir, file), { force: true })));
  }
}

/** orphanedTestPackages lists installed test packages whose process (see testPackage) is gone. */
async function orphanedTestPackages(): Promise<string[]> {
  const listed = await runTool('dpkg-query', ['-W', '-f', '${Package}\\n', `${TEST_PACKAGE_PREFIX}*`], { ...process.env, LC_ALL: 'C' });
  return listed.stdout.split('\n').filter((name) => {
    const pid = /-p(\d+)$/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid) return false;
    try {
      process.kill(Number(pid), 0);
      return false; // still running: another test run's package
    } catch {
      return true;
    }
  });
}

async function dpkgKnows(name: string): Promise<boolean> {
  // A removed package keeps its entry (config-files) until purged.
  return (await runTool('dpkg-query', ['-W', name], { ...process.env, LC_ALL: 'C' })).code === 0;
}

async function retryOnLock(attempt: () => Promise<AptRun>, what: string, mustSucceed = true): Promise<AptRun> {
  for (let tries = 0; ; tries++) {
    const result = await attempt();
    if (result.code !== 0 && /Could not get lock|Unable to lock/.test(result.stderr) && tries < 60) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    if (mustSucceed && result.code !== 0) throw new Error(`${what} failed (${result.code}): ${result.stderr}`);
    return result;
  }
}

function runTool(file: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string, input?: string): Promise<AptRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, [...args], { env, cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
