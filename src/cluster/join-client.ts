// The joining side of the join service (issue 11 point 2), and the renewal a member host runs.
// A joining host makes its key and CSR here (the key never leaves it), fetches the seed's CA and
// checks it against the token's pin before it says anything (no trust on first use), sends the
// token's secret only over TLS that chains to that CA alone, checks the certificate it gets, and
// writes its credentials only then: a refused join leaves nothing behind.

import { X509Certificate } from 'node:crypto';
import { httpCall, type HttpCallOptions, type HttpGetResponse } from '../etcd/http-get.js';
import { errorMessage, MgmtError } from '../errors.js';
import type { LogEvent } from '../log/events.js';
import { escapeControl, firstLine } from '../log/escape.js';
import { credentialsProblem, readCredentials, writeCredentials, writeHostCert, type HostCredentials } from '../tls/files.js';
import { caPin, certInfo, CLOCK_SKEW_MS, createCsr, createKey } from '../tls/certs.js';
import { parseToken } from '../tls/token.js';
import { defaultJoinUrls } from './keys.js';

/** JoinError is a join or renewal that did not happen, with one line that says why (exit 1). */
export class JoinError extends MgmtError {}

/** JoinOptions say how to join a cluster. */
export interface JoinOptions {
  /** The seeds' client URLs; each one's join service (port - 1) is tried in turn. */
  readonly seeds: readonly string[];
  /** The join service to use instead of the seeds' (--join-url). */
  readonly joinUrl?: string;
  /** The join token, as `mgmt token create` printed it. Never logged. */
  readonly token: string;
  /** This host's name: the certificate's CN. */
  readonly hostname: string;
  /** The SANs its certificate needs (`ip:...`, `dns:...`: the hosts of its client and peer URLs). */
  readonly sans: readonly string[];
  /** Where the credentials go: PREFIX/tls. */
  readonly prefix: string;
}

/** JoinedHost is what a join brings: the credentials, and where the cluster's etcd servers are. */
export interface JoinedHost {
  readonly credentials: HostCredentials;
  /** The server hosts' etcd client URLs the join service named (https only; empty when it named none). */
  readonly endpoints: readonly string[];
}

/** At most this many endpoints are taken from a join answer (a cluster has a handful of servers). */
const MAX_JOIN_ENDPOINTS = 64;

/** JOIN_CALL_TIMEOUT_MS bounds each call to a join service (connect, TLS, answer). */
export const JOIN_CALL_TIMEOUT_MS = 15_000;

/**
 * joinCluster gets this host its certificate with a join token and writes ca.crt, host.key and
 * host.crt under PREFIX/tls; it throws a JoinError (nothing written) when no seed signs it.
 */
export async function joinCluster(options: JoinOptions): Promise<JoinedHost> {
  const token = parseToken(options.token);
  const keyPem = createKey();
  const csrPem = createCsr(keyPem, options.hostname, options.sans);
  const joinUrls = options.joinUrl !== undefined ? [options.joinUrl] : defaultJoinUrls(options.seeds);
  if (joinUrls.length === 0) throw new JoinError('cannot join: no seed to join through (--seeds)');
  const failures: string[] = [];
  for (const joinUrl of joinUrls) {
    const where = `the join service at ${joinUrl}${options.joinUrl !== undefined ? ' (--join-url)' : ''}`;
    let caPem: string;
    try {
      // Read without trusting anyone: what comes back is only believed if it hashes to the pin.
      const served = await call(joinUrl, '/v1/ca', { rejectUnauthorized: false });
      const pinned = served.status === 200 ? singleCertificate(served.body) : undefined;
      if (pinned === undefined) {
        failures.push(`${where} did not answer /v1/ca with one CA certificate (HTTP ${served.status}): is it a join service?`);
        continue;
      }
      if (caPin(pinned) !== token.pin) {
        failures.push(`${where}: the seed's CA does not match the token's pin: wrong seed or a machine in the middle`);
        continue;
      }
      caPem = pinned;
    } catch (err) {
      failures.push(unreachable(where, err, options.joinUrl === undefined));
      continue;
    }
    let answer: HttpGetResponse;
    try {
      answer = await call(joinUrl, '/v1/join', { ca: caPem }, { token: `${token.id}.${token.secret}`, hostname: options.hostname, csr: csrPem });
    } catch (err) {
      failures.push(isCertificateError(err) ? `${where} presents a certificate the pinned CA did not issue for that address (${peerLine(errorMessage(err))}): a machine in the middle, or the seed's certificate lacks this address; the token was not sent` : unreachable(where, err, false));
      continue;
    }
    // A refusal is the cluster's answer: another seed would give the same (and a token's uses are counted).
    if (answer.status >= 400 && answer.status < 500) throw new JoinError(`${where} refused the join: ${answerError(answer)}`);
    if (answer.status !== 200) {
      failures.push(`${where} failed (HTTP ${answer.status}): ${answerError(answer)}`);
      continue;
    }
    const certPem = stringField(answer, 'cert');
    const credentials = { caPem, certPem: certPem ?? '', keyPem };
    const problem = certPem === undefined ? 'no certificate in the answer' : problemOf(credentials, options.hostname);
    if (problem) throw new JoinError(`${where} answered with a certificate this host cannot use: ${problem}`);
    await writeCredentials(options.prefix, credentials);
    return { credentials, endpoints: endpointsField(answer) };
  }
  throw new JoinError(`cannot join: ${failures.join('; ')}`);
}

/** RenewOptions say where and with what a member host renews its certificate. */
export interface RenewOptions {
  /** The join services to try in turn. */
  readonly joinUrls: readonly string[];
  /** The host's current credentials: the client certificate it proves itself with, and the key the new certificate keeps. */
  readonly credentials: HostCredentials;
  readonly prefix: string;
  readonly hostname: string;
}

/**
 * renewCertificate gets a new certificate for the same key and names over mutual TLS and replaces
 * PREFIX/tls/host.crt with it; a JoinError (host.crt untouched) when no join service renewed it.
 */
export async function renewCertificate(options: RenewOptions): Promise<HostCredentials> {
  const { credentials, hostname } = options;
  const csrPem = createCsr(credentials.keyPem, hostname, certInfo(credentials.certPem).sans);
  const failures: string[] = [];
  for (const joinUrl of options.joinUrls) {
    const where = `the join service at ${joinUrl}`;
    let answer: HttpGetResponse;
    try {
      answer = await call(joinUrl, '/v1/renew', { ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem }, { csr: csrPem });
    } catch (err) {
      failures.push(unreachable(where, err, false));
      continue;
    }
    if (answer.status !== 200) {
      failures.push(`${where} did not renew (HTTP ${answer.status}): ${answerError(answer)}`);
      continue;
    }
    const certPem = stringField(answer, 'cert');
    const renewed = { ...credentials, certPem: certPem ?? '' };
    const problem = certPem === undefined ? 'no certificate in the answer' : problemOf(renewed, hostname);
    if (problem) {
      failures.push(`${where} answered with a certificate this host cannot use: ${problem}`);
      continue;
    }
    await writeHostCert(options.prefix, renewed.certPem);
    return renewed;
  }
  throw new JoinError(failures.length === 0 ? 'cannot renew the host certificate: no join service known' : `cannot renew the host certificate: ${failures.join('; ')}`);
}

/**
 * renewalDue is when a certificate is renewed: at two thirds of its lifetime, counted from when it
 * was made (its notBefore is set back by the clock skew allowance).
 */
export function renewalDue(certPem: string): Date {
  const { notBefore, notAfter } = certInfo(certPem);
  const span = notAfter.getTime() - notBefore.getTime();
  const made = span > CLOCK_SKEW_MS ? notBefore.getTime() + CLOCK_SKEW_MS : notBefore.getTime();
  return new Date(made + ((notAfter.getTime() - made) * 2) / 3);
}

/** RenewalTimerOptions configure the agent's renewal of its certificate. */
export interface RenewalTimerOptions {
  readonly prefix: string;
  readonly hostname: string;
  /** joinUrls are asked at each attempt for the join services to renew at (server hosts publish theirs at /_mgmt/join/<h>). */
  readonly joinUrls: () => readonly string[] | Promise<readonly string[]>;
  /** onRenewed receives the renewed credentials (written already), for the connections that use them. */
  readonly onRenewed?: (credentials: HostCredentials) => void;
  /** onEvent receives `renewed` and `renew-failed` events for the agent's log. */
  readonly onEvent?: (event: LogEvent) => void;
  /** The first retry's delay after a failed attempt, doubled after each further failure; default 1 s. */
  readonly retryMinMs?: number;
  /** The longest delay between retries; default 5 minutes. */
  readonly retryMaxMs?: number;
}

// setTimeout takes at most 2^31-1 ms (24.8 days): a longer wait is taken in steps.
const MAX_TIMER_MS = 24 * 3600_000;

/** RenewalTimer renews the host certificate under PREFIX/tls at two thirds of its lifetime, retrying with backoff, until stop(). */
export class RenewalTimer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;

  constructor(private readonly options: RenewalTimerOptions) {}

  /** start schedules the first renewal from the certificate on disk. */
  start(): this {
    this.schedule(0);
    return this;
  }

  /** stop cancels the next renewal and resolves once an attempt under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
  }

  private async tick(): Promise<void> {
    const emit = this.options.onEvent ?? (() => undefined);
    let credentials: HostCredentials | undefined;
    try {
      credentials = await readCredentials(this.options.prefix, this.options.hostname);
      if (!credentials) throw new JoinError(`no host certificate under ${this.options.prefix}/tls to renew`);
      const dueInMs = renewalDue(credentials.certPem).getTime() - Date.now();
      if (dueInMs > 0) {
        this.schedule(dueInMs);
        return;
      }
      const renewed = await renewCertificate({ ...this.options, credentials, joinUrls: await this.options.joinUrls() });
      if (this.stopped) return;
      this.failures = 0;
      this.options.onRenewed?.(renewed);
      const notAfter = certInfo(renewed.certPem).notAfter;
      emit({ level: 'info', event: 'renewed', message: `renewed the host certificate: valid until ${notAfter.toISOString()}`, notAfter: notAfter.toISOString() });
      this.schedule(renewalDue(renewed.certPem).getTime() - Date.now());
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      const notAfter = credentials ? certInfo(credentials.certPem).notAfter : undefined;
      const leftMs = notAfter ? notAfter.getTime() - Date.now() : Infinity;
      const retryMin = this.options.retryMinMs ?? 1_000;
      // Backoff, but several tries still fit before the certificate runs out.
      const retryInMs = Math.max(retryMin, Math.min(retryMin * 2 ** (this.failures - 1), this.options.retryMaxMs ?? 300_000, leftMs / 4));
      const expired = notAfter && leftMs <= 0 ? ` host.crt expired at ${notAfter.toISOString()}: this host needs a new join token (move ${this.options.prefix}/tls away and join again).` : '';
      emit({ level: leftMs <= 0 ? 'error' : 'warn', event: 'renew-failed', message: `${errorMessage(err)};${expired} retrying in ${Math.round(retryInMs / 1000)} s`, retryInMs });
      this.schedule(retryInMs);
    }
  }
}

// One HTTPS call with its own connection (no pooling across trust settings), bounded in time and size.
function call(baseUrl: string, path: string, tls: HttpCallOptions['https'], body?: object): Promise<HttpGetResponse> {
  return httpCall(new URL(path, baseUrl), { method: body === undefined ? 'GET' : 'POST', body, timeoutMs: JOIN_CALL_TIMEOUT_MS, https: tls });
}

function unreachable(where: string, err: unknown, byPortRule: boolean): string {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = peerLine(code && !errorMessage(err).includes(code) ? `${code}: ${errorMessage(err)}` : errorMessage(err));
  const hint = byPortRule ? ' (a server host serves it on its client URL\'s port - 1, e.g. 2378 beside 2379; name another with --join-url)' : '';
  return `cannot reach ${where}: ${reason}${hint}`;
}

// OpenSSL's verify codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, ...) and node's name check.
function isCertificateError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /CERT|SIGNATURE|ISSUER|ALTNAME/.test(code);
}

// A field of a join service's JSON answer; undefined when the answer is not a JSON object.
function fieldOf(answer: HttpGetResponse, name: string): unknown {
  try {
    const parsed: unknown = JSON.parse(answer.body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

// What a join service answers is network data: one escaped, bounded line.
function answerError(answer: HttpGetResponse): string {
  const message = fieldOf(answer, 'error');
  return typeof message === 'string' ? peerLine(message) : 'no reason given';
}

function stringField(answer: HttpGetResponse, name: string): string | undefined {
  const value = fieldOf(answer, name);
  return typeof value === 'string' ? value : undefined;
}

// The join answer's endpoints: https URLs of a host and port only; anything else is dropped (an
// etcd the pinned CA did not certify is refused by the TLS handshake anyway).
function endpointsField(answer: HttpGetResponse): string[] {
  const value = fieldOf(answer, 'endpoints');
  if (!Array.isArray(value)) return [];
  const urls = value.slice(0, MAX_JOIN_ENDPOINTS).flatMap((item: unknown) => {
    if (typeof item !== 'string' || item.length > 2048) return [];
    try {
      const url = new URL(item);
      return url.protocol === 'https:' && url.port !== '' && url.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === '' ? [url.origin] : [];
    } catch {
      return [];
    }
  });
  return [...new Set(urls)].sort();
}

function problemOf(credentials: HostCredentials, hostname: string): string | undefined {
  try {
    if (certInfo(credentials.certPem).notAfter.getTime() <= Date.now()) return 'it has expired already';
    return credentialsProblem(credentials, hostname);
  } catch (err) {
    return peerLine(errorMessage(err));
  }
}

// Exactly one certificate, re-encoded: a second one riding behind the pinned CA would otherwise be
// trusted too (for the join call, and by etcd from ca.crt).
function singleCertificate(text: string): string | undefined {
  if (text.match(/-----BEGIN/g)?.length !== 1) return undefined;
  try {
    return new X509Certificate(text).toString();
  } catch {
    return undefined;
  }
}

// What a join service or the network says, printed as one escaped, bounded line.
function peerLine(text: string): string {
  return escapeControl(firstLine(text, 300));
}
