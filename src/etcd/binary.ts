import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { MgmtError } from '../errors.js';

/** ETCD_DEBIAN_PACKAGE is the Debian package that ships the `etcd` server binary. */
export const ETCD_DEBIAN_PACKAGE = 'etcd-server';

/** findOnPath returns the first executable called `name` in the PATH directories, or undefined. */
export async function findOnPath(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** resolveEtcdBinary finds the etcd binary (an explicit path or name, else `etcd` on PATH) or throws a hint naming the Debian package. */
export async function resolveEtcdBinary(binary?: string): Promise<string> {
  const wanted = binary ?? 'etcd';
  // A bare name is looked up on PATH; anything with a slash is taken as a path.
  const found = isAbsolute(wanted) || wanted.includes('/') ? ((await isExecutable(wanted)) ? wanted : undefined) : await findOnPath(wanted);
  if (found) return found;
  const where = binary === undefined ? '`etcd` was not found on PATH' : `etcd binary ${JSON.stringify(binary)} was not found or is not executable`;
  throw new MgmtError(
    `${where}; install the Debian package \`${ETCD_DEBIAN_PACKAGE}\` (apt-get install ${ETCD_DEBIAN_PACKAGE}) or pass the path of an etcd binary`,
  );
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    // access() alone accepts directories, which are "executable" too.
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
