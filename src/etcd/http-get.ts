// One bounded HTTP(S) request: etcd's `/health` and `/version`, and the join service's calls.
// node's global fetch takes no TLS options, and an etcd started with --client-cert-auth wants the
// cluster CA checked and this host's certificate presented on every connection (issue 11 point 1).
// Plain http stays for --insecure clusters.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { HostCredentials } from '../tls/files.js';

/** HttpGetOptions bound one GET and say which credentials an https URL is reached with. */
export interface HttpGetOptions {
  /** How long the whole request may take; default 1000 ms. */
  readonly timeoutMs?: number;
  /** The CA to trust and the certificate to present; required for an https URL. */
  readonly tls?: HostCredentials;
}

/** HttpCallOptions are a request's method and JSON body, its bound, and the TLS options of an https URL as given. */
export interface HttpCallOptions {
  readonly method?: 'GET' | 'POST';
  /** Sent as JSON (Content-Type: application/json). */
  readonly body?: object;
  /** How long the whole request may take. */
  readonly timeoutMs: number;
  /** Whom an https URL trusts and what it presents (required for https: there is no default trust). */
  readonly https?: Pick<RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;
}

/** HttpGetResponse is a status and a body (cut at MAX_BODY_BYTES: the answer is from the network). */
export interface HttpGetResponse {
  readonly status: number;
  readonly body: string;
}

// etcd's /health and /version answers are a few dozen bytes, a certificate a few KiB: anything
// bigger is not what was asked for.
const MAX_BODY_BYTES = 64 * 1024;

/**
 * httpCall makes one request with its own connection (no agent: every call makes a new handshake,
 * so a renewed certificate is the one presented), bounded in time and answer size.
 */
export function httpCall(url: string | URL, options: HttpCallOptions): Promise<HttpGetResponse> {
  const target = new URL(url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise<HttpGetResponse>((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          request.destroy(new Error(`the answer is larger than ${MAX_BODY_BYTES / 1024} KiB`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const common = {
      method: options.method ?? 'GET',
      agent: false as const,
      headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
    };
    let request: ReturnType<typeof httpRequest>;
    if (target.protocol === 'https:') {
      if (!options.https) {
        reject(new Error(`${target.href} is https, and no cluster CA and host certificate were given to reach it with`));
        return;
      }
      request = httpsRequest(target, { ...common, ...options.https }, onResponse);
    } else if (target.protocol === 'http:') {
      request = httpRequest(target, common, onResponse);
    } else {
      reject(new Error(`${target.href} is neither http nor https`));
      return;
    }
    // A bound on the whole request, not only on a silence: an answer dripped in counts too.
    const timer = setTimeout(() => request.destroy(new Error(`no answer in ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('error', reject);
    request.end(payload);
  });
}

/** httpGet fetches `url` once: over https with the CA and host certificate of `tls`, over plain http otherwise. */
export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpGetResponse> {
  const { tls } = options;
  return httpCall(url, { timeoutMs: options.timeoutMs ?? 1000, https: tls && { ca: tls.caPem, cert: tls.certPem, key: tls.keyPem } });
}

/** httpGetJson fetches `url` with httpGet and parses a 2xx answer as JSON; it rejects on any other status. */
export async function httpGetJson(url: string, options: HttpGetOptions = {}): Promise<unknown> {
  const res = await httpGet(url, options);
  if (res.status < 200 || res.status > 299) throw new Error(`${url} answered HTTP ${res.status}`);
  return JSON.parse(res.body) as unknown;
}
