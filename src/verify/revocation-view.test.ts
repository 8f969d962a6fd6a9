import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deflateSync } from 'node:zlib';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { KeySet } from '../core/jose/key-set.ts';
import { signToken } from '../core/tokens/index.ts';
import { heartbeatIntervalFor, RevocationView } from './revocation-view.ts';

describe('heartbeatIntervalFor', () => {
  test('every valid bound (1 s – 1 h) gets at least four heartbeats per bound, within 250 ms – 15 s', () => {
    for (let bound = 1; bound <= 3600; bound++) {
      const interval = heartbeatIntervalFor(bound);
      assert.ok(interval >= 250 && interval <= 15_000, `${bound} s → ${interval} ms`);
      assert.ok(interval * 4 <= bound * 1000, `${bound} s → ${interval} ms`);
    }
  });
});

/**
 * A fake STS: a signed status list whose `iat` the test sets, and a revocation feed whose heartbeats the
 * test writes by hand (with any `at` and `since`).
 */
describe('RevocationView freshness comes from what was received', () => {
  const key = generateSigningKey();
  const keys = new KeySet([key]);
  let issuer = '';
  let listIat = 0;
  let feed: ServerResponse | undefined;
  let feedOpened: () => void = () => {};
  const server = createServer((req, res) => {
    if (req.url === '/status/1') {
      const token = signToken(
        'statusList',
        {
          iss: issuer,
          sub: `${issuer}/status/1`,
          iat: listIat,
          exp: listIat + 600,
          ttl: 30,
          status_list: { bits: 1, lst: deflateSync(new Uint8Array(4)).toString('base64url') },
        },
        key,
      );
      res.writeHead(200, { 'content-type': 'application/statuslist+jwt' }).end(token);
    } else if (req.url?.startsWith('/revocations')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': fake feed\n\n');
      feed = res;
      feedOpened();
    } else {
      res.writeHead(404).end();
    }
  });
  const heartbeat = (beat: { at: number; since: number | null; interval?: number }) =>
    feed!.write(`event: heartbeat\ndata: ${JSON.stringify({ interval: 15_000, ...beat })}\n\n`);
  const status = () => ({ idx: 3, uri: `${issuer}/status/1` });
  const views: RevocationView[] = [];
  /** A view with a 5 s bound, started against the fake STS, its feed open. */
  async function view(): Promise<RevocationView> {
    const opened = new Promise<void>((resolve) => {
      feedOpened = resolve;
    });
    const v = new RevocationView({ issuer, keys: () => keys.resolve, stalenessSeconds: 5 });
    views.push(v);
    await v.start();
    await opened;
    return v;
  }

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const v of views) v.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('a status list is current as of its iat, not as of when it arrived: an old one is stale at once', async () => {
    listIat = Math.floor(Date.now() / 1000) - 10;
    const v = await view();
    assert.ok(v.asOf() <= listIat * 1000, 'as of its iat');
    assert.equal(v.check('some-hash', status()), 'stale');
  });

  test('a heartbeat extends a list signed after its `since`, as of its `at` — a late one counts from `at`', async () => {
    listIat = Math.floor(Date.now() / 1000);
    const v = await view();
    assert.equal(v.check('some-hash', status()), 'valid');
    // The first heartbeat arrives at once: its delay (≈ 0) calibrates the STS clock against ours.
    const since = listIat * 1000 - 1000;
    const first = Date.now();
    heartbeat({ at: first, since });
    await sleep(50);
    assert.equal(v.heartbeats, 1);
    assert.ok(Math.abs(v.asOf() - first) < 100, 'fresh as of the heartbeat');
    // The next one was written 1 s later but is delivered 2 s after that (held by the network): the data
    // is current as of when it was written, not as of its arrival.
    await sleep(3000);
    heartbeat({ at: first + 1000, since });
    await sleep(50);
    assert.equal(v.heartbeats, 2);
    assert.ok(Math.abs(v.asOf() - (first + 1000)) < 100, `as of ${v.asOf() - first} ms`);
    assert.ok(Date.now() - v.asOf() > 1500);
  });

  test('a heartbeat that vouches for nothing (`since: null`) extends nothing', async () => {
    listIat = Math.floor(Date.now() / 1000) - 4;
    const v = await view();
    const before = v.asOf();
    heartbeat({ at: Date.now(), since: null });
    await sleep(50);
    assert.equal(v.heartbeats, 1);
    assert.equal(v.asOf(), before);
    assert.equal(v.feedConnected, false, 'a feed that vouches for nothing is not counted as connected');
    await sleep(1200);
    assert.equal(v.check('some-hash', status()), 'stale');
  });

  test('a list signed before the feed’s `since` is not extended by its heartbeats', async () => {
    listIat = Math.floor(Date.now() / 1000) - 4;
    const v = await view();
    heartbeat({ at: Date.now(), since: Date.now() - 100 });
    await sleep(50);
    assert.ok(v.asOf() <= listIat * 1000);
    await sleep(1200);
    assert.equal(v.check('some-hash', status()), 'stale');
  });
});
