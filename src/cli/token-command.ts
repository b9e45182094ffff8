// `mgmt token create`: on a server host, a join token for a new host (issue 11 point 2). stdout gets
// the token line alone, so `TOKEN=$(mgmt token create ...)` works; the note about it goes to stderr.

import { createToken } from '../cluster/tokens.js';
import { UsageError } from '../errors.js';
import { caPin } from '../tls/pki.js';
import { formatToken } from '../tls/token.js';
import { asServerHost, hostNameArgument, withAdminConnection } from './admin-connection.js';
import type { CommandHandler } from './main.js';

const UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** parseDuration reads `90s`, `15m`, `12h`, `30d` (or `500ms`) as milliseconds; `flag` names it in the usage error. */
export function parseDuration(text: string, flag: string, command: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNITS_MS[match[2]!]! : NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new UsageError(`mgmt ${command}: ${flag} takes a duration like 90s, 15m, 12h or 30d, not ${JSON.stringify(text)}`);
  return ms;
}

/** tokenCommand runs `mgmt token create`. */
export const tokenCommand: CommandHandler = async (flags, positional, io) => {
  const [action, ...extra] = positional;
  if (action !== 'create' || extra.length > 0) throw new UsageError('mgmt token: usage: mgmt token create --prefix DIR [--ttl 15m] [--uses 1] [--host NAME] [--endpoints URLS]');
  const ttlMs = parseDuration(flags.ttl as string, '--ttl', 'token create');
  if (ttlMs < 1000) throw new UsageError('mgmt token create: --ttl must be at least 1s');
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
