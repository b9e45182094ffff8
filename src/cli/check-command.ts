import { UsageError } from '../errors.js';
import { check } from './check.js';
import type { CommandHandler } from './main.js';

/** checkCommand adapts `mgmt check` flags to the check function. */
export const checkCommand: CommandHandler = (flags, positional, io) => {
  const yaml = (flags.yaml as string | undefined) ?? positional[0];
  if (!yaml) throw new UsageError('mgmt check: --yaml FILE is required');
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
