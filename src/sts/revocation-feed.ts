import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RevocationEvent, Sts } from './sts.ts';

/**
 * Server-Sent Events push of revocations: each event lists the revoked token hashes and their status-list
 * slots, so a gateway can drop them from its caches at once instead of waiting for the next status list.
 * A comment line every 15 s keeps idle connections open through proxies.
 */
export function revocationFeed(sts: Sts, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: 2000\n: warrant revocation feed\n\n`);
  let id = 0;
  const onRevoked = (event: RevocationEvent) => {
    const data = JSON.stringify({
      at: event.at,
      reason: event.reason,
      tokens: event.revoked.map((r) => ({ hash: r.hash, list: r.statusList, idx: r.statusIdx })),
    });
    res.write(`id: ${++id}\nevent: revoked\ndata: ${data}\n\n`);
  };
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  heartbeat.unref();
  sts.events.on('revoked', onRevoked);
  const stop = () => {
    clearInterval(heartbeat);
    sts.events.off('revoked', onRevoked);
  };
  req.on('close', stop);
  res.on('close', stop);
}
