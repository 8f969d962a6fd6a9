import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { PeerConfig } from '../config/types.ts';
import { validateConfig } from '../config/validate-config.ts';
import { ConfigError } from '../core/errors.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { PeerKeys } from './peer-keys.ts';
import { Peers } from './peers.ts';

const key = generateSigningKey('EdDSA');
const jwks = JSON.stringify({ keys: [key.jwk] });

let server: Server;
let base: string;
let served = 0;

before(async () => {
  server = createServer((req, res) => {
    served++;
    if (req.url === '/jwks') return void res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    if (req.url === '/redirect') return void res.writeHead(302, { location: '/jwks' }).end();
    if (req.url === '/big') return void res.writeHead(200).end(`{"keys":[],"pad":"${'x'.repeat(300_000)}"}`);
    if (req.url === '/duplicate') return void res.writeHead(200).end('{"keys":[],"keys":[]}');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => server.close(() => r())));

describe("a peer's keys", () => {
  test('are fetched from its JWKS URI and resolve by kid', async () => {
    const keys = PeerKeys.remote(`${base}/jwks`);
    assert.equal(keys.resolve(key.kid), undefined, 'nothing before the first fetch');
    await keys.refresh();
    assert.equal(keys.resolve(key.kid)?.kid, key.kid);
  });

  test('refuse redirects, documents over 256 KiB and JSON with duplicate members', async () => {
    await assert.rejects(PeerKeys.remote(`${base}/redirect`).refresh());
    await assert.rejects(PeerKeys.remote(`${base}/big`).refresh(), /too large/);
    await assert.rejects(PeerKeys.remote(`${base}/duplicate`).refresh(), /strict JSON/);
  });

  test('an unknown kid fetches again at most once per cooldown', async () => {
    const keys = PeerKeys.remote(`${base}/jwks`, { cooldownMs: 60_000 });
    await keys.refresh();
    const before = served;
    for (let i = 0; i < 20; i++) assert.equal(keys.resolve('A'.repeat(43)), undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(served - before, 0, 'inside the cooldown: no fetch');
  });

  test('can be fixed (inline JWKS)', () => {
    assert.equal(PeerKeys.fixed({ keys: [key.jwk] }).resolve(key.kid)?.kid, key.kid);
  });
});

const peer = (more: Partial<PeerConfig> = {}): PeerConfig => ({
  issuer: 'https://sts.a.example',
  jwks: { keys: [key.jwk] },
  audiences: ['spiffe://b.example/agent/*'],
  grants: [{ action: 'crm:*', resource: 'crm/*' }],
  maxDepth: 2,
  trustDomain: 'a.example',
  ...more,
});

describe('federation.peers', () => {
  test('are looked up by exact issuer and by trust domain', () => {
    const peers = new Peers({ peers: [peer()], statusStalenessSeconds: 30, watchIntervalMs: 1000 });
    assert.equal(peers.get('https://sts.a.example')?.limits.maxDepth, 2);
    assert.equal(peers.get('https://sts.a.example/other'), undefined);
    assert.equal(peers.forTrustDomain('a.example')?.issuer, 'https://sts.a.example');
    assert.equal(peers.forTrustDomain('c.example'), undefined);
    assert.equal(new Peers(undefined).lookup, undefined, 'no peers: nothing crosses');
    peers.close();
  });

  test('refuse a bad entry at start, naming the option', () => {
    const bad = (p: PeerConfig[], path: RegExp) =>
      assert.throws(
        () => new Peers({ peers: p, statusStalenessSeconds: 30, watchIntervalMs: 1000 }),
        (e: unknown) => e instanceof ConfigError && path.test(e.message),
      );
    bad([peer(), peer()], /\/federation\/peers\/1\/issuer/);
    bad([peer({ jwksUri: 'https://sts.a.example/jwks' })], /\/federation\/peers\/0: give at most one/);
    bad([peer({ grants: [{ action: 'crm:*' }] })], /\/federation\/peers\/0\/grants/);
    bad([peer({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } })], /\/federation\/peers\/0/);
    // The same when the configuration is validated (`warrant config validate`).
    assert.throws(
      () => validateConfig({ federation: { peers: [peer({ grants: [{ resource: 'x' }] })] } }),
      (e: unknown) => e instanceof ConfigError && /\/federation\/peers\/0\/grants/.test(e.message),
    );
    assert.equal(validateConfig({ federation: { peers: [peer()] } }).federation?.peers.length, 1);
  });
});
