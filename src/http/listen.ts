import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { type SecureContextOptions, Server as TlsServer } from 'node:tls';

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

/** The PEM files of a TLS listener. */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

export interface TlsReload {
  /**
   * Reads the files again and makes new connections use them; connections already open keep theirs and the
   * listener is never closed. A file that cannot be read or a certificate that does not load (bad PEM, key
   * not matching) changes nothing: `false`, and `onError` is told.
   */
  reload(): boolean;
  /** Stops watching the files. */
  close(): void;
}

/**
 * Certificate reload without a restart (issue 14): `reload()` (the servers call it on SIGHUP) and a watch on
 * the files (polled every `watchMs`, default 2 s, so an atomic rename — a Kubernetes Secret update — is
 * seen too). `extra` is what the server's secure context needs besides the files (e.g. `minVersion`).
 */
export function reloadableTls(
  server: TlsServer,
  files: TlsFiles,
  extra: SecureContextOptions = {},
  options: { watchMs?: number; onReload?: () => void; onError?: (error: unknown) => void } = {},
): TlsReload {
  const reload = (): boolean => {
    try {
      server.setSecureContext({
        ...extra,
        cert: readFileSync(files.cert),
        key: readFileSync(files.key),
        ...(files.ca !== undefined ? { ca: readFileSync(files.ca) } : {}),
      });
    } catch (error) {
      options.onError?.(error);
      return false;
    }
    options.onReload?.();
    return true;
  };
  const paths = [files.cert, files.key, ...(files.ca !== undefined ? [files.ca] : [])];
  const interval = options.watchMs ?? 2000;
  let pending: NodeJS.Timeout | undefined;
  // A certificate and its key are often written one after the other: reload once both have settled.
  const changed = () => {
    clearTimeout(pending);
    pending = setTimeout(reload, Math.min(250, interval));
    pending.unref();
  };
  for (const path of paths) watchFile(path, { interval, persistent: false }, changed);
  return {
    reload,
    close() {
      clearTimeout(pending);
      for (const path of paths) unwatchFile(path, changed);
    },
  };
}
