import type { FlagSpec, ParsedFlags } from './flags.js';

/** CommandIO is where a command writes; tests hand in their own streams. */
export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** CommandHandler runs one command and resolves to its exit code. */
export type CommandHandler = (flags: ParsedFlags, positional: string[], io: CommandIO) => Promise<number>;

/** Command is one row of the command table. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: readonly FlagSpec[];
  /** Lazily imported so `mgmt --version` and `mgmt check` stay fast. */
  readonly load: () => Promise<CommandHandler>;
}
