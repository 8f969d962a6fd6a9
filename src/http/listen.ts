import type { AddressInfo, Server } from 'node:net';
import { Server as TlsServer } from 'node:tls';

export interface Listening {
  readonly address: AddressInfo;
  /** `http://host:port` (`https://` for a TLS server), IPv6 addresses in brackets. */
  readonly url: string;
}

/**
 * Binds `server` to `port` on `host` (port 0: any free port). Rejects with the listen error (port in use,
 * address not available) instead of leaving an `error` event unhandled.
 */
export async function listen(server: Server, port: number, host?: string): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const name = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = server instanceof TlsServer ? 'https' : 'http';
  return { address, url: `${scheme}://${name}:${address.port}` };
}
