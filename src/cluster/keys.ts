// The cluster's keys in etcd (docs/cluster.md): the classic `/_mgmt` names, so upstream's
// `etcdctl put /_mgmt/idealClusterSize 5` works as written.

import { MgmtError } from '../errors.js';

/** IDEAL_CLUSTER_SIZE_KEY holds the wanted number of etcd servers, a decimal integer. */
export const IDEAL_CLUSTER_SIZE_KEY = '/_mgmt/idealClusterSize';
/** VOLUNTEERS_PREFIX + host = the host's peer URLs (comma-separated), on the host's lease. */
export const VOLUNTEERS_PREFIX = '/_mgmt/volunteers/';
/** NOMINATED_PREFIX + host = the peer URLs the leader nominated the host with. */
export const NOMINATED_PREFIX = '/_mgmt/nominated/';
/** ENDPOINTS_PREFIX + host = the client URLs of the host's running server, on the host's lease. */
export const ENDPOINTS_PREFIX = '/_mgmt/endpoints/';
/** CONVERGED_PREFIX + host = `true` or `false`, on the host's lease. */
export const CONVERGED_PREFIX = '/_mgmt/converged/';

/**
 * HOSTNAME_PATTERN is a host name that fits one segment of its keys (`/_mgmt/exported/$host/...`),
 * a file name and a certificate's CN: letters, digits, '.', '_' and '-', starting with a letter or digit.
 */
export const HOSTNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** JOIN_PREFIX + host = the URLs of the host's join service (a server host's), on the host's lease. */
export const JOIN_PREFIX = '/_mgmt/join/';
/** SEEN_PREFIX + host = when the host last started or stopped (ISO time), written by the host. */
export const SEEN_PREFIX = '/_mgmt/seen/';
/** HOSTS_PREFIX + host = its certificate's `{serial, notAfter, issued}` (JSON), written by the signer. */
export const HOSTS_PREFIX = '/_mgmt/hosts/';
/** SERVER_ONLY_PREFIX holds what only server hosts (etcd's root role) may read: the CA key, token records. */
export const SERVER_ONLY_PREFIX = '/_mgmt-server/';
/** CA_KEY_KEY is the cluster CA's private key (PEM), for server hosts to sign with. */
export const CA_KEY_KEY = `${SERVER_ONLY_PREFIX}ca.key`;
/** TOKENS_PREFIX + id = a join token's record (JSON: the secret's hash, expiry, uses left, host). */
export const TOKENS_PREFIX = `${SERVER_ONLY_PREFIX}tokens/`;

/** DEFAULT_IDEAL_CLUSTER_SIZE is used when the key is missing or not a number (classic default). */
export const DEFAULT_IDEAL_CLUSTER_SIZE = 5;

/**
 * serverEndpoints is every server's client URL under `/_mgmt/endpoints/` (entries as read from
 * etcd), plus `own`, sorted and without repeats: what a host connects to, and what a join answer
 * names for the new host (so it needs no second connection once it follows the endpoints).
 */
export function serverEndpoints(entries: Readonly<Record<string, string>>, own: readonly string[] = []): string[] {
  return [...new Set([...[...hostsUnder(ENDPOINTS_PREFIX, entries).values()].flat(), ...own])].sort();
}

/** joinUrls encodes a URL list as the classic comma-separated value. */
export function joinUrls(urls: readonly string[]): string {
  return urls.join(',');
}

/** splitUrls decodes a comma- or semicolon-separated URL list, dropping empty parts. */
export function splitUrls(value: string): string[] {
  return value
    .split(/[,;]/)
    .map((url) => url.trim())
    .filter((url) => url !== '');
}

/** sameUrls says whether two URL lists hold the same URLs, in any order. */
export function sameUrls(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const y = [...b].sort();
  return [...a].sort().every((url, i) => url === y[i]);
}

/** valuesByHost maps each `prefix + host` key of a range read to its value (keys with a further `/` are not a host's). */
export function valuesByHost(prefix: string, entries: Readonly<Record<string, string>>): Map<string, string> {
  const hosts = new Map<string, string>();
  for (const [key, value] of Object.entries(entries)) {
    const host = key.slice(prefix.length);
    if (!key.startsWith(prefix) || host === '' || host.includes('/')) continue;
    hosts.set(host, value);
  }
  return hosts;
}

/** hostsUnder maps each `prefix + host` key of a range read to its URL list. */
export function hostsUnder(prefix: string, entries: Readonly<Record<string, string>>): Map<string, string[]> {
  return new Map([...valuesByHost(prefix, entries)].map(([host, value]) => [host, splitUrls(value)]));
}

/**
 * joinUrlFor is the join service's URL for a client (or seed) URL: the same host, port - 1, https
 * (2378 beside etcd's 2379). Agents listen there by default and joining hosts look there.
 */
export function joinUrlFor(clientUrl: string): string {
  const url = new URL(clientUrl);
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
  if (port <= 1) throw new MgmtError(`${clientUrl} has no port below it for the join service: give --join-url`);
  return `https://${url.hostname}:${port - 1}`;
}

/** defaultJoinUrls are the join service's URLs for a host's client URLs (joinUrlFor each, once). */
export function defaultJoinUrls(clientUrls: readonly string[]): string[] {
  return [...new Set(clientUrls.map(joinUrlFor))];
}
