/**
 * Child process for bench/sts.bench.ts: the transport floor — a plain `node:http` server that reads the
 * form body and answers a fixed token-sized JSON, with no verification, signing or storage. Measured with
 * the same load generator, it shows what loopback HTTP and the client cost before any token work.
 * Answers `{ type: 'ready', url, tokenEndpoint }` over IPC, then the commands of child.ts.
 */
import { createServer } from 'node:http';
import { closeServer, listenLoopback, serveCommands } from './child.ts';

const body = Buffer.from(
  JSON.stringify({
    access_token: `ey${'A'.repeat(1100)}`,
    token_type: 'DPoP',
    expires_in: 300,
    scope: 'crm:read',
  }),
);
const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      'cache-control': 'no-store',
    });
    res.end(body);
  });
});
const url = await listenLoopback(server);
serveCommands({ url, tokenEndpoint: `${url}/token` }, { stop: () => closeServer(server) });
