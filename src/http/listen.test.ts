import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { listen } from './listen.ts';

test('listen: binds a free port and names its URL; a port in use rejects', async () => {
  const a = createServer((_req, res) => res.end('ok'));
  const { url, address } = await listen(a, 0, '127.0.0.1');
  assert.equal(url, `http://127.0.0.1:${address.port}`);
  assert.equal(await (await fetch(url)).text(), 'ok');
  const b = createServer();
  await assert.rejects(listen(b, address.port, '127.0.0.1'), /EADDRINUSE/);
  await new Promise((r) => a.close(r));
});
