// Join tokens in etcd (issue 11 point 2): a server host stores a token's record under
// `/_mgmt-server/tokens/<id>` (readable by server hosts only) holding the SHA-256 of its secret,
// its expiry and its remaining uses, on a lease of its lifetime so an expired record vanishes too.
// The signer consumes one use per join, atomically: two joiners racing for the last use cannot
// both win. A join that then admits no host gives its use back.

import type { EtcdConnection } from '../etcd/connection.js';
import { MgmtError } from '../errors.js';
import { hashSecret, newToken, secretMatches, type JoinToken } from '../tls/token.js';
import { checkHostName } from './authority.js';
import { TOKENS_PREFIX } from './keys.js';

// A consumer that lost a race reads the record again; this many losses in a row is contention.
const MAX_CONSUME_ATTEMPTS = 20;

/** TokenRecord is what etcd keeps of a token: never its secret. */
export interface TokenRecord {
  /** Hex SHA-256 of the secret. */
  readonly hash: string;
  /** ISO time the token stops working. */
  readonly expires: string;
  /** Joins left; 0 = used up (the record stays until it expires, so a reuse is told so). */
  readonly uses: number;
  /** The only host that may join with it, when bound. */
  readonly host?: string;
  /** ISO time it was made. */
  readonly created: string;
}

/** TokenOptions say how long and how often a token works, and for which host. */
export interface TokenOptions {
  /** Lifetime in ms (at least one second). */
  readonly ttlMs: number;
  /** How many joins it allows (at least 1). */
  readonly uses: number;
  /** Bind it to this host name: only it may join with it, even when a user of that name exists. */
  readonly host?: string;
}

/** TokenRefused says in one line why a token does not admit a host; it never holds the secret. */
export class TokenRefused extends MgmtError {
  constructor(reason: string) {
    super(`join token refused: ${reason}`);
  }
}

/** createToken makes a token for the CA of `pin` and stores its record; it needs a server host's connection. */
export async function createToken(connection: EtcdConnection, pin: string, options: TokenOptions): Promise<JoinToken> {
  if (!Number.isInteger(options.ttlMs) || options.ttlMs < 1000) throw new MgmtError(`a token's lifetime must be at least 1 s, not ${options.ttlMs} ms`);
  if (!Number.isInteger(options.uses) || options.uses < 1) throw new MgmtError(`a token allows at least 1 use, not ${options.uses}`);
  if (options.host !== undefined) checkHostName(options.host);
  const token = newToken(pin);
  const now = Date.now();
  const record: TokenRecord = {
    hash: hashSecret(token.secret),
    expires: new Date(now + options.ttlMs).toISOString(),
    uses: options.uses,
    ...(options.host !== undefined ? { host: options.host } : {}),
    created: new Date(now).toISOString(),
  };
  const key = `${TOKENS_PREFIX}${token.id}`;
  const created = await connection.bounded('store a join token', async (client) => {
    const lease = client.lease(Math.ceil(options.ttlMs / 1000), { autoKeepAlive: false });
    try {
      // Create only: a (most unlikely) id already in use is not overwritten.
      const result = await client.if(key, 'Create', '==', 0).then(lease.put(key).value(JSON.stringify(record))).commit();
      if (!result.succeeded) await lease.revoke();
      return result.succeeded;
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw err;
    } finally {
      lease.release();
    }
  });
  if (!created) throw new MgmtError(`a join token with the id ${token.id} exists already; make another`);
  return token;
}

/** StoredToken is a token's record as read, with the revision a change is written on. */
interface StoredToken {
  readonly record: TokenRecord;
  readonly modRevision: string;
}

/** readToken reads a token's record; undefined when it is unknown, unreadable or expired. */
async function readToken(connection: EtcdConnection, key: string): Promise<StoredToken | undefined> {
  const found = await connection.bounded('read a join token', (client) => client.get(key).exec());
  const kv = found.kvs[0];
  const record = kv ? parseRecord(kv.value.toString('utf8')) : undefined;
  if (!kv || !record || Date.parse(record.expires) <= Date.now()) return undefined;
  return { record, modRevision: kv.mod_revision };
}

/** writeToken replaces a token's record if it is still at `modRevision` (keeping its lease); false when another writer got there first. */
async function writeToken(connection: EtcdConnection, key: string, what: string, stored: StoredToken, record: TokenRecord): Promise<boolean> {
  const result = await connection.bounded(what, (client) =>
    client.if(key, 'Mod', '==', stored.modRevision).then(client.put(key).value(JSON.stringify(record)).ignoreLease()).commit(),
  );
  return result.succeeded;
}

/**
 * readUsableToken reads the token's record and refuses it (TokenRefused) unless it is known, not
 * expired, its secret matches (compared in constant time), a use is left and it is not bound to
 * another host.
 */
async function readUsableToken(connection: EtcdConnection, token: Pick<JoinToken, 'id' | 'secret'>, hostname: string): Promise<StoredToken> {
  const stored = await readToken(connection, `${TOKENS_PREFIX}${token.id}`);
  if (!stored) throw new TokenRefused('unknown or expired token');
  const { record } = stored;
  // The secret first: who does not hold it learns nothing more of the token.
  if (!secretMatches(token.secret, record.hash)) throw new TokenRefused('wrong secret');
  if (record.uses <= 0) throw new TokenRefused('token used up');
  if (record.host !== undefined && record.host !== hostname) throw new TokenRefused(`token is for host ${record.host}`);
  return stored;
}

/**
 * checkToken resolves to the token's record when consumeToken would take a use of it for
 * `hostname` now, and rejects with TokenRefused otherwise; it takes nothing.
 */
export async function checkToken(connection: EtcdConnection, token: Pick<JoinToken, 'id' | 'secret'>, hostname: string): Promise<TokenRecord> {
  return (await readUsableToken(connection, token, hostname)).record;
}

/**
 * consumeToken takes one use of the token for `hostname`: it checks the token as checkToken does,
 * then writes the decremented record in a transaction on the revision it read, and resolves to
 * that record (a token bound to the host lets the signer replace the host's user). Otherwise it
 * rejects with TokenRefused.
 */
export async function consumeToken(connection: EtcdConnection, token: Pick<JoinToken, 'id' | 'secret'>, hostname: string): Promise<TokenRecord> {
  for (let attempt = 0; attempt < MAX_CONSUME_ATTEMPTS; attempt++) {
    const stored = await readUsableToken(connection, token, hostname);
    const next: TokenRecord = { ...stored.record, uses: stored.record.uses - 1 };
    if (await writeToken(connection, `${TOKENS_PREFIX}${token.id}`, 'take a use of a join token', stored, next)) return next;
  }
  throw new MgmtError(`the join token ${token.id} is being used by many hosts at once; try again`);
}

/**
 * returnTokenUse gives back the use a join took when that join then admitted no host (the cluster
 * failed it on the way): the token's holder can ask again. It resolves to false when the record
 * is gone or expired (nothing to give back to).
 */
export async function returnTokenUse(connection: EtcdConnection, id: string): Promise<boolean> {
  const key = `${TOKENS_PREFIX}${id}`;
  for (let attempt = 0; attempt < MAX_CONSUME_ATTEMPTS; attempt++) {
    const stored = await readToken(connection, key);
    if (!stored) return false;
    if (await writeToken(connection, key, 'give back a use of a join token', stored, { ...stored.record, uses: stored.record.uses + 1 })) return true;
  }
  throw new MgmtError(`the join token ${id} is being used by many hosts at once; its use was not given back`);
}

// Records are written by server hosts; still, anything that is not a record reads as no token.
function parseRecord(text: string): TokenRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<TokenRecord>;
    if (typeof record.hash !== 'string' || typeof record.expires !== 'string' || typeof record.created !== 'string') return undefined;
    if (typeof record.uses !== 'number' || !Number.isInteger(record.uses)) return undefined;
    if (record.host !== undefined && typeof record.host !== 'string') return undefined;
    return record as TokenRecord;
  } catch {
    return undefined;
  }
}
