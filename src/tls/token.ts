// Join tokens (issue 11 point 2): `mgmt1.<id>.<secret>.<pin>`. The id names the token's record in
// etcd, which keeps only the SHA-256 of the secret; the pin is the SHA-256 of the CA certificate,
// so the joining host trusts exactly that CA and nothing it is shown on first contact.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MgmtError } from '../errors.js';

/** JoinToken is a parsed token. */
export interface JoinToken {
  /** 12 hex characters: the record's name. */
  readonly id: string;
  /** 43 base64url characters (32 random bytes): proves the token. Never logged. */
  readonly secret: string;
  /** base64url SHA-256 of the CA certificate's DER. */
  readonly pin: string;
}

const VERSION = 'mgmt1';
const ID = /^[0-9a-f]{12}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const PIN = /^[A-Za-z0-9_-]{43}$/;

/** newToken makes a token for the CA with pin `pin`. */
export function newToken(pin: string): JoinToken {
  return { id: randomBytes(6).toString('hex'), secret: randomBytes(32).toString('base64url'), pin };
}

/** formatToken is the one line `mgmt token create` prints. */
export function formatToken(token: JoinToken): string {
  return `${VERSION}.${token.id}.${token.secret}.${token.pin}`;
}

/** parseToken reads a token; a malformed one is a one-line error that does not repeat the secret. */
export function parseToken(text: string): JoinToken {
  const parts = text.trim().split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new MgmtError(`the join token is not a token of this version (expected ${VERSION}.<id>.<secret>.<pin>, as printed by mgmt token create)`);
  const [, id, secret, pin] = parts as [string, string, string, string];
  if (!ID.test(id)) throw new MgmtError('the join token\'s id is not 12 hex characters');
  if (!SECRET.test(secret)) throw new MgmtError('the join token\'s secret is not 43 base64url characters');
  if (!PIN.test(pin)) throw new MgmtError('the join token\'s CA pin is not 43 base64url characters');
  return { id, secret, pin };
}

/** parseTokenCredential reads the `<id>.<secret>` a joining host sends (the pin stays with it); undefined when malformed. */
export function parseTokenCredential(text: string): Pick<JoinToken, 'id' | 'secret'> | undefined {
  const [id = '', secret = '', ...rest] = text.split('.');
  return rest.length === 0 && ID.test(id) && SECRET.test(secret) ? { id, secret } : undefined;
}

/** hashSecret is what etcd keeps of a token's secret: hex SHA-256. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** secretMatches compares a presented secret with a stored hash in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
