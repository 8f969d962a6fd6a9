/**
 * `GET /ui/api/decisions/stream?person=&agent=&action=&outcome=`: Server-Sent Events, one `decision` event
 * (a JSON decision view) per new decision this session may see and the filters match, as the ledger
 * records it; a comment every 15 s keeps the connection open. The stream ends when the session expires. A
 * browser reconnecting sends `Last-Event-ID` (the last record index it got): what was recorded since comes
 * first, so a dropped connection loses nothing (up to the 2000 latest records).
 */
import { streaming } from '../../core/load.ts';
import type { AuditRecord } from '../../ledger/audit/source.ts';
import { maySee } from '../scope.ts';
import type { ApiOperation } from './types.ts';
import { decisionView, filterOf, matches } from './views.ts';

const KEEPALIVE_MS = 15_000;

export const decisionStream: ApiOperation = async ({ req, res, url, parts, session, ctx }) => {
  if (parts[0] !== 'decisions' || parts[1] !== 'stream' || parts.length !== 2 || req.method !== 'GET')
    return false;
  const filter = filterOf(url);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  streaming(res);
  const send = (records: readonly AuditRecord[]) => {
    for (const r of records) {
      if (!maySee(session, r.record)) continue;
      const view = decisionView(r);
      if (!matches(view, filter)) continue;
      res.write(`event: decision\nid: ${view.index}\ndata: ${JSON.stringify(view)}\n\n`);
    }
  };
  const subscription = await ctx.feed.subscribe((records) => {
    if (session.expires <= ctx.sts.clock()) return stop();
    send(records);
  });
  const unsubscribe = subscription.stop;
  const last = req.headers['last-event-id'];
  if (typeof last === 'string' && /^\d{1,15}$/.test(last))
    send(await ctx.feed.between(Number(last) + 1, subscription.from).catch(() => []));
  // Subscribed: every decision recorded from here on reaches this stream.
  res.write(': decisions\n\n');
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  function stop(): void {
    clearInterval(keepalive);
    unsubscribe();
    res.end();
  }
  req.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
  });
  return true;
};
