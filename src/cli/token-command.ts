// `mgmt token create`: on a server host, a join token for a new host. stdout gets
// the token line alone, so `TOKEN=$(mgmt token create ...)` works; the note about it goes to stderr.

import { createToken } from '../cluster/tokens.js';
import { UsageError } from '../errors.js';
import { caPin } from '../tls/certs.js';
import { formatToken } from '../tls/token.js';
import { parseDuration } from './duration.js';
import { asServerHost, hostNameArgument, withAdminConnection } from './admin-connection.js';
import type { CommandHandler } from './command.js';

/** tokenCommand runs `mgmt token create`. */
export const tokenCommand: CommandHandler = async (flags, positional, io) => {
  const [action, ...extra] = positional;
  if (action !== 'create' || extra.length > 0) throw new UsageError('mgmt token: usage: mgmt token create --prefix DIR [--ttl 15m] [--uses 1] [--host NAME] [--endpoints URLS]');
  const ttlMs = parseDuration(flags.ttl as string, 'mgmt token create: --ttl', 1000);
  const uses = flags.uses as number;
  if (uses < 1) throw new UsageError(`mgmt token create: --uses must be 1 or more, not ${uses}`);
  const host = flags.host === undefined ? undefined : hostNameArgument(flags.host as string, 'token create');
  return withAdminConnection(flags, 'token create', async (admin) => {
    const token = await asServerHost(admin, 'create tokens', () => createToken(admin.connection, caPin(admin.caPem), { ttlMs, uses, host }));
    io.stdout.write(`${formatToken(token)}\n`);
    const expires = new Date(Date.now() + ttlMs).toISOString();
    io.stderr.write(`mgmt: join token ${token.id}: ${uses} use${uses === 1 ? '' : 's'} until ${expires}${host ? `, for host ${host} only` : ''}\n`);
    return 0;
  });
};
