/**
 * Child process for bench/gateway.bench.ts: the upstream every path ends at (direct, plain proxy, gateway).
 * A bare `node:http` server answering every request with the same small JSON body once the request body
 * (if any) has arrived. Answers `{ type: 'ready', url }` over IPC, then the commands of gateway-ipc.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveCommands } from './gateway-ipc.ts';

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
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

serveCommands(
  { url: `http://127.0.0.1:${port}`, bodyBytes: BODY.length },
  {
    server,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  },
);
