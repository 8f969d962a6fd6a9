/**
 * `GET /ui/api/decisions/stream?person=&agent=&action=&outcome=`: Server-Sent Events, one `decision` event
 * (a JSON decision view) per new decision this session may see and the filters match, as the ledger
 * records it; a comment every 15 s keeps the connection open. The stream ends when the session expires.
 */
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
  const unsubscribe = await ctx.feed.subscribe((records) => {
    if (session.expires <= ctx.sts.clock()) return stop();
    for (const r of records) {
      if (!maySee(session, r.record)) continue;
      const view = decisionView(r);
      if (!matches(view, filter)) continue;
      res.write(`event: decision\nid: ${view.index}\ndata: ${JSON.stringify(view)}\n\n`);
    }
  });
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
