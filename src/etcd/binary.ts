import { isAbsolute } from 'node:path';
import { MgmtError } from '../errors.js';
import { findOnPath, isExecutableFile } from '../os/program-path.js';

/** ETCD_DEBIAN_PACKAGE is the Debian package that ships the `etcd` server binary. */
export const ETCD_DEBIAN_PACKAGE = 'etcd-server';

/** resolveEtcdBinary finds the etcd binary (an explicit path or name, else `etcd` on PATH) or throws a hint naming the Debian package. */
export async function resolveEtcdBinary(binary?: string): Promise<string> {
  const wanted = binary ?? 'etcd';
  // A bare name is looked up on PATH; anything with a slash is taken as a path.
  const found = isAbsolute(wanted) || wanted.includes('/') ? ((await isExecutableFile(wanted)) ? wanted : undefined) : await findOnPath(wanted);
  if (found) return found;
  const where = binary === undefined ? '`etcd` was not found on PATH' : `etcd binary ${JSON.stringify(binary)} was not found or is not executable`;
  throw new MgmtError(
    `${where}; install the Debian package \`${ETCD_DEBIAN_PACKAGE}\` (apt-get install ${ETCD_DEBIAN_PACKAGE}) or pass the path of an etcd binary`,
  );
}
