import { mkdtemp } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage, MgmtError } from '../errors.js';
import { ensurePrivateDir } from '../world/private-dir.js';

/**
 * makePrefix creates (or checks) the directory the agent keeps its state in and returns its real
 * path: a fresh temporary one when `tmpPrefix`, else `prefix` or the default. An existing prefix
 * that another user owns or can write is refused, as is one that cannot be written (a read-only
 * mount): a clear error, exit 1, before anything runs.
 */
export async function makePrefix(prefix: string | undefined, tmpPrefix: boolean, hostname: string): Promise<string> {
  if (tmpPrefix) {
    try {
      return await mkdtemp(join(tmpdir(), `mgmt-${hostname}-`));
    } catch (err) {
      throw new MgmtError(`mgmt run: cannot create a temporary prefix in ${tmpdir()}: ${errorMessage(err)} (set TMPDIR, or use --prefix DIR)`);
    }
  }
  // The operator's own symlink (e.g. /var/lib/mgmt -> /srv/mgmt) is followed; a planted one is not.
  return ensurePrivateDir(prefix ?? defaultPrefix(), { parents: true, followOwnLink: true });
}

/** defaultPrefix is /var/lib/mgmt for root, else $XDG_CACHE_HOME/mgmt or ~/.cache/mgmt. */
export function defaultPrefix(): string {
  if (process.env.MGMT_PREFIX) return process.env.MGMT_PREFIX;
  if (process.getuid?.() === 0) return '/var/lib/mgmt';
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mgmt');
}
