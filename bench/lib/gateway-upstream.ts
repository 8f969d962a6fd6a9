/**
 * Child process for bench/gateway.bench.ts: the upstream every path ends at (direct, plain proxy, gateway).
 * A bare `node:http` server answering every request with the same small JSON body once the request body
 * (if any) has arrived. Answers `{ type: 'ready', url }` over IPC, then the commands of child.ts.
 */
import { createServer } from 'node:http';
import { closeServer, listenLoopback, serveCommands } from './child.ts';

const BODY = Buffer.from(
  JSON.stringify({ id: 42, name: 'Ada Lovelace', email: 'ada@example.org', ok: true }),
);

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const reply = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  };
  if (req.readableEnded) reply();
  else req.on('data', () => {}).on('end', reply);
});
server.keepAliveTimeout = 60_000;
const url = await listenLoopback(server);

serveCommands({ url, bodyBytes: BODY.length }, { server, stop: () => closeServer(server) });
