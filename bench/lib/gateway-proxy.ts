/**
 * Child process for bench/gateway.bench.ts: the baseline, a plain Node reverse proxy. A `node:http` server
 * forwarding every request to one upstream through an undici `Pool`, with the gateway's header handling
 * (hop-by-hop headers and `host` dropped, `content-length` kept), request and response bodies streamed,
 * back-pressure honoured. No authentication, no policy, no record: what any Node proxy does anyway. It is
 * written the idiomatic way, so it is not handicapped by the gateway's own choices (e.g. the gateway's
 * `flushHeaders()`, an extra socket write per response, is gateway cost here).
 *
 * argv[2] is a JSON `{ upstream }`. Answers `{ type: 'ready', url }` over IPC, then the commands of
 * child.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { childSpec, closeServer, listenLoopback, serveCommands } from './child.ts';

export interface ProxySpec {
  readonly upstream: string;
}

const spec = childSpec<ProxySpec>();
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);
const pool = new Pool(new URL(spec.upstream).origin, {
  connections: 128,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
});

async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers[name] = value;
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  if (hasBody && req.headers['content-length'] !== undefined)
    headers['content-length'] = req.headers['content-length'];
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const response = await pool.request({
      method: (req.method ?? 'GET') as 'GET',
      path: req.url ?? '/',
      headers,
      body: hasBody ? req : null,
      signal: abort.signal,
    });
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      out[name] = value;
    }
    if (response.headers['content-length'] !== undefined)
      out['content-length'] = String(response.headers['content-length']);
    // No flushHeaders(): node sends the head with the first body chunk, one write for a small answer.
    res.writeHead(response.statusCode, out);
    for await (const chunk of response.body) {
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done).off('close', done);
            resolve();
          };
          res.on('drain', done).on('close', done);
        });
      }
    }
    res.end();
  } catch {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad_gateway"}');
  }
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => void proxy(req, res));
server.keepAliveTimeout = 60_000;
const url = await listenLoopback(server);

serveCommands(
  { url },
  {
    server,
    async stop() {
      await closeServer(server);
      await pool.close();
    },
  },
);
