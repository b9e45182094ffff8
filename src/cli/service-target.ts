// Which unit a `mgmt service` command acts on (mgmt.service, or mgmt-NAME.service, of the system or
// the user manager), and whether the file in its place is one mgmt wrote.

import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { unitNameProblem } from '../dbus/systemd.js';
import { errorMessage, MgmtError, UsageError } from '../errors.js';
import type { ParsedFlags } from './flags.js';
import { unitDirectory, writtenByMgmt } from './service-unit.js';

/** ServiceTarget is the unit a command acts on: its name, its file, and which manager runs it. */
export interface ServiceTarget {
  readonly name: string;
  readonly path: string;
  readonly session: boolean;
}

/** targetOf is the unit of a command line: `--name` and `--session` decide it. */
export function targetOf(flags: ParsedFlags, command: string): ServiceTarget {
  const given = flags.name as string | undefined;
  if (given !== undefined) {
    const problem = /^[A-Za-z0-9_.:-]+$/.test(given) ? unitNameProblem(`mgmt-${given}`) : 'use letters, digits and ":-_."';
    if (problem !== undefined) throw new UsageError(`mgmt ${command}: --name ${JSON.stringify(given)}: ${problem}`);
  }
  const name = given === undefined ? 'mgmt.service' : `mgmt-${given}.service`;
  const session = flags.session === true;
  return { name, path: join(unitDirectory(session), name), session };
}

/**
 * refuseForeign throws unless the unit file is absent, mgmt's, or `force` is given; it resolves to
 * whether the file exists.
 */
export async function refuseForeign(target: ServiceTarget, force: boolean, command: string): Promise<boolean> {
  const existing = await existingUnit(target.path);
  if (existing !== undefined && !existing.byMgmt && !force) {
    throw new UsageError(`mgmt ${command}: ${target.path} ${existing.why}: not mgmt's to replace or remove (--force does it anyway)`);
  }
  return existing !== undefined;
}

/** existingUnit reads a unit file without following a link: undefined when there is none, else whether mgmt wrote it. */
export async function existingUnit(path: string): Promise<{ byMgmt: boolean; why: string } | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') return { byMgmt: false, why: 'is a symbolic link' };
    throw new MgmtError(`mgmt service: cannot read ${path}: ${code ?? errorMessage(err)}`);
  }
  try {
    if (!(await handle.stat()).isFile()) return { byMgmt: false, why: 'is not a regular file' };
    const text = await handle.readFile('utf8');
    return writtenByMgmt(text) ? { byMgmt: true, why: '' } : { byMgmt: false, why: 'was not written by mgmt (its first line is not the mgmt marker)' };
  } finally {
    await handle.close();
  }
}
