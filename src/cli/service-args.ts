// The command line a service runs: the node binary and the launcher by their absolute paths (a
// unit has no PATH of the operator's), the launcher's own node flags, and `run` with the flags the
// operator gave `mgmt service install`, every path among them made absolute (a unit's working
// directory is not the operator's).

import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import type { FlagSpec, ParsedFlags } from './flags.js';
import { controlCharacter } from './service-unit.js';

// Flags whose values are paths (relative ones are resolved against the installer's directory).
const PATH_FLAGS: ReadonlySet<string> = new Set(['yaml', 'prefix', 'graphviz', 'token-file']);

/**
 * runArguments renders the run flags an operator gave (those that differ from their defaults) as
 * `--name=value` arguments, paths made absolute; a value with a control character is refused, as
 * no unit file can hold it.
 */
export function runArguments(flags: ParsedFlags, specs: readonly FlagSpec[], command: string): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    const value = flags[spec.name];
    if (value === undefined || value === false || value === spec.default) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      if (value === true) {
        out.push(`--${spec.name}`);
        continue;
      }
      let text = String(one);
      const bad = controlCharacter(text);
      if (bad !== undefined) throw new UsageError(`mgmt ${command}: --${spec.name} ${JSON.stringify(text)} holds the control character ${bad}, which a systemd unit cannot hold`);
      if (PATH_FLAGS.has(spec.name) || (spec.name === 'etcd-binary' && text.includes('/'))) text = resolve(text);
      out.push(`--${spec.name}=${text}`);
    }
  }
  return out;
}

/** launcherPath is the absolute, real path of the launcher, bin/mgmt.js, of this installation. */
export function launcherPath(): string {
  // dist/bundle/ when built (the bundle), src/cli/ when run from source: bin/ is beside either's parent.
  const path = fileURLToPath(new URL('../../bin/mgmt.js', import.meta.url));
  try {
    return realpathSync(path);
  } catch (err) {
    throw new UsageError(`mgmt service install: cannot find the launcher ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * launcherNodeFlags are the node flags of the launcher's first line (`#!/usr/bin/env -S node
 * --max-semi-space-size=4`): the service starts node as the `mgmt` command does, and so finds the
 * code cache made under those flags.
 */
export function launcherNodeFlags(launcherText: string): string[] {
  const firstLine = launcherText.split('\n', 1)[0] ?? '';
  const words = firstLine.replace(/^#!/, '').trim().split(/\s+/);
  const node = words.indexOf('node');
  return node < 0 ? [] : words.slice(node + 1);
}

/** serviceArgv is the whole command line of the service: node, its flags, the launcher, `run` and `runArgs`. */
export function serviceArgv(runArgs: readonly string[]): string[] {
  const launcher = launcherPath();
  return [process.execPath, ...launcherNodeFlags(readFileSync(launcher, 'utf8')), launcher, 'run', ...runArgs];
}

