import { readFileSync } from 'node:fs';
import { MgmtError, UsageError } from '../errors.js';
import type { CommandIO } from './command.js';
import { COMMANDS } from './commands.js';
import { restoreExtraCaCerts } from './extra-ca-certs.js';
import { formatFlagHelp, parseFlags } from './flags.js';

/** version reads the package version (kept out of the hot path of every other command). */
export function version(): string {
  // dist/bundle/ when built (the bundle), src/cli/ when run from source (tests): the package root is
  // above either.
  for (const up of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'mgmt') return pkg.version;
    } catch {
      // not this level
    }
  }
  throw new Error('mgmt: cannot find its package.json');
}

function usage(): string {
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(8)} ${command.summary}`);
  return ['usage: mgmt <command> [flags]', '', 'commands:', ...lines, '', "flags: 'mgmt <command> --help'; version: 'mgmt --version'"].join('\n');
}

/** main runs the command line and resolves to the exit code; the one top-level catch lives here. */
export async function main(argv: readonly string[], io: CommandIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  restoreExtraCaCerts();
  try {
    const [name, ...rest] = argv;
    if (name === '--version' || name === 'version') {
      io.stdout.write(`mgmt ${version()}\n`);
      return 0;
    }
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      io.stdout.write(usage() + '\n');
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS.find((candidate) => candidate.name === name);
    if (!command) throw new UsageError(`mgmt: unknown command "${name}"\n${usage()}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(`usage: ${command.usage}\n\n${formatFlagHelp(command.flags)}\n`);
      return 0;
    }
    const { flags, positional } = parseFlags(rest, command.flags, command.name);
    const handler = await command.load();
    return await handler(flags, positional, io);
  } catch (err) {
    return reportError(err, io);
  }
}

/** reportError prints an expected error as its message and anything else as a bug with its stack. */
export function reportError(err: unknown, io: CommandIO): number {
  if (err instanceof MgmtError) {
    if (err.message) io.stderr.write(`${err.message}\n`);
    return err.exitCode;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr.write(`mgmt: internal error (this is a bug, please report it):\n${detail}\n`);
  return 70;
}
