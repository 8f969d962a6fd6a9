/**
 * Child process for bench/sts.bench.ts: the transport floor — a plain `node:http` server that reads the
 * form body and answers a fixed token-sized JSON, with no verification, signing or storage. Measured with
 * the same load generator, it shows what loopback HTTP and the client cost before any token work.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

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
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  process.send!({ type: 'ready', url, tokenEndpoint: `${url}/token` });
});
process.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  server.closeAllConnections();
  server.close(() => process.send!({ type: 'stopped' }, () => process.exit(0)));
});
