// Free loopback TCP ports, for the tests' etcd servers and the bench's clusters (no vitest here, so
// the bench can import it).

import { once } from 'node:events';
import { createServer, type Server } from 'node:net';

// Ports are drawn below Linux's ephemeral range (32768-60999): a port the kernel gave a listener
// for port 0 is soon handed to some client's outgoing connection (etcd clients make many), and the
// etcd that was to listen on it then fails with "address already in use".
const LOW = 20000;
const HIGH = 32767;

/** freePorts returns `count` distinct loopback TCP ports that were free a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  // All listeners stay open until every port is known, so no port is handed out twice.
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > 1000) throw new Error(`no ${count} free loopback ports in ${LOW}-${HIGH}`);
      const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
      if (ports.includes(port)) continue;
      const server = createServer();
      try {
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
      } catch {
        continue; // taken: try another
      }
      servers.push(server);
      ports.push(port);
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
