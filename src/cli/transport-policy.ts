// Which transports `mgmt run` accepts: TLS (https://) by default; plaintext
// (http://) only when asked for with --insecure, and then loudly on anything but loopback.

import { isIPv4 } from 'node:net';
import { UsageError } from '../errors.js';
import type { ClusterSettings } from '../agent/world-setup.js';

/** INSECURE_HINT is what a refused plaintext URL tells the operator to do instead. */
export const INSECURE_HINT = 'use https:// (the default), or --insecure for a plaintext lab cluster';

/** TransportSettings are the parts of the cluster settings the transport policy looks at. */
export type TransportSettings = Pick<ClusterSettings, 'seeds' | 'clientUrls' | 'serverUrls' | 'insecure'>;

/**
 * checkTransport refuses an `http://` URL without `--insecure` and an `https://` URL with it (a
 * UsageError naming the flag and the URL), and returns the warning lines to print at every start:
 * one when `--insecure` is used with any URL that is not loopback.
 */
export function checkTransport(settings: TransportSettings): readonly string[] {
  const urls = flaggedUrls(settings);
  const wrongScheme = settings.insecure ? 'https:' : 'http:';
  const wrong = urls.find(({ url }) => new URL(url).protocol === wrongScheme);
  if (wrong && settings.insecure) {
    throw new UsageError(`mgmt run: --${wrong.flag} ${wrong.url} with --insecure: a cluster is either TLS or plaintext, not both; leave out --insecure (TLS is the default) or use http://`);
  }
  if (wrong) throw new UsageError(`mgmt run: --${wrong.flag} ${wrong.url} is plaintext and needs --insecure: ${INSECURE_HINT}`);
  if (!settings.insecure) return [];
  const exposed = urls.filter(({ url }) => !isLoopbackHost(new URL(url).hostname));
  if (exposed.length === 0) return [];
  const named = exposed.map(({ flag, url }) => `--${flag} ${url}`).join(', ');
  return [
    `--insecure on a network (${named}): etcd traffic is plaintext and unauthenticated, so anyone who reaches these ports can read and forge every host's exports, which collecting hosts apply as root; leave out --insecure for TLS`,
  ];
}

/** isLoopbackHost says whether a URL's hostname is this machine only: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(hostname: string): boolean {
  // URL keeps IPv6 addresses in brackets and normalises them (`[0:0::1]` is `[::1]`).
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

/** flaggedUrls lists every URL of the settings with the flag it came from, seeds first. */
function flaggedUrls(settings: TransportSettings): { flag: string; url: string }[] {
  return [
    ...settings.seeds.map((url) => ({ flag: 'seeds', url })),
    ...settings.clientUrls.map((url) => ({ flag: 'client-urls', url })),
    ...settings.serverUrls.map((url) => ({ flag: 'server-urls', url })),
  ];
}
