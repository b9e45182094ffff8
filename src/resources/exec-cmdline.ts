import { findOnPath } from '../os/program-path.js';

/** CommandLine is a program and its arguments, to be started without any shell in between. */
export interface CommandLine {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * splitCommand splits a command on runs of whitespace, like Go's `strings.Fields` in the original:
 * no quoting, no escapes, no expansion, so no character in it means anything to a shell.
 */
export function splitCommand(cmd: string): string[] {
  return cmd.split(/\s+/).filter((word) => word !== '');
}

/**
 * commandLine says what to start for `cmd`: `shell -c cmd` when a shell is given, otherwise the
 * words of `cmd` followed by `args`.
 */
export function commandLine(cmd: string, shell: string, args: readonly string[] = []): CommandLine {
  if (shell !== '') return { file: shell, args: ['-c', cmd] };
  const [file = '', ...rest] = splitCommand(cmd);
  return { file, args: [...rest, ...args] };
}

/**
 * resolveProgram finds a bare program name in the directories of `searchPath` (the agent's PATH)
 * and returns its absolute path; a name with a slash is returned as it is. We search ourselves
 * because the process starts with an empty environment and so has no PATH of its own.
 */
export async function resolveProgram(file: string, searchPath: string): Promise<string> {
  if (file.includes('/')) return file;
  const found = await findOnPath(file, searchPath);
  if (found === undefined) throw new Error(`command "${file}" was not found in PATH "${searchPath}"`);
  return found;
}
