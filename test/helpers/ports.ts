// Free loopback TCP ports, for the tests' etcd servers and the bench's clusters (no vitest here, so
// the bench can import it).

import { once } from 'node:events';
import { createServer, type Server } from 'node:net';

/** freePorts returns `count` distinct loopback TCP ports that were free a moment ago (the kernel picks each for port 0). */
export async function freePorts(count: number): Promise<number[]> {
  // All listeners stay open until every port is known, so the kernel cannot hand out one port twice.
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address for port 0');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => (server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined)));
  }
}

/** freePort returns a loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
