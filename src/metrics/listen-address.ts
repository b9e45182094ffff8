import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

/** DEFAULT_PROMETHEUS_LISTEN is upstream's address (registered in Prometheus's default port allocations). */
export const DEFAULT_PROMETHEUS_LISTEN = '127.0.0.1:9233';

/** ListenAddress is where the metrics server listens: a host ('' = every interface) and a port (0 = any free one). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** As the operator wrote it, for messages. */
  readonly text: string;
}

// A DNS name: labels of letters, digits and inner hyphens.
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * parseListenAddress reads --prometheus-listen: `host:port`, `[v6]:port`, or `:port` for every
 * interface (as upstream's Go net/http takes it); a bad one is a UsageError naming the flag.
 */
export function parseListenAddress(text: string): ListenAddress {
  const bad = (why: string): UsageError => new UsageError(`mgmt run: --prometheus-listen ${JSON.stringify(text)}: ${why} (expected host:port, [v6]:port or :port, e.g. ${DEFAULT_PROMETHEUS_LISTEN})`);
  const match = /^(?:\[([^\]]*)\]|([^[\]:]*)):(\d{1,5})$/.exec(text);
  if (!match) throw bad(text.split(':').length > 2 && !text.startsWith('[') ? 'an IPv6 address needs brackets' : 'not host:port');
  const [, v6, host = '', digits] = match;
  const port = Number(digits);
  if (port > 65535) throw bad(`port ${port} is above 65535`);
  if (v6 !== undefined) {
    if (isIP(v6) !== 6) throw bad(`${JSON.stringify(v6)} is not an IPv6 address`);
    return { host: v6, port, text };
  }
  if (host !== '' && isIP(host) === 0 && !HOSTNAME.test(host)) throw bad(`${JSON.stringify(host)} is not an IP address or host name`);
  return { host, port, text };
}
