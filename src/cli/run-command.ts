import { UsageError } from '../errors.js';
import type { CommandHandler } from './main.js';
import { run } from './run.js';

/** runCommand adapts `mgmt run` flags to the run function. */
export const runCommand: CommandHandler = (flags, positional, io) => {
  const yaml = (flags.yaml as string | undefined) ?? positional[0];
  if (!yaml) throw new UsageError('mgmt run: --yaml FILE is required');
  return run(
    {
      yaml,
      convergedTimeout: flags['converged-timeout'] as number,
      graphviz: flags.graphviz as string | undefined,
      graphvizFilter: flags['graphviz-filter'] as string,
      hostname: flags.hostname as string | undefined,
      prefix: flags.prefix as string | undefined,
      tmpPrefix: flags['tmp-prefix'] === true,
      noop: flags.noop === true,
      sema: flags.sema as number,
      noWatch: flags['no-watch'] === true,
      noAutoedges: flags['no-autoedges'] === true,
      noAutogroup: flags['no-autogroup'] === true,
      strict: flags.strict === true,
      logFormat: flags['log-format'] as 'text' | 'json',
      verbose: flags.verbose === true,
      handleSignals: true,
    },
    io,
  );
};
