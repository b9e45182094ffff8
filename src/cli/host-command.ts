// `mgmt host list` and `mgmt host revoke NAME`, run on a server host: the
// inventory of the hosts etcd knows, and the removal of one host's every right at once.

import { createInterface } from 'node:readline/promises';
import { ClusterAuthority, type HostEntry, type RevokeResult } from '../cluster/authority.js';
import { UsageError } from '../errors.js';
import { escapeControl } from '../log/escape.js';
import { asServerHost, hostNameArgument, withAdminConnection } from './admin-connection.js';
import type { CommandIO, CommandHandler } from './command.js';

const USAGE = 'mgmt host: usage: mgmt host list --prefix DIR [--format text|json] | mgmt host revoke NAME --prefix DIR [--yes]';

/** hostCommand runs `mgmt host list` and `mgmt host revoke`. */
export const hostCommand: CommandHandler = async (flags, positional, io) => {
  const [action, ...rest] = positional;
  if (action === 'list' && rest.length === 0) {
    return withAdminConnection(flags, 'host list', async (admin) => {
      const hosts = await asServerHost(admin, 'list hosts', () => new ClusterAuthority(admin.connection).listHosts());
      io.stdout.write(flags.format === 'json' ? `${JSON.stringify(hosts)}\n` : hostTable(hosts));
      return 0;
    });
  }
  if (action === 'revoke' && rest.length === 1) {
    const name = hostNameArgument(rest[0]!, 'host revoke');
    if (flags.yes !== true && !(await confirmed(name, io))) {
      throw new UsageError(`mgmt host revoke: revoking ${name} cannot be undone (it needs a new token to join again): add --yes to revoke it`);
    }
    return withAdminConnection(flags, 'host revoke', async (admin) => {
      // Its own certificate would stop working halfway; another server host revokes this one.
      if (name === admin.hostname) throw new UsageError(`mgmt host revoke: ${name} is this host: revoke it from another server host`);
      const result = await asServerHost(admin, 'revoke hosts', () => new ClusterAuthority(admin.connection).revokeHost(name));
      io.stdout.write(`${revokedLine(name, result)}\n`);
      return 0;
    });
  }
  throw new UsageError(USAGE);
};

/** hostTable renders the inventory as aligned columns (host names from etcd are escaped). */
export function hostTable(hosts: readonly HostEntry[]): string {
  const rows = [
    ['HOST', 'ROLE', 'CERT EXPIRES', 'LAST SEEN', 'MEMBER'],
    ...hosts.map((h) => [escapeControl(h.host), h.role, h.certExpires ?? '-', escapeControl(h.lastSeen ?? '-'), h.member ? 'yes' : 'no']),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd() + '\n').join('');
}

function revokedLine(name: string, result: RevokeResult): string {
  const parts = [result.user ? 'its etcd user and rights are deleted' : 'it had no etcd user left', `${result.keys} of its keys deleted`];
  if (result.member) parts.push('removed from the etcd members');
  return `revoked host ${name}: ${parts.join(', ')}`;
}

// Asked on a terminal only: a script without --yes gets a usage error, never a question it cannot answer.
async function confirmed(name: string, io: CommandIO): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`revoke host ${name}: delete its etcd user, rights, exports and membership? [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}
