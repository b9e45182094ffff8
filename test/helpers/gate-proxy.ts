// A TCP proxy whose client-to-server direction can be held: the one fault here is "this request
// reaches etcd late", which a real etcd cannot be told to produce. Bytes are never dropped or
// reordered; held ones go on, in order, at release.

import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach } from 'vitest';

/** GateProxy forwards 127.0.0.1:port to a target port; hold() delays what clients send until release(). */
export interface GateProxy {
  readonly port: number;
  hold(): void;
  release(): void;
}

/** useGateProxies returns a factory of GateProxies, all closed after each test. */
export function useGateProxies(): (targetPort: number) => Promise<GateProxy> {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  return async (targetPort) => {
    let held: (() => void)[] | undefined;
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => sockets.delete(socket));
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('data', (chunk) => {
        const send = (): void => void upstream.write(chunk);
        if (held) held.push(send);
        else send();
      });
      upstream.pipe(client);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('gate proxy: no TCP address');
    return {
      port: address.port,
      hold: () => {
        held ??= [];
      },
      release: () => {
        const sends = held ?? [];
        held = undefined;
        for (const send of sends) send();
      },
    };
  };
}
