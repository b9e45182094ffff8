import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { Observable, catchError, defer, map, switchMap, tap, throwError } from 'rxjs';
import { whenAllReady } from '../../streams/when-all-ready.js';
import { errorMessage } from '../errors.js';
import { commandLine, resolveProgram, splitCommand } from './exec-cmdline.js';
import { resolveCredentials, type Credentials } from './exec-credentials.js';
import { describeExit, runProcess, watchProcess, withStderr, type ProcessResult, type ProcessSpec } from './exec-process.js';
import { pathExists } from './file-fs.js';
import type { WantedUid } from '../core/autoedge.js';
import type { ResourceContext } from '../core/context.js';
import type { LiveResource, ResourceKind } from '../core/kind.js';
import { defaultsOf, paramTable, type ParamProblem, type ParamsOf } from '../core/params.js';
import { execUid, fileUid, groupUid, oneRound, pkgFileUid, userUid, want } from './uids.js';
import { accountRefProblem, argumentProblem, pathLengthProblem } from './values.js';

/** execParams declares the parameters of an exec resource; an empty string means "not set". */
export const execParams = paramTable({
  cmd: { type: 'string', doc: 'the command (default: the name); split on whitespace unless shell is set', default: (name) => name },
  args: { type: 'stringList', doc: 'arguments appended to a single-word cmd (not with shell)', default: [] },
  // '' = no shell.
  shell: { type: 'string', doc: 'absolute path of a shell to run `shell -c cmd` with', default: '' },
  // '' = the agent's.
  cwd: { type: 'string', doc: 'absolute working directory of cmd', default: '' },
  env: { type: 'stringMap', doc: 'the complete environment of the commands (nothing is inherited)', default: {} },
  timeout: { type: 'uint', doc: 'seconds after which cmd, ifcmd or nifcmd is killed; 0 = never', default: 0 },
  // A long-running command whose every stdout line means "check again".
  watchcmd: { type: 'string', doc: 'long-running command: each stdout line re-checks; its exit is a watch error', default: '' },
  watchshell: { type: 'string', doc: 'absolute path of a shell for watchcmd', default: '' },
  watchcwd: { type: 'string', doc: 'absolute working directory of watchcmd', default: '' },
  ifcmd: { type: 'string', doc: 'run cmd only when this exits with 0', default: '' },
  ifshell: { type: 'string', doc: 'absolute path of a shell for ifcmd', default: '' },
  ifcwd: { type: 'string', doc: 'absolute working directory of ifcmd', default: '' },
  nifcmd: { type: 'string', doc: 'run cmd only when this exits with non-zero', default: '' },
  nifshell: { type: 'string', doc: 'absolute path of a shell for nifcmd', default: '' },
  nifcwd: { type: 'string', doc: 'absolute working directory of nifcmd', default: '' },
  // Its changes are watched.
  creates: { type: 'string', doc: 'absolute path: run cmd only while it does not exist', default: '' },
  user: { type: 'string', doc: 'run the commands as this user (name or uid)', default: '' },
  group: { type: 'string', doc: "run the commands as this group (default: the user's primary group)", default: '' },
  // Dead upstream keys (mgmt 0.0.10), accepted and ignored.
  pollint: { type: 'int', doc: 'polling interval of mgmt 0.0.10', deprecated: 'exec polling is gone; use meta poll' },
  state: { type: 'string', doc: 'state of mgmt 0.0.10', deprecated: 'exec has no state; the key is ignored' },
});

/** ExecParams are the parameters of an exec resource. */
export type ExecParams = ParamsOf<typeof execParams>;

// setTimeout holds at most 2^31-1 ms; a longer timeout would fire at once.
const MAX_TIMEOUT_S = Math.floor(0x7fffffff / 1000);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Used only when the agent itself runs without PATH; the usual default of login shells.
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** exec runs a command when its guards say the system needs it; refreshable, so a notify re-runs it. */
export const exec: ResourceKind<ExecParams> = {
  kind: 'exec',
  doc: 'runs a command, guarded by ifcmd, nifcmd and creates; watchcmd output and refreshes re-run it',
  params: execParams,
  refreshable: true,

  defaults: defaultsOf(execParams),

  validate(p) {
    const problems: ParamProblem[] = [];
    if (!isSet(p.cmd)) problems.push({ param: 'cmd', reason: 'must not be empty' });
    if (p.args.length > 0) {
      if (p.shell !== '') {
        problems.push({ param: 'args', reason: `cannot be used with shell "${p.shell}"; put the arguments into cmd` });
      } else if (splitCommand(p.cmd).length > 1) {
        problems.push({ param: 'args', reason: `needs cmd to be one program, but cmd "${p.cmd}" has arguments already` });
      }
    }
    for (const param of ['shell', 'watchshell', 'ifshell', 'nifshell', 'cwd', 'watchcwd', 'ifcwd', 'nifcwd', 'creates'] as const) {
      const value = p[param];
      if (value === '') continue;
      const reason = isAbsolute(value) ? pathLengthProblem(value) : `must be an absolute path, got "${value}"`;
      if (reason !== undefined) problems.push({ param, reason });
    }
    // What the kernel would refuse to start (E2BIG, ENAMETOOLONG) is refused before anything runs.
    for (const [param, cmd, shell] of [['cmd', p.cmd, p.shell], ['watchcmd', p.watchcmd, p.watchshell], ['ifcmd', p.ifcmd, p.ifshell], ['nifcmd', p.nifcmd, p.nifshell]] as const) {
      if (!isSet(cmd)) continue;
      const line = commandLine(cmd, shell);
      const reason = (shell === '' ? pathLengthProblem(line.file) : undefined) ?? line.args.map(argumentProblem).find((r) => r !== undefined);
      if (reason !== undefined) problems.push({ param, reason });
    }
    const tooLong = [...p.args.map(argumentProblem), ...Object.entries(p.env).map(([key, value]) => argumentProblem(`${key}=${value}`))];
    for (const [index, reason] of tooLong.entries()) {
      if (reason !== undefined) problems.push({ param: index < p.args.length ? 'args' : 'env', reason });
    }
    // getent reads a name starting with `-` as an option (`--service=files` would find root): only
    // names and ids that can mean nothing else get as far as a lookup.
    for (const param of ['user', 'group'] as const) {
      const reason = p[param] === '' ? undefined : accountRefProblem(p[param]);
      if (reason !== undefined) problems.push({ param, reason });
    }
    if (!Number.isInteger(p.timeout) || p.timeout < 0 || p.timeout > MAX_TIMEOUT_S) {
      problems.push({
        param: 'timeout',
        reason: `must be a whole number of seconds from 0 to ${MAX_TIMEOUT_S}, got ${String(p.timeout)} (${typeof p.timeout})`,
      });
    }
    for (const key of Object.keys(p.env)) {
      if (!ENV_NAME.test(key)) problems.push({ param: 'env', reason: `"${key}" is not a valid environment variable name` });
    }
    return problems;
  },

  init: (params, ctx) => createLiveExec(params, ctx),

  // An exec comes after whatever provides its programs (the file, or the package shipping it) and
  // the user and group it runs as. A bare program name is found through PATH
  // only at run time, so it names nothing to order after.
  autoedge: {
    uids: (p) => [execUid(p.cmd)],
    search(p) {
      const programs = new Set<string>();
      for (const [cmd, shell] of [[p.cmd, p.shell], [p.watchcmd, p.watchshell], [p.ifcmd, p.ifshell], [p.nifcmd, p.nifshell]] as const) {
        if (!isSet(cmd)) continue;
        const program = commandLine(cmd, shell).file;
        if (isAbsolute(program)) programs.add(program);
      }
      const wanted: WantedUid[] = [];
      for (const program of programs) wanted.push(want(pkgFileUid(program), true), want(fileUid(program), true));
      if (p.user !== '') wanted.push(want(userUid(p.user), true));
      if (p.group !== '') wanted.push(want(groupUid(p.group), true));
      return oneRound(wanted);
    },
  },

  // A command runs as root unless it names a user, and a user name is only resolved when it runs:
  // no collected exec is harmless enough to need no opt-in.
  collect: {
    allowances: ['exec'],
    privileges: () => [{ field: 'cmd', allowance: 'exec', reason: 'it would run a command on this host' }],
  },
};

/** Command is one of the commands an exec resource runs, with the role it plays. */
interface Command {
  readonly role: 'cmd' | 'ifcmd' | 'nifcmd' | 'watchcmd';
  readonly cmd: string;
  readonly shell: string;
  readonly cwd: string;
  readonly args: readonly string[];
}

function createLiveExec(p: ExecParams, ctx: ResourceContext): LiveResource {
  const main: Command = { role: 'cmd', cmd: p.cmd, shell: p.shell, cwd: p.cwd, args: p.args };
  const ifCommand = optionalCommand('ifcmd', p.ifcmd, p.ifshell, p.ifcwd);
  const nifCommand = optionalCommand('nifcmd', p.nifcmd, p.nifshell, p.nifcwd);
  const watchCommand = optionalCommand('watchcmd', p.watchcmd, p.watchshell, p.watchcwd);
  const searchPath = process.env.PATH ?? FALLBACK_PATH;

  // cleanup aborts `stopping`, which every run listens to, then waits for runs and group kills.
  const stopping = new AbortController();
  const runs = new Set<Promise<unknown>>();
  const kills = new Set<Promise<unknown>>();
  const track = <T>(set: Set<Promise<unknown>>, promise: Promise<T>): Promise<T> => {
    set.add(promise);
    const forget = (): void => void set.delete(promise);
    promise.then(forget, forget);
    return promise;
  };

  const label = (command: Command): string => `${command.role} "${command.cmd}"`;

  // prepare resolves everything a command needs at run time: a package installed by an earlier
  // resource may provide the program, a user resource the user.
  const prepare = async (command: Command, credentials: () => Promise<Credentials>, signal: AbortSignal): Promise<ProcessSpec> => {
    try {
      const line = commandLine(command.cmd, command.shell, command.args);
      const file = await resolveProgram(line.file, searchPath);
      if (command.cwd !== '') await assertDirectory(command.cwd);
      return { file, args: line.args, env: p.env, cwd: command.cwd || undefined, ...(await credentials()) };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new Error(`${label(command)} could not be started: ${errorMessage(err)}`, { cause: err });
    }
  };

  const credentialsFor = (signal: AbortSignal): (() => Promise<Credentials>) => {
    let resolved: Promise<Credentials> | undefined;
    return () => {
      if (p.user === '' && p.group === '') return Promise.resolve({});
      return (resolved ??= resolveCredentials(p.user, p.group, searchPath, signal));
    };
  };

  const logOutput = (command: Command, result: ProcessResult): void => {
    const stdout = result.stdout.trimEnd();
    const stderr = result.stderr.trimEnd();
    if (stdout !== '') ctx.log.debug(`${command.role} stdout: ${stdout}`);
    if (stderr !== '') ctx.log.debug(`${command.role} stderr: ${stderr}`);
  };

  const run = async (command: Command, credentials: () => Promise<Credentials>, signal: AbortSignal): Promise<ProcessResult> => {
    const spec = await prepare(command, credentials, signal);
    ctx.log.debug(`running ${label(command)}`);
    let result: ProcessResult;
    try {
      result = await runProcess(spec, { signal, timeoutMs: p.timeout * 1000 });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Error(`${label(command)} could not be started: ${errorMessage(err)}`, { cause: err });
    }
    logOutput(command, result);
    if (result.timedOut) throw new Error(withStderr(`${label(command)} timed out after ${p.timeout} s and was killed`, result.stderr));
    return result;
  };

  const checkApply = async (apply: boolean, signal: AbortSignal): Promise<boolean> => {
    const runSignal = AbortSignal.any([signal, stopping.signal]);
    const credentials = credentialsFor(runSignal);
    if (p.creates !== '' && (await pathExists(p.creates))) {
      ctx.log.debug(`"${p.creates}" exists: not running cmd`);
      return true;
    }
    if (ifCommand) {
      const result = await run(ifCommand, credentials, runSignal);
      if (result.code !== 0) {
        ctx.log.debug(`ifcmd ${describeExit(result)}: not running cmd`);
        return true;
      }
    }
    if (nifCommand) {
      const result = await run(nifCommand, credentials, runSignal);
      if (result.code === 0) {
        ctx.log.debug('nifcmd exited with code 0: not running cmd');
        return true;
      }
    }
    if (!apply) return false;
    const result = await run(main, credentials, runSignal);
    if (result.code !== 0) throw new Error(withStderr(`${label(main)} ${describeExit(result)}`, result.stderr));
    // A successful run is always a change: the engine runs us again only on a new event or refresh.
    return false;
  };

  const watchLines = (command: Command): Observable<void> =>
    defer(async () => prepare(command, credentialsFor(stopping.signal), stopping.signal)).pipe(
      switchMap((spec) =>
        watchProcess(spec, (killed) => void track(kills, killed)).pipe(
          catchError((err: unknown) => throwError(() => new Error(`${label(command)} ${errorMessage(err)}`, { cause: err }))),
        ),
      ),
      tap((event) => {
        if (event.type !== 'lines') return;
        // One read is one re-check however many lines it brought: a flooding watchcmd costs one check at a time.
        for (const line of event.first) ctx.log.debug(`watchcmd: ${line}`);
        const more = event.count - event.first.length;
        if (more > 0) ctx.log.debug(`watchcmd: ... and ${more} more lines`);
      }),
      map(() => undefined),
    );

  return {
    watch() {
      const sources: Observable<void>[] = [];
      if (watchCommand) sources.push(watchLines(watchCommand));
      if (p.creates !== '') sources.push(ctx.watchPath(p.creates));
      return whenAllReady(sources);
    },

    checkApply: (apply, signal) => track(runs, checkApply(apply, signal)),

    async cleanup() {
      stopping.abort(new Error(`${ctx.id} is shutting down`));
      await Promise.allSettled([...runs]); // their failures belong to whoever called checkApply
      await Promise.all([...kills]);
    },
  };
}

function isSet(value: string): boolean {
  return value.trim() !== '';
}

function optionalCommand(role: Command['role'], cmd: string, shell: string, cwd: string): Command | undefined {
  return isSet(cmd) ? { role, cmd, shell, cwd, args: [] } : undefined;
}


// assertDirectory gives a clear error for a bad cwd; spawn would report it as the program missing.
async function assertDirectory(path: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (err) {
    throw new Error(`cwd "${path}" is not usable: ${errorMessage(err)}`, { cause: err });
  }
  if (!isDirectory) throw new Error(`cwd "${path}" is not a directory`);
}

