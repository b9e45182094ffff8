import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, MgmtError } from '../errors.js';
import type { ListenAddress } from './listen-address.js';

/** MetricsSource is what the server serves: the metrics text and the agent's health. */
export interface MetricsSource {
  /** metrics renders every metric in Prometheus's text format, with its content type. */
  metrics(): Promise<{ readonly contentType: string; readonly body: string }>;
  /** health says whether the agent has converged. */
  health(): { readonly converged: boolean };
}

/** MetricsServer is the listening server: where it listens, and how to stop it. */
export interface MetricsServer {
  /** The /metrics URL it serves (with the port it got, for port 0). */
  readonly url: string;
  /** close stops listening and ends open connections (a scraper's keep-alive must not hold the agent). */
  close(): Promise<void>;
}

// Why a listen failed, in the operator's words.
const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'no such address on this host',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
};

/**
 * serveMetrics listens on `address` and serves GET /metrics and /health; anything else is 404.
 * A listen that fails is an MgmtError naming the flag and the address (exit 1).
 */
export async function serveMetrics(address: ListenAddress, source: MetricsSource): Promise<MetricsServer> {
  const server = createServer((request, response) => void answer(request, response, source));
  // Open connections must never keep a stopping agent alive.
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address.host === '' ? undefined : address.host, port: address.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new MgmtError(`mgmt run: --prometheus-listen ${address.text}: ${LISTEN_ERRORS[code] ?? errorMessage(err)}`);
  }
  const { port, address: host, family } = server.address() as AddressInfo;
  const shown = family === 'IPv6' ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/metrics`,
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** answer serves one request. */
async function answer(request: IncomingMessage, response: ServerResponse, source: MetricsSource): Promise<void> {
  const path = (request.url ?? '/').split('?', 1)[0];
  const known = path === '/metrics' || path === '/health';
  if (!known) return send(response, 404, 'text/plain; charset=utf-8', 'not found: this server serves /metrics and /health\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  if (path === '/health') {
    const { converged } = source.health();
    return send(response, 200, 'application/json', `${JSON.stringify({ status: 'running', converged })}\n`);
  }
  try {
    const { contentType, body } = await source.metrics();
    send(response, 200, contentType, body);
  } catch (err) {
    send(response, 500, 'text/plain; charset=utf-8', `cannot collect the metrics: ${errorMessage(err)}\n`);
  }
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
