// CFEngine's cf-agent for the peer scenarios: found on the PATH or installed (Debian `cfengine3`),
// given a working directory of its own, and run once without a hub, ignoring locks.

import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { expectSuccess, timedRun, type TimedRun } from './proc.js';

const APT_TIMEOUT_MS = 600_000;

/** findCfAgent returns the path of `cf-agent` on the PATH (or in CFEngine's own bin directories), if any. */
export function findCfAgent(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/var/cfengine/bin'];
  return dirs.filter(Boolean).map((dir) => join(dir, 'cf-agent')).find((path) => existsSync(path));
}

/** ensureCfAgent returns cf-agent's path, installing `cfengine3` with apt-get first when it is missing (as root only). */
export async function ensureCfAgent(progress: (message: string) => void): Promise<string> {
  const found = findCfAgent();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('cf-agent is missing and the bench is not root: install it first (apt-get install -y cfengine3)');
  }
  progress('cf-agent is missing: apt-get install -y cfengine3');
  const run = await timedRun('apt-get', ['install', '-y', 'cfengine3'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: APT_TIMEOUT_MS });
  if (run.code !== 0) throw new Error(`cf-agent is missing and apt-get install -y cfengine3 exited with ${run.code}: ${lastLine(run.stderr || run.stdout)}`);
  const installed = findCfAgent();
  if (!installed) throw new Error('apt-get installed cfengine3 but no cf-agent is on the PATH');
  return installed;
}

/**
 * makeCfWorkdir makes a CFEngine working directory (locks, state, keys) at `dir`, so that runs keep
 * their state in the scenario's directory rather than /var/lib/cfengine3. cf-agent validates a
 * policy with `WORKDIR/bin/cf-promises`, so `bin` points at cf-agent's own directory, as Debian's
 * /var/lib/cfengine3/bin does.
 */
export async function makeCfWorkdir(dir: string, cfAgent: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await symlink(dirname(cfAgent), join(dir, 'bin'));
  return dir;
}

/** runCfAgent runs `cf-agent -K -f POLICY` (no hub, locks ignored) with its state in `workdir`, and fails on an exit status or an error line. */
export async function runCfAgent(cfAgent: string, policy: string, workdir: string, what: string, timeoutMs: number): Promise<TimedRun> {
  // CFENGINE_TEST_OVERRIDE_WORKDIR is how CFEngine's own tests move its working directory.
  const run = await timedRun(cfAgent, ['-K', '-f', policy], { env: { CFENGINE_TEST_OVERRIDE_WORKDIR: workdir }, timeoutMs, sampleRss: true });
  expectSuccess(run, `cf-agent (${what})`);
  // cf-agent exits 0 when promises are not kept; its error lines say so.
  const error = `${run.stdout}\n${run.stderr}`.split('\n').find((line) => /\berror:/.test(line));
  if (error) throw new Error(`cf-agent (${what}) reported: ${error.trim()}`);
  return run;
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}
