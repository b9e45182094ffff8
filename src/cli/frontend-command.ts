import type { FrontendFactory } from '../frontend/types.js';
import type { Command } from './command.js';
import { AGENT_FLAGS } from './run-flags.js';

/** FrontendRow declares a command that runs the agent on one frontend; its flags are the frontend's own. */
export interface FrontendRow extends Omit<Command, 'load'> {
  /** Lazily imports the frontend's module and returns its factory. */
  readonly frontend: () => Promise<FrontendFactory>;
}

/** frontendCommand is the command-table row of a frontend: its flags and the agent's, run by runCommand. */
export function frontendCommand(row: FrontendRow): Command {
  return {
    name: row.name,
    summary: row.summary,
    usage: row.usage,
    flags: [...row.flags, ...AGENT_FLAGS],
    load: async () => {
      const [factory, { runCommand }] = await Promise.all([row.frontend(), import('./run-command.js')]);
      return (flags, positional, io) => runCommand(factory, flags, positional, io);
    },
  };
}
