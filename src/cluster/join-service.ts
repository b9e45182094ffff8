// The join service (issue 11 point 2): HTTPS served by every server host's agent beside its etcd
// (client port - 1), where a new host proves a join token and gets its CSR signed, and a member
// host renews its certificate with mutual TLS. Everything a request carries is hostile: bodies are
// small JSON of exact fields, slow clients are cut off, refused requests are rate-limited per
// source address, and no token secret is ever logged. The decisions (is the token good, may this
// host have a certificate) are the injected signer's; this file only guards the door.

import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, isIPv6, type Server as NetServer, type Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { errorMessage, MgmtError } from '../errors.js';
import { firstLine } from '../log/escape.js';
import type { LogEvent } from '../log/events.js';
import { tlsPaths } from '../tls/files.js';
import { certInfo, ipv6Groups, isIssuedBy } from '../tls/certs.js';
import { parseTokenCredential, type JoinToken } from '../tls/token.js';
import { HOSTNAME_PATTERN } from './keys.js';

/** JOIN_BODY_LIMIT_BYTES is the largest request body the service reads (a CSR is about 1 KiB). */
export const JOIN_BODY_LIMIT_BYTES = 64 * 1024;
/** JOIN_REQUEST_TIMEOUT_MS bounds a TLS handshake and a whole request: a slow client holds no connection longer. */
export const JOIN_REQUEST_TIMEOUT_MS = 10_000;
/** JOIN_FAILURE_LIMIT is how many refused joins or renewals one source address may have per window before it is answered 429. */
export const JOIN_FAILURE_LIMIT = 10;
/** JOIN_FAILURE_WINDOW_MS is that window. */
export const JOIN_FAILURE_WINDOW_MS = 60_000;
// Enough for a cluster's joins; a flood of idle connections cannot take the process's descriptors.
const MAX_CONNECTIONS = 256;
// The failure counts kept at once: an attacker with many addresses cannot grow them without bound.
const MAX_TRACKED_ADDRESSES = 10_000;

/** JoinRefused is a signer's "no" (bad token, unknown host, bad CSR): answered 403 with its one-line message. */
export class JoinRefused extends MgmtError {}

/** JoinRequest is what a joining host asks the signer, checked for shape but not yet for merit. */
export interface JoinRequest {
  /** The token's id and secret (the secret must never be logged). */
  readonly token: Pick<JoinToken, 'id' | 'secret'>;
  /** The hostname the host joins as: letters, digits, '.', '_', '-', never `root`. */
  readonly hostname: string;
  /** Its certificate signing request, PEM, unverified. */
  readonly csrPem: string;
  /** The address the request came from. */
  readonly remoteAddress: string;
}

/** RenewalRequest is what a member host asks the signer: a new certificate for the same name. */
export interface RenewalRequest {
  /** The CN of the client certificate the host connected with, verified against the cluster CA. */
  readonly hostname: string;
  /** Its certificate signing request, PEM, unverified. */
  readonly csrPem: string;
}

/** SignedCertificate is the signer's answer. */
export interface SignedCertificate {
  readonly certPem: string;
  /**
   * The etcd client URLs of every server host (a join's answer): the joiner connects to all of
   * them at once, instead of to its seed and then again to all (a second TLS client, and every
   * watch made anew, while its first exports go out).
   */
  readonly endpoints?: readonly string[];
  /** Something that went wrong after the host was admitted, which the join service logs as a warning: the join itself stands. */
  readonly warning?: string;
}

/** JoinServiceOptions configure one join service. */
export interface JoinServiceOptions {
  /** The https:// URLs to listen on (see defaultJoinUrls). */
  readonly urls: readonly string[];
  /** The agent's prefix: the service presents PREFIX/tls/host.crt (re-read when it changes) and trusts PREFIX/tls/ca.crt. */
  readonly prefix: string;
  /** signJoin decides a join and signs its CSR; a JoinRefused is answered 403 with its message. */
  readonly signJoin: (request: JoinRequest) => Promise<SignedCertificate>;
  /** signRenewal decides a renewal and signs its CSR; a JoinRefused is answered 403 with its message. */
  readonly signRenewal: (request: RenewalRequest) => Promise<SignedCertificate>;
  /** onEvent receives `listening`, `request` (debug), `refused`, `signed` and `error` events for the agent's log. */
  readonly onEvent?: (event: LogEvent) => void;
  /** Refused joins or renewals one address may have per failureWindowMs; default JOIN_FAILURE_LIMIT. */
  readonly failureLimit?: number;
  /** default JOIN_FAILURE_WINDOW_MS. */
  readonly failureWindowMs?: number;
  /** How long a handshake or request may take; default JOIN_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
}

/** isJoinableHostname says whether a host may join by that name: letters, digits, '.', '_', '-' (starting with a letter or digit), not `root`. */
export function isJoinableHostname(hostname: string): boolean {
  return HOSTNAME_PATTERN.test(hostname) && hostname !== 'root';
}

/** JoinService is a running join service; close() stops it. */
export class JoinService {
  /** The URLs it listens on (with the ports actually bound). */
  readonly urls: readonly string[];
  private readonly listeners: readonly NetServer[];
  private readonly sockets: Set<Socket>;

  private constructor(urls: readonly string[], listeners: readonly NetServer[], sockets: Set<Socket>) {
    this.urls = urls;
    this.listeners = listeners;
    this.sockets = sockets;
  }

  /** start reads the host's credentials, listens on every URL and resolves when all listen; a URL it cannot bind is a one-line error naming it. */
  static async start(options: JoinServiceOptions): Promise<JoinService> {
    const emit = options.onEvent ?? (() => undefined);
    const timeoutMs = options.requestTimeoutMs ?? JOIN_REQUEST_TIMEOUT_MS;
    const credentials = new ServedCredentials(options.prefix);
    const https = createHttpsServer({
      ...(await credentials.load()),
      requestCert: true, // client certificates matter on /v1/renew only
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      keepAliveTimeout: Math.min(5_000, timeoutMs),
      connectionsCheckingInterval: Math.min(1_000, timeoutMs),
    });
    https.setTimeout(timeoutMs, (socket: Socket) => socket.destroy());
    const limiter = new FailureLimiter(options.failureLimit ?? JOIN_FAILURE_LIMIT, options.failureWindowMs ?? JOIN_FAILURE_WINDOW_MS);
    https.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void handle(request, response, { options, emit, limiter, credentials });
    });
    https.on('tlsClientError', () => undefined); // a scanner's broken handshake is no event
    // Connections are accepted here and handed to the TLS server only after the credentials are
    // re-read when their files changed: a renewed host.crt is served from the next connection on.
    // Every accepted socket, so that close() cuts those still in their handshake too.
    const sockets = new Set<Socket>();
    const onConnection = (socket: Socket): void => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      credentials.refresh().then(
        (changed) => {
          if (changed) https.setSecureContext(changed);
          https.emit('connection', socket);
        },
        (err: unknown) => {
          emit({ level: 'error', event: 'error', message: `join service: cannot read ${credentials.dir}: ${errorMessage(err)}` });
          socket.destroy();
        },
      );
    };
    const listeners: NetServer[] = [];
    const urls: string[] = [];
    try {
      for (const url of options.urls) {
        const { hostname, port } = parseListenUrl(url);
        const listener = createNetServer(onConnection);
        listener.maxConnections = MAX_CONNECTIONS;
        listeners.push(listener);
        listener.listen(port, hostname);
        await Promise.race([once(listener, 'listening'), once(listener, 'error').then(([err]) => Promise.reject(new MgmtError(`the join service cannot listen on ${url}: ${errorMessage(err)} (--join-urls)`)))]);
        const bound = listener.address();
        const boundPort = typeof bound === 'object' && bound ? bound.port : port;
        urls.push(`https://${isIPv6(hostname) ? `[${hostname}]` : hostname}:${boundPort}`);
      }
    } catch (err) {
      await Promise.all(listeners.map(closeListener));
      throw err;
    }
    emit({ level: 'info', event: 'listening', message: `join service listening on ${urls.join(', ')}`, urls });
    return new JoinService(urls, listeners, sockets);
  }

  /** close stops listening and cuts every open connection. */
  async close(): Promise<void> {
    const closed = Promise.all(this.listeners.map(closeListener));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

interface HandlerContext {
  readonly options: JoinServiceOptions;
  readonly emit: (event: LogEvent) => void;
  readonly limiter: FailureLimiter;
  readonly credentials: ServedCredentials;
}

/** A request the service refuses, with the status and the one line it answers. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const ROUTES: Readonly<Record<string, string>> = { '/v1/ca': 'GET', '/v1/join': 'POST', '/v1/renew': 'POST' };

async function handle(request: IncomingMessage, response: ServerResponse, context: HandlerContext): Promise<void> {
  const remoteAddress = normalizeAddress(request.socket.remoteAddress ?? '');
  const path = (request.url ?? '').split('?')[0] ?? '';
  const route = ROUTES[path] === undefined ? undefined : path;
  context.emit({ level: 'debug', event: 'request', message: `join service: ${request.method} ${route ?? '(unknown path)'} from ${remoteAddress}`, method: request.method, path: route, remoteAddress });
  let hostname: string | undefined;
  try {
    if (route === undefined) throw new Refusal(404, 'no such path: the join service serves GET /v1/ca, POST /v1/join and POST /v1/renew');
    if (request.method !== ROUTES[route]) {
      response.setHeader('Allow', ROUTES[route]!);
      throw new Refusal(405, `${route} takes ${ROUTES[route]} only`);
    }
    if (route === '/v1/ca') {
      respond(response, 200, 'application/x-pem-file', context.credentials.caPem);
      return;
    }
    const retryInMs = context.limiter.blockedFor(remoteAddress);
    if (retryInMs > 0) {
      response.setHeader('Retry-After', String(Math.ceil(retryInMs / 1000)));
      throw new Refusal(429, `too many refused requests from ${remoteAddress}: try again in ${Math.ceil(retryInMs / 1000)} s`);
    }
    try {
      if (route === '/v1/join') {
        const fields = await readFields(request, ['token', 'hostname', 'csr']);
        const token = parseTokenCredential(fields.token!);
        if (!token) throw new Refusal(400, 'the token field is not <id>.<secret> of a join token');
        checkHostnameField(fields.hostname!);
        hostname = fields.hostname!;
        const signed = await context.options.signJoin({ token, hostname, csrPem: fields.csr!, remoteAddress });
        respondJson(response, 200, { cert: signed.certPem, ca: context.credentials.caPem, ...(signed.endpoints ? { endpoints: signed.endpoints } : {}) });
        if (signed.warning) context.emit({ level: 'warn', event: 'warning', message: `join service: ${signed.warning}`, host: hostname, route, remoteAddress });
      } else {
        hostname = clientHostname(request.socket as TLSSocket, context.credentials.caPem);
        const fields = await readFields(request, ['csr']);
        const signed = await context.options.signRenewal({ hostname, csrPem: fields.csr! });
        respondJson(response, 200, { cert: signed.certPem });
      }
      context.emit({ level: 'info', event: 'signed', message: `join service: signed a certificate for ${hostname} (${route === '/v1/join' ? 'join' : 'renewal'} from ${remoteAddress})`, host: hostname, route, remoteAddress });
    } catch (err) {
      if (err instanceof Refusal || err instanceof JoinRefused) context.limiter.fail(remoteAddress);
      throw err;
    }
  } catch (err) {
    const refusal = err instanceof Refusal ? err : err instanceof JoinRefused ? new Refusal(403, firstLine(err.message, 500)) : undefined;
    if (refusal) {
      context.emit({ level: 'warn', event: 'refused', message: `join service: refused ${request.method} ${route ?? '(unknown path)'} from ${remoteAddress}${hostname ? ` for ${hostname}` : ''}: ${refusal.message}`, route, remoteAddress, status: refusal.status, ...(hostname ? { host: hostname } : {}) });
      respondJson(response, refusal.status, { error: refusal.message });
      return;
    }
    context.emit({ level: 'error', event: 'error', message: `join service: ${route ?? path} from ${remoteAddress} failed: ${errorMessage(err)}`, route, remoteAddress });
    respondJson(response, 500, { error: 'the join service failed on this request: its host\'s log says why' });
  }
}

// A body is read only up to the limit and must be one JSON object of exactly the given string fields.
async function readFields(request: IncomingMessage, names: readonly string[]): Promise<Record<string, string>> {
  if (!/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) throw new Refusal(400, 'the request body must be JSON (Content-Type: application/json)');
  const text = await readBody(request);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Refusal(400, 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Refusal(400, 'the request body must be a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!names.includes(key)) throw new Refusal(400, `the request has a field ${JSON.stringify(key.slice(0, 40))} the service does not take (it takes ${names.join(', ')})`);
  }
  for (const name of names) {
    if (typeof record[name] !== 'string' || record[name] === '') throw new Refusal(400, `the request needs the field ${name} as a non-empty string`);
  }
  return record as Record<string, string>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const tooLarge = new Refusal(400, `the request body is larger than ${JOIN_BODY_LIMIT_BYTES / 1024} KiB`);
  if (Number(request.headers['content-length'] ?? 0) > JOIN_BODY_LIMIT_BYTES) throw discarding(request, tooLarge);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > JOIN_BODY_LIMIT_BYTES) throw discarding(request, tooLarge);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// The rest of an oversize body is read and dropped (bounded by the request timeout), so the client
// gets the answer rather than a reset; the connection is closed after it.
function discarding(request: IncomingMessage, refusal: Refusal): Refusal {
  request.resume();
  return refusal;
}

function checkHostnameField(hostname: string): void {
  if (hostname === 'root') throw new Refusal(403, 'the hostname root is refused: it is etcd\'s administrator, not a host');
  if (!isJoinableHostname(hostname)) throw new Refusal(400, 'the hostname must be letters, digits, \'.\', \'_\' and \'-\', starting with a letter or digit, at most 253 characters');
}

// A renewal is for the host the client certificate names, and only a certificate of this cluster's CA counts.
function clientHostname(socket: TLSSocket, caPem: string): string {
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.raw) throw new Refusal(403, 'a renewal needs the host\'s current certificate of this cluster (mutual TLS)');
  const certPem = new X509Certificate(peer.raw).toString();
  if (!socket.authorized || !isIssuedBy(certPem, caPem)) throw new Refusal(403, 'the client certificate is not a valid certificate of this cluster\'s CA');
  const hostname = certInfo(certPem).commonName;
  if (!isJoinableHostname(hostname)) throw new Refusal(403, 'the client certificate does not name a host');
  return hostname;
}

function respondJson(response: ServerResponse, status: number, body: object): void {
  respond(response, status, 'application/json', JSON.stringify(body));
}

function respond(response: ServerResponse, status: number, contentType: string, body: string): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store', ...(status >= 400 ? { Connection: 'close' } : {}) });
  response.end(body);
}

function parseListenUrl(text: string): { hostname: string; port: number } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MgmtError(`${JSON.stringify(text)} is not a URL for the join service (--join-urls)`);
  }
  if (url.protocol !== 'https:' || url.port === '') throw new MgmtError(`${text}: the join service listens on https://HOST:PORT URLs (--join-urls)`);
  return { hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) };
}

async function closeListener(listener: NetServer): Promise<void> {
  if (!listener.listening) return;
  await new Promise<void>((resolve) => listener.close(() => resolve()));
}

// IPv4 clients on a dual-stack socket appear as ::ffff:a.b.c.d; an IPv6 client is counted by its
// /64, the block one machine usually holds.
function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  return address;
}

function limiterKey(address: string): string {
  if (!isIPv6(address)) return address;
  return `${ipv6Groups(address).slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`;
}

/** FailureLimiter counts refused requests per source address in fixed windows. */
class FailureLimiter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  constructor(private readonly limit: number, private readonly windowMs: number) {}

  /** blockedFor is how long the address must wait (0: it may try). */
  blockedFor(address: string): number {
    const window = this.windows.get(limiterKey(address));
    if (!window) return 0;
    const left = window.endsAt - Date.now();
    return window.count >= this.limit && left > 0 ? left : 0;
  }

  fail(address: string): void {
    const key = limiterKey(address);
    const now = Date.now();
    const window = this.windows.get(key);
    if (window && window.endsAt > now) {
      window.count++;
      return;
    }
    if (this.windows.size >= MAX_TRACKED_ADDRESSES) this.forgetEnded(now);
    this.windows.set(key, { count: 1, endsAt: now + this.windowMs });
  }

  private forgetEnded(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
    // Still full: the oldest entry goes (Map keeps insertion order).
    if (this.windows.size >= MAX_TRACKED_ADDRESSES) this.windows.delete(this.windows.keys().next().value!);
  }
}

/** ServedCredentials are the host certificate, key and CA the service presents, re-read when their files change. */
class ServedCredentials {
  readonly dir: string;
  caPem = '';
  private signature = '';

  constructor(private readonly prefix: string) {
    this.dir = tlsPaths(prefix).dir;
  }

  /** load reads the files now: the options of a secure context. */
  async load(): Promise<SecureContextOptions> {
    const paths = tlsPaths(this.prefix);
    // The signature first: a file replaced while it is read is read again at the next connection.
    const signature = await this.currentSignature();
    const [certPem, keyPem, caPem] = await Promise.all([paths.hostCert, paths.hostKey, paths.caCert].map((path) => readFile(path, 'utf8')));
    this.signature = signature;
    this.caPem = caPem!;
    // The chain goes with the certificate; the CA alone is trusted for client certificates.
    return { cert: `${certPem!.trimEnd()}\n${caPem!}`, key: keyPem!, ca: caPem! };
  }

  /** refresh re-reads the files when one was replaced since: the new options, or undefined when nothing changed. */
  async refresh(): Promise<SecureContextOptions | undefined> {
    if ((await this.currentSignature()) === this.signature) return undefined;
    return this.load();
  }

  // The files are replaced by rename: a new inode, time or size says one changed.
  private async currentSignature(): Promise<string> {
    const paths = tlsPaths(this.prefix);
    const stats = await Promise.all([paths.hostCert, paths.hostKey, paths.caCert].map((path) => stat(path)));
    return stats.map((s) => `${s.ino}:${s.mtimeMs}:${s.size}`).join('/');
  }
}
