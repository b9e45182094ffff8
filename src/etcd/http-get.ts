// One GET of etcd's HTTP endpoints (`/health`, `/version`). node's global fetch takes no TLS
// options, and an etcd started with --client-cert-auth wants the cluster CA checked and this
// host's certificate presented on every connection (issue 11 point 1). Plain http stays for
// --insecure clusters.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HostCredentials } from '../tls/files.js';

/** HttpGetOptions bound one GET and say which credentials an https URL is reached with. */
export interface HttpGetOptions {
  /** How long the whole request may take; default 1000 ms. */
  readonly timeoutMs?: number;
  /** The CA to trust and the certificate to present; required for an https URL. */
  readonly tls?: HostCredentials;
}

/** HttpGetResponse is a status and a body (cut at MAX_BODY_BYTES: the answer is from the network). */
export interface HttpGetResponse {
  readonly status: number;
  readonly body: string;
}

// etcd's /health and /version answers are a few dozen bytes; anything bigger is not etcd.
const MAX_BODY_BYTES = 64 * 1024;

/** httpGet fetches `url` once: over https with the CA and host certificate of `tls`, over plain http otherwise. */
export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpGetResponse> {
  const target = new URL(url);
  const signal = AbortSignal.timeout(options.timeoutMs ?? 1000);
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.destroy(new Error(`${url} answered more than ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    if (target.protocol === 'https:') {
      if (!options.tls) {
        reject(new Error(`${url} is https, and no cluster CA and host certificate were given to reach it with`));
        return;
      }
      // No agent: every probe makes a new handshake, so a renewed certificate is the one presented.
      const { caPem, certPem, keyPem } = options.tls;
      httpsRequest(target, { signal, agent: false, ca: caPem, cert: certPem, key: keyPem }, onResponse).on('error', reject).end();
    } else if (target.protocol === 'http:') {
      httpRequest(target, { signal, agent: false }, onResponse).on('error', reject).end();
    } else {
      reject(new Error(`${url} is neither http nor https`));
    }
  });
}

/** httpGetJson fetches `url` with httpGet and parses a 2xx answer as JSON; it rejects on any other status. */
export async function httpGetJson(url: string, options: HttpGetOptions = {}): Promise<unknown> {
  const res = await httpGet(url, options);
  if (res.status < 200 || res.status > 299) throw new Error(`${url} answered HTTP ${res.status}`);
  return JSON.parse(res.body) as unknown;
}
