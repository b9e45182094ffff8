import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SYSTEMD_NOTIFY } from '../agent/ready-notify.js';
import { openSystemd, SystemdClient, SystemdError } from '../dbus/systemd.js';
import { errorMessage, MgmtError, UsageError } from '../errors.js';
import { yamlFromFlags } from '../frontend/yaml.js';
import { loadGraph } from '../frontend/yaml-load.js';
import { graphFileArgument } from '../frontend/yaml-args.js';
import { writeFileAtomic } from '../os/atomic-write.js';
import { ensurePrivateDir } from '../world/private-dir.js';
import type { CommandHandler, CommandIO } from './command.js';
import type { ParsedFlags } from './flags.js';
import { checkRunFlags } from './run-command.js';
import { RUN_FLAGS } from './run-flags.js';
import { findOnPath } from '../os/program-path.js';
import { runArguments, serviceArgv } from './service-args.js';
import { existingUnit, refuseForeign, targetOf, type ServiceTarget } from './service-target.js';
import { unitText } from './service-unit.js';

// How long install waits for the agent's first pass before it leaves the start to systemd.
const START_WAIT_MS = 60_000;

/** serviceCommand runs `mgmt service install|uninstall|status`: the agent as a systemd service. */
export const serviceCommand: CommandHandler = async (flags, positional, io) => {
  const [action, ...rest] = positional;
  if (action === 'install') return install(flags, rest, io);
  if (action !== 'uninstall' && action !== 'status') {
    throw new UsageError(`mgmt service: ${action === undefined ? 'say what to do' : `unknown action ${JSON.stringify(action)}`}: install, uninstall or status`);
  }
  const command = `service ${action}`;
  const runFlags = runArguments(flags, RUN_FLAGS, command);
  if (runFlags.length > 0 || rest.length > 0) throw new UsageError(`mgmt ${command}: ${[...runFlags, ...rest][0]} is for install only`);
  return action === 'uninstall' ? uninstall(flags, io) : status(flags, io);
};

async function install(flags: ParsedFlags, positional: readonly string[], io: CommandIO): Promise<number> {
  const command = 'service install';
  const target = targetOf(flags, command);
  // A unit file is readable by every user, and its command line by anyone through systemd.
  if (flags.token !== undefined) throw new UsageError(`mgmt ${command}: --token would be readable by every user in the unit: use --token-file`);
  // Checked as `mgmt run` checks it, before anything is written: the flags, then the graph itself.
  const yaml = graphFileArgument(flags, positional, command);
  const runFlags: ParsedFlags = { ...flags, yaml };
  const checked = await checkRunFlags(yamlFromFlags, runFlags, []).catch((err: unknown) => {
    // The run's own checks name `mgmt run`; the operator typed `mgmt service install`.
    if (err instanceof UsageError && err.message.startsWith('mgmt run: ')) throw new UsageError(`mgmt ${command}: ${err.message.slice('mgmt run: '.length)}`);
    throw err;
  });
  const loaded = await loadGraph(yaml, { registry: checked.registry, strict: flags.strict === true, noAutoedges: flags['no-autoedges'] === true, noAutogroup: flags['no-autogroup'] === true });
  for (const warning of loaded.warnings) io.stderr.write(`warning: ${warning}\n`);
  const notify = (await findOnPath(SYSTEMD_NOTIFY)) !== undefined;
  const text = unitText({
    argv: serviceArgv(runArguments(runFlags, RUN_FLAGS, command)),
    notify,
    notifyAccess: process.getuid?.() === 0 ? 'main' : 'all',
    session: target.session,
  });
  await refuseForeign(target, flags.force === true, command);
  return withManager(target, command, async (client) => {
    // The manager must answer before the file is written: nothing is left half-installed.
    const before = await client.unitStatus(await client.loadUnit(target.name));
    await failsAs(command, async () => {
      // Root writes here: a directory (or parent) another user could swap or write is refused.
      const dir = ensurePrivateDir(dirname(target.path), { parents: true, followOwnLink: true });
      await writeFileAtomic(join(dir, target.name), text, { mode: 0o644 });
    });
    await client.reload();
    await client.enableUnitFiles([target.name]);
    await client.reload();
    io.stdout.write(`mgmt ${command}: wrote ${target.path} (Type=${notify ? 'notify' : 'exec'}) and enabled ${target.name}\n`);
    // An agent of an earlier install is stopped, to start with the new command line.
    if (before.activeState !== 'inactive' && before.activeState !== 'failed') await client.stopUnit(target.name, undefined, 'replace');
    const state = await startUnit(client, target.name);
    io.stdout.write(`mgmt ${command}: ${target.name} is ${state}\n`);
    return 0;
  });
}

/** startUnit starts the unit and says in what state; a first pass that takes long is left to go on under systemd. */
async function startUnit(client: SystemdClient, name: string): Promise<string> {
  const waited = AbortSignal.timeout(START_WAIT_MS);
  try {
    await client.startUnit(name, waited, 'replace');
    return 'active: its first graph has been applied';
  } catch (err) {
    if (!waited.aborted) throw err;
    return `still starting after ${START_WAIT_MS / 1000} s (its first graph is being applied); see journalctl -u ${name}`;
  }
}

async function uninstall(flags: ParsedFlags, io: CommandIO): Promise<number> {
  const command = 'service uninstall';
  const target = targetOf(flags, command);
  if (!(await refuseForeign(target, flags.force === true, command))) {
    io.stdout.write(`mgmt ${command}: ${target.path} does not exist: nothing to do\n`);
    return 0;
  }
  return withManager(target, command, async (client) => {
    await client.stopUnit(target.name, undefined, 'replace');
    // A unit that had failed would stay listed as failed after its file is gone.
    await client.resetFailedUnit(target.name);
    await client.disableUnitFiles([target.name]);
    await failsAs(command, () => rm(target.path, { force: true }));
    await client.reload();
    io.stdout.write(`mgmt ${command}: stopped and disabled ${target.name}, removed ${target.path}\n`);
    return 0;
  });
}

async function status(flags: ParsedFlags, io: CommandIO): Promise<number> {
  const command = 'service status';
  const target = targetOf(flags, command);
  const installed = await existingUnit(target.path);
  return withManager(target, command, async (client) => {
    const path = await client.loadUnit(target.name);
    const unit = await client.unitStatus(path);
    const pid = Number(await client.getProperty(path, 'org.freedesktop.systemd1.Service', 'MainPID').catch(() => 0));
    const file = installed === undefined ? 'no unit file' : installed.byMgmt ? target.path : `${target.path} (not written by mgmt)`;
    const state = unit.loadState === 'loaded' ? `${unit.activeState} (${unit.subState}), ${unit.unitFileState || 'unknown'}` : unit.loadState;
    io.stdout.write(`${target.name}: ${state}${pid > 0 ? `, main pid ${pid}` : ''}; ${file}\n`);
    return unit.activeState === 'active' ? 0 : 3;
  });
}

/** withManager runs `use` with a client of the target's manager; a failure of systemd is an expected error (exit 1) naming the command. */
async function withManager(target: ServiceTarget, command: string, use: (client: SystemdClient) => Promise<number>): Promise<number> {
  const client = openSystemd(target.session ? 'user' : 'system');
  try {
    return await use(client);
  } catch (err) {
    if (err instanceof SystemdError) throw new MgmtError(`mgmt ${command}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    client.release();
  }
}

/** failsAs runs a file operation; its failure (EACCES for a system unit of a user who is not root) is one line naming the command, exit 1. */
async function failsAs(command: string, operation: () => Promise<void>): Promise<void> {
  try {
    await operation();
  } catch (err) {
    throw new MgmtError(`mgmt ${command}: ${errorMessage(err)}`, { cause: err });
  }
}
