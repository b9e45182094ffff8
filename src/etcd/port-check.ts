// Whether etcd's ports are free, asked before etcd starts: a client port taken by another etcd
// (a second agent on the same ports) answers the health check in etcd's place, so the failure
// must be found before that check runs, and be named plainly.

import { once } from 'node:events';
import { createServer } from 'node:net';

/** TakenPort is one of etcd's URLs whose port something else listens on. */
export interface TakenPort {
  /** `client` or `peer`. */
  readonly role: string;
  readonly url: string;
  /** `host:port` as etcd would listen on it. */
  readonly address: string;
}

/**
 * takenPorts lists the URLs (by role) whose host:port cannot be listened on because it is in use.
 * Other failures (an address of another machine, no permission) are left for etcd to report.
 */
export async function takenPorts(urlsByRole: Readonly<Record<string, readonly string[]>>): Promise<TakenPort[]> {
  const taken: TakenPort[] = [];
  for (const [role, urls] of Object.entries(urlsByRole)) {
    for (const url of urls) {
      const { hostname, port } = new URL(url);
      const host = hostname.replace(/^\[(.*)\]$/, '$1');
      if (await inUse(host, Number(port))) taken.push({ role, url, address: new URL(url).host });
    }
  }
  return taken;
}

async function inUse(host: string, port: number): Promise<boolean> {
  const server = createServer();
  try {
    server.listen({ host, port, exclusive: true });
    await once(server, 'listening');
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
  } finally {
    if (server.listening) await new Promise((done) => server.close(done));
  }
}

/** takenPortsMessage says which ports are taken, for an error line: "cannot listen on client URL ...: port ... already in use ...". */
export function takenPortsMessage(taken: readonly TakenPort[]): string {
  const where = taken.map((port) => `${port.role} URL ${port.url}`).join(' and ');
  const ports = taken.map((port) => port.address).join(', ');
  return `cannot listen on ${where}: ${taken.length > 1 ? 'ports' : 'port'} ${ports} already in use (another etcd or mgmt agent?); stop it or choose free ports`;
}
