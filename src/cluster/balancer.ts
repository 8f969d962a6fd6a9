/**
 * A TCP front for a set of replicas, the part a Kubernetes Service or a load balancer plays in front of a
 * deployment: each new connection goes to the next replica in turn; a replica that refuses the connection
 * (stopped, restarting) is skipped for the next one, so clients see no error while at least one answers.
 * Connections are spliced byte for byte (HTTP keep-alive and SSE streams included); a replica that dies
 * drops only the connections it held.
 */

import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Backend {
  readonly host: string;
  readonly port: number;
}

export interface Balancer {
  readonly port: number;
  readonly host: string;
  /** Connections currently spliced (for tests and the launcher's status). */
  readonly open: number;
  close(): Promise<void>;
}

/** Listens on `host:port` and spreads connections over `backends()` (read at every connection). */
export async function startBalancer(
  host: string,
  port: number,
  backends: () => readonly Backend[],
): Promise<Balancer> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const list = backends();
    const start = next++;
    const attempt = (tried: number): void => {
      if (tried >= list.length || client.destroyed) return void client.destroy();
      const target = list[(start + tried) % list.length]!;
      const upstream = connect(target.port, target.host);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', () => {
        upstream.destroy();
        if (!connected) attempt(tried + 1);
        else client.destroy();
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    host,
    port: address.port,
    get open() {
      return sockets.size;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
