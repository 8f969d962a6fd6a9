import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { listen } from '../http/listen.ts';
import { RemoteKeys } from './remote-keys.ts';

const first = generateSigningKey('EdDSA');
const rotated = generateSigningKey('EdDSA');
let published = [first];
let fetches = 0;
let failing = false;
const server = createServer((req, res) => {
  if (req.url !== '/jwks') return void res.writeHead(404).end();
  fetches++;
  if (failing) return void res.writeHead(500).end();
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
});
let issuer = '';

before(async () => {
  issuer = (await listen(server, 0, '127.0.0.1')).url;
});
after(() => new Promise((r) => server.close(r)));

test('the issuer’s JWKS is fetched; an unknown kid resolves to nothing and is not fetched again within 10 s', async () => {
  const keys = new RemoteKeys(issuer);
  await keys.refresh();
  assert.equal(keys.resolve(first.kid)?.kid, first.kid);
  published = [first, rotated];
  const count = fetches;
  assert.equal(keys.resolve(rotated.kid), undefined, 'not known yet: refused, never trusted');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(fetches, count, 'rate-limited: a flood of unknown kids does not flood the STS');
  await keys.refresh();
  assert.equal(keys.resolve(rotated.kid)?.kid, rotated.kid);
});

test('a JWKS that cannot be fetched rejects the refresh and keeps the keys already known', async () => {
  const keys = new RemoteKeys(issuer);
  published = [first];
  await keys.refresh();
  failing = true;
  try {
    await assert.rejects(keys.refresh(), /JWKS fetch answered 500/);
    assert.equal(keys.resolve(first.kid)?.kid, first.kid);
  } finally {
    failing = false;
  }
});
