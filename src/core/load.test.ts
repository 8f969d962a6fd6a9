import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { countRequest, requestsInFlight, servingOne, streaming } from './load.ts';

test('a request counts while it is answered; a stream stops counting once it streams, and is not uncounted twice', async () => {
  const base = requestsInFlight.count;
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = createServer((req, res) => {
    countRequest(res);
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      streaming(res);
      streaming(res); // twice: still one uncount
      return;
    }
    void held.then(() => res.end('done'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const abort = new AbortController();
    const stream = await fetch(`${url}/stream`, { signal: abort.signal });
    const reader = stream.body!.getReader();
    await reader.read(); // the stream is open and has sent its first bytes
    assert.equal(requestsInFlight.count, base, 'an open stream is not a request in flight');
    assert.equal(servingOne(), true);

    const slow = fetch(`${url}/slow`);
    for (let i = 0; i < 100 && requestsInFlight.count === base; i++)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(requestsInFlight.count, base + 1, 'a request being answered counts');
    assert.equal(servingOne(), true, 'one request: still serving one');
    release();
    assert.equal(await (await slow).text(), 'done');

    abort.abort();
    await reader.closed.catch(() => {});
    for (let i = 0; i < 100 && requestsInFlight.count !== base; i++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20)); // the stream's close has been seen
    assert.equal(requestsInFlight.count, base, 'closing a stream does not uncount it again');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a response without events (an in-process double) is never counted', () => {
  const base = requestsInFlight.count;
  countRequest({});
  streaming({});
  assert.equal(requestsInFlight.count, base);
});
