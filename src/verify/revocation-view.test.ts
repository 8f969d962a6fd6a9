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

describe('RevocationView: pushed revocations are pruned by expiry', () => {
  let feed: ServerResponse | undefined;
  let opened: () => void = () => {};
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/revocations')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': fake feed\n\n');
      feed = res;
      opened();
    } else res.writeHead(404).end();
  });
  before(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)));
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a hash is kept for pushedTtlSeconds after its push, then dropped: the set stays bounded', async () => {
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    let now = 1_000_000;
    const view = new RevocationView({
      issuer,
      keys: () => new KeySet().resolve,
      stalenessSeconds: 5,
      pushedTtlSeconds: 60,
      now: () => now,
    });
    const feedOpen = new Promise<void>((r) => {
      opened = r;
    });
    await view.start();
    await feedOpen;
    const push = async (hashes: string[]) => {
      const pushes = view.pushes;
      const tokens = hashes.map((hash) => ({ hash, list: null, idx: null }));
      feed!.write(`event: revoked\ndata: ${JSON.stringify({ at: now, reason: 'r', tokens })}\n\n`);
      while (view.pushes === pushes) await sleep(5);
    };
    try {
      const h = (i: number) => `${String(i).padStart(3, '0')}${'A'.repeat(40)}`;
      await push([h(1), h(2), h(3)]);
      now += 30_000;
      await push([h(4), h(5)]);
      assert.equal(view.pushedSize, 5);
      assert.equal(view.check(h(1), undefined), 'revoked');
      now += 30_000; // h1–h3 pushed 60 s ago: their tokens have expired
      view.prune();
      assert.equal(view.pushedSize, 2);
      assert.equal(view.check(h(1), undefined), 'valid', 'pruned (an expired token is refused as expired)');
      assert.equal(view.check(h(4), undefined), 'revoked');
      // A hash pushed again is kept from its latest push.
      await push([h(4)]);
      now += 31_000;
      view.prune();
      assert.equal(view.pushedSize, 1);
      assert.equal(view.check(h(4), undefined), 'revoked');
      // Thousands of pushes over time: never more than one TTL's worth held.
      for (let round = 0; round < 20; round++) {
        await push(Array.from({ length: 100 }, (_, i) => h(round * 100 + i)));
        now += 10_000;
      }
      view.prune();
      assert.ok(view.pushedSize <= 600, `held ${view.pushedSize}`);
    } finally {
      view.close();
    }
  });
});
