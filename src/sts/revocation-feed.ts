import type { IncomingMessage, ServerResponse } from 'node:http';
import { streaming } from '../core/load.ts';
import type { RevocationEvent, Sts } from './sts.ts';

/** Heartbeat interval bounds (ms): a client asks for one with `?heartbeat_ms=`; the default is the slowest. */
export const MIN_HEARTBEAT_MS = 250;
export const MAX_HEARTBEAT_MS = 15_000;

/** What every `heartbeat` event carries. */
export interface FeedHeartbeat {
  /** When the STS wrote the heartbeat (epoch ms, the STS clock). */
  readonly at: number;
  /**
   * Since when (epoch ms) this connection has carried every revocation: the later of the connection start
   * and the last (re)subscription to the other replicas' revocations; `null` while that relay is down, when
   * the heartbeat vouches for nothing.
   */
  readonly since: number | null;
  /** The heartbeat interval in use (ms). */
  readonly interval: number;
}

/** The heartbeat interval for a requested one: clamped to the bounds; the maximum when absent or invalid. */
export function heartbeatInterval(requested: string | null): number {
  const ms = requested === null ? Number.NaN : Number(requested);
  if (!Number.isFinite(ms) || ms <= 0) return MAX_HEARTBEAT_MS;
  return Math.min(MAX_HEARTBEAT_MS, Math.max(MIN_HEARTBEAT_MS, Math.round(ms)));
}

/**
 * Server-Sent Events push of revocations: each `revoked` event lists the revoked token hashes and their
 * status-list slots, so a gateway can drop them from its caches at once instead of waiting for the next
 * status list. A `heartbeat` event, at once and then every `heartbeat_ms` (250 ms – 15 s, default 15 s),
 * says "as of `at`, you have every revocation since `since`": a gateway counts its revocation data fresh
 * from what it received, so a connection that stays open but carries nothing (a silent partition) goes
 * stale within the gateway's bound.
 */
export function revocationFeed(sts: Sts, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const interval = heartbeatInterval(url.searchParams.get('heartbeat_ms'));
  const connectedAt = Date.now();
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: 2000\n: warrant revocation feed\n\n`);
  // Open as long as the gateway is: it waits for revocations, it does not keep this process busy.
  streaming(res);
  let id = 0;
  const onRevoked = (event: RevocationEvent) => {
    const data = JSON.stringify({
      at: event.at,
      reason: event.reason,
      tokens: event.revoked.map((r) => ({ hash: r.hash, list: r.statusList, idx: r.statusIdx })),
    });
    res.write(`id: ${++id}\nevent: revoked\ndata: ${data}\n\n`);
  };
  // Listening before the first heartbeat: everything emitted after `connectedAt` reaches this client.
  sts.events.on('revoked', onRevoked);
  const beat = () => {
    const relayed = sts.feedCompleteSince();
    const heartbeat: FeedHeartbeat = {
      at: Date.now(),
      since: relayed === null ? null : Math.max(connectedAt, relayed),
      interval,
    };
    res.write(`event: heartbeat\ndata: ${JSON.stringify(heartbeat)}\n\n`);
  };
  beat();
  const heartbeat = setInterval(beat, interval);
  heartbeat.unref();
  const stop = () => {
    clearInterval(heartbeat);
    sts.events.off('revoked', onRevoked);
  };
  req.on('close', stop);
  res.on('close', stop);
}
