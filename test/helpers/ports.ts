// Free loopback TCP ports, for the tests' etcd servers and the bench's clusters (no vitest here, so
// the bench can import it).

import { once } from 'node:events';
import { createServer, type Server } from 'node:net';

// Ports are drawn below Linux's ephemeral range (32768-60999): a port the kernel gave a listener
// for port 0 is soon handed to some client's outgoing connection (etcd clients make many), and the
// etcd that was to listen on it then fails with "address already in use".
const RANGE_LOW = 20000;
const RANGE_HIGH = 32767;
// Parallel vitest workers draw from disjoint slices of that range (VITEST_POOL_ID is 1..maxWorkers;
// absent in the bench): a port two workers' clusters both drew made a nominated host exit 1 with
// its port "already in use" once in CI.
const SLICES = 4;
const POOL_ID = Number(process.env.VITEST_POOL_ID);
const SLICE = Number.isInteger(POOL_ID) && POOL_ID > 0 ? (POOL_ID - 1) % SLICES : undefined;
const SLICE_SIZE = Math.floor((RANGE_HIGH - RANGE_LOW + 1) / SLICES);
const LOW = SLICE === undefined ? RANGE_LOW : RANGE_LOW + SLICE * SLICE_SIZE;
const HIGH = SLICE === undefined ? RANGE_HIGH : LOW + SLICE_SIZE - 1;
// Ports are handed out in turn from a random start, never twice by one process until the range
// wraps: a port is free when drawn but its owner may bind it only later (a host's join service
// listens once it has joined), and random draws gave the same port to a second host of the same
// test about once in 60 (h3's etcd took h2's join port: "already in use", exit 1).
let nextPort = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));

/** takeNextPort is the next port of this process's turn through LOW..HIGH. */
function takeNextPort(): number {
  const port = nextPort;
  nextPort = port === HIGH ? LOW : port + 1;
  return port;
}

/** freePorts returns `count` distinct loopback TCP ports that were free a moment ago, none handed out before by this process. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > HIGH - LOW) throw new Error(`no ${count} free loopback ports in ${LOW}-${HIGH}`);
      const port = takeNextPort();
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
