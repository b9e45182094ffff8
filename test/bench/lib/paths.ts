// Where the bench finds the agent and its own helper scripts, resolved from this compiled file
// (dist/test/bench/lib/paths.js), so the bench works from any working directory.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** REPO_ROOT is the repository root (the directory holding package.json and bin/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** MGMT_BIN is the CLI entry point, run as `node bin/mgmt.js` with the bench's own node. */
export const MGMT_BIN = join(REPO_ROOT, 'bin', 'mgmt.js');

/** MGMT_MAIN is the bundled CLI that bin/mgmt.js imports for every command but --version. */
export const MGMT_MAIN = join(REPO_ROOT, 'dist', 'bundle', 'mgmt.cjs');

/** baselineScript returns the compiled path of a baseline helper in test/bench/baselines/. */
export function baselineScript(name: string): string {
  return join(REPO_ROOT, 'dist', 'test', 'bench', 'baselines', `${name}.js`);
}

/** BASELINE_SCRIPTS are the helpers every scenario may spawn. */
export const BASELINE_SCRIPTS = ['write-files', 'check-files', 'repair-files'] as const;

/** missingBuildOutputs lists the compiled files the bench needs but cannot find (empty = built). */
export function missingBuildOutputs(): string[] {
  const needed = [MGMT_BIN, MGMT_MAIN, ...BASELINE_SCRIPTS.map(baselineScript)];
  return needed.filter((path) => !existsSync(path));
}
