/**
 * A TCP proxy for fault tests that can partition the link silently: while partitioned it forwards nothing
 * in either direction and closes nothing — connections stay open, bytes (and FINs) wait, as on a network
 * that black-holes packets — and on heal it delivers what waited, in order.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Held while partitioned: chunks, or `null` for an end of stream. */
  readonly toUpstream: (Buffer | null)[];
  readonly toClient: (Buffer | null)[];
}

export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #target: { host: string; port: number } | undefined;
  #partitioned = false;
  /** Connections accepted so far. */
  connections = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on a free loopback port; the target may be set later (before the first connection). */
  static async start(target?: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server);
    proxy.#target = target;
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  set target(target: { host: string; port: number }) {
    this.#target = target;
  }

  get partitioned(): boolean {
    return this.#partitioned;
  }

  /** From now on nothing is forwarded and nothing is closed. */
  partition(): void {
    this.#partitioned = true;
  }

  /** Delivers what waited and forwards again. */
  heal(): void {
    this.#partitioned = false;
    for (const pair of this.#pairs) {
      flush(pair.toUpstream.splice(0), pair.upstream);
      flush(pair.toClient.splice(0), pair.client);
    }
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const target = this.#target;
    if (!target) {
      client.destroy();
      return;
    }
    this.connections++;
    const upstream = connect(target.port, target.host);
    const pair: Pair = { client, upstream, toUpstream: [], toClient: [] };
    this.#pairs.add(pair);
    const relay = (from: Socket, to: Socket, held: (Buffer | null)[]) => {
      from.on('data', (chunk: Buffer) => {
        if (this.#partitioned) held.push(chunk);
        else to.write(chunk);
      });
      from.on('end', () => {
        if (this.#partitioned) held.push(null);
        else to.end();
      });
    };
    relay(client, upstream, pair.toUpstream);
    relay(upstream, client, pair.toClient);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => {
      if (!this.#partitioned) drop();
    });
    upstream.on('close', () => {
      if (!this.#partitioned) drop();
    });
  }
}

function flush(held: (Buffer | null)[], to: Socket): void {
  for (const chunk of held) {
    if (to.destroyed) return;
    if (chunk === null) to.end();
    else to.write(chunk);
  }
}
