import { UsageError } from '../errors.js';
import type { FrontendFlags } from './types.js';

/**
 * graphFileArgument is the graph file of `run` and `check`: `--yaml FILE`, or one positional
 * argument instead of it. Anything else on the line is an error, not silently ignored: a second
 * file may be what the operator meant to run.
 */
export function graphFileArgument(flags: FrontendFlags, positional: readonly string[], command: string): string {
  const yaml = flags.yaml as string | undefined;
  const extra = yaml === undefined ? positional.slice(1) : positional;
  if (extra.length > 0) {
    const quoted = extra.map((arg) => JSON.stringify(arg)).join(' ');
    throw new UsageError(`mgmt ${command}: unexpected argument${extra.length > 1 ? 's' : ''} ${quoted} (one graph: --yaml FILE)`);
  }
  const file = yaml ?? positional[0];
  if (!file) throw new UsageError(`mgmt ${command}: --yaml FILE is required`);
  return file;
}
