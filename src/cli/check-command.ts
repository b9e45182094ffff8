import { graphFileArgument } from '../frontend/yaml-args.js';
import { check } from './check.js';
import type { CommandHandler } from './command.js';

/** checkCommand adapts `mgmt check` flags to the check function. */
export const checkCommand: CommandHandler = (flags, positional, io) => {
  const yaml = graphFileArgument(flags, positional, 'check');
  return check({
    yaml,
    format: flags.format as 'text' | 'json',
    strict: flags.strict === true,
    noAutoedges: flags['no-autoedges'] === true,
    noAutogroup: flags['no-autogroup'] === true,
    stdout: io.stdout,
    stderr: io.stderr,
  });
};
