/**
 * The Transaction Token (DESIGN §7): every forwarded call carries a `Txn-Token` signed by the gateway's own
 * key, published at `/.well-known/txn-token-jwks.json`; an upstream verifies it with `verifyTxnToken`
 * (`warrant/verify`) and refuses one that is forged, expired, for another audience or replayed. Real STS,
 * gateway and upstreams over HTTP.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { WarrantError } from '../../src/core/errors.ts';
import { decode, encode } from '../../src/core/jose/base64url.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { KeySet } from '../../src/core/jose/key-set.ts';
import { TXN_TOKEN_KEY_FILE } from '../../src/gateway/txn-token-key.ts';
import { MemoryReplayCache } from '../../src/replay/index.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { TxnTokenReceiver, warrantExpress } from '../../src/verify/index.ts';
import {
  TXN_TOKEN_JWKS_PATH,
  TXN_TOKEN_TYP,
  type TxnTokenClaims,
  verifyTxnToken,
} from '../../src/verify/txn-token.ts';
import { CRM_CONTACTS_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { hop, rootWarrant, TOOLS, Upstreams, WIDE } from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const ORDERS = `${TOOLS}/orders`;
const GRANTS = [
  { action: 'crm:*', resource: `${TOOLS}/*` },
  { action: 'orders:*', resource: `${TOOLS}/*` },
];

/** An Express upstream that trusts only the gateway's Txn-Token (warrant/verify's TxnTokenReceiver). */
let txnReceiver: TxnTokenReceiver;
let ordersUrl = '';
/** The Txn-Tokens the orders upstream was sent (verified or not). */
const ordersTokens: string[] = [];
const orders = express();
orders.use((req, _res, next) => {
  const t = req.headers['txn-token'];
  if (typeof t === 'string') ordersTokens.push(t);
  next();
});
orders.use((req, res, next) => warrantExpress(txnReceiver)(req, res, next));
orders.get('/:id', (req, res) => {
  res.json({ person: req.txnToken?.sub, actors: req.txnToken?.tctx.actors, scope: req.txnToken?.scope });
});

const up = new Upstreams();
/** The headers of every request that reached the upstream. */
const received: IncomingMessage['headers'][] = [];
let h: GatewayHarness;
let planner: AgentClient;
let executor: AgentClient;
let root: string;
let leaf: string;
let jwks: unknown;

before(async () => {
  h = await startGatewayHarness({
    upstreams: {
      crm: up.handler('crm', (req, res) => {
        received.push(req.headers);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }),
      orders: (req, res) => orders(req, res),
    },
    routes: (u) => {
      ordersUrl = u['orders']!;
      return [
        { match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' },
        { match: { pathPrefix: '/orders' }, upstream: u['orders']!, audience: ORDERS, protocol: 'http' },
      ];
    },
    catalog: [
      CRM_CONTACTS_READ,
      {
        name: 'orders:read',
        match: { protocol: 'http', method: 'GET', path: '/orders/*' },
        impact: 'low',
        dataClass: 'internal',
        reversibility: 'reversible',
        blastRadius: 1,
      },
    ],
  });
  txnReceiver = await TxnTokenReceiver.start({ gateway: h.gw.gateway.publicUrl, audience: ORDERS });
  planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  root = await rootWarrant(h, planner, agentIdOf('executor'), GRANTS);
  leaf = await hop(executor, root, CRM);
  const r = await fetch(`${h.gw.url}${TXN_TOKEN_JWKS_PATH}`);
  assert.equal(r.status, 200);
  assert.match(String(r.headers.get('content-type')), /^application\/jwk-set\+json/);
  jwks = await r.json();
});

after(async () => {
  await txnReceiver?.close();
  await h.close();
});

/** Calls the CRM through the gateway; returns the Txn-Token the upstream received. */
async function forwardedToken(chain?: string[]): Promise<string> {
  const before = received.length;
  const r = await h.call(executor, leaf, '/crm/contacts/42', {
    ...(chain ? { chain } : {}),
    headers: { 'txn-token': 'forged-by-the-caller' },
  });
  assert.equal(r.status, 200, await r.text());
  assert.equal(received.length, before + 1);
  const token = received[before]!['txn-token'];
  assert.equal(typeof token, 'string');
  return token as string;
}

const payloadOf = (token: string): TxnTokenClaims =>
  JSON.parse(Buffer.from(decode(token.split('.')[1]!)).toString('utf8')) as TxnTokenClaims;

async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof WarrantError && e.code === code);
}

test('the gateway forwards a Txn-Token the upstream verifies against the published JWKS', async () => {
  const token = await forwardedToken([root, leaf]);
  const header = JSON.parse(Buffer.from(decode(token.split('.')[0]!)).toString('utf8'));
  assert.equal(header.typ, TXN_TOKEN_TYP);
  assert.equal(header.alg, 'EdDSA');
  const claims = await verifyTxnToken(token, {
    keys: jwks,
    audience: CRM,
    issuer: h.gw.gateway.publicUrl,
    replay: new MemoryReplayCache(),
  });
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.aud, CRM);
  assert.equal(claims.req_wl, h.gw.gateway.id);
  assert.equal(claims.exp - claims.iat, 60);
  assert.deepEqual(claims.tctx.actors, [agentIdOf('planner'), agentIdOf('executor')]);
  assert.deepEqual(
    claims.tctx.grants.map((g) => g.action),
    ['crm:*'],
  );
  assert.equal(claims.scope, 'crm:*');
  const leafClaims = payloadOf(leaf) as unknown as { txn: string };
  assert.equal(claims.txn, leafClaims.txn);
  assert.equal(typeof claims.tctx.decision, 'string');
  // The gateway's key is its own, kept private on disk.
  const mode = statSync(join(h.sts.config.dataDir, TXN_TOKEN_KEY_FILE)).mode & 0o777;
  assert.equal(mode, 0o600);
});

test('a caller cannot send its own Txn-Token: the gateway replaces it', async () => {
  const token = await forwardedToken();
  assert.notEqual(token, 'forged-by-the-caller');
  await verifyTxnToken(token, { keys: jwks, audience: CRM, replay: new MemoryReplayCache() });
});

test('a replayed Txn-Token is refused: WARRANT_TOKEN_REPLAYED', async () => {
  const token = await forwardedToken();
  const replay = new MemoryReplayCache();
  await verifyTxnToken(token, { keys: jwks, audience: CRM, replay });
  await refusedWith(verifyTxnToken(token, { keys: jwks, audience: CRM, replay }), 'WARRANT_TOKEN_REPLAYED');
});

test('a Txn-Token for another audience is refused: WARRANT_AUDIENCE_MISMATCH', async () => {
  const token = await forwardedToken();
  await refusedWith(
    verifyTxnToken(token, { keys: jwks, audience: `${TOOLS}/mail`, replay: new MemoryReplayCache() }),
    'WARRANT_AUDIENCE_MISMATCH',
  );
});

test('an expired Txn-Token is refused: WARRANT_TOKEN_EXPIRED', async () => {
  const token = await forwardedToken();
  const { exp } = payloadOf(token);
  await refusedWith(
    verifyTxnToken(token, { keys: jwks, audience: CRM, replay: new MemoryReplayCache(), now: exp + 31 }),
    'WARRANT_TOKEN_EXPIRED',
  );
});

test('a forged Txn-Token is refused: another key, a key under the gateway kid, a changed claim', async () => {
  const good = payloadOf(await forwardedToken());
  const other = generateSigningKey('EdDSA');
  // Signed by a key the gateway never published.
  const forged = signCompact({ typ: TXN_TOKEN_TYP }, { ...good, jti: 'x1' } as never, other);
  await refusedWith(
    verifyTxnToken(forged, { keys: jwks, audience: CRM, replay: new MemoryReplayCache() }),
    'WARRANT_KEY_UNKNOWN',
  );
  // Signed by another key but naming the gateway's kid.
  const [h0, p0] = forged.split('.');
  const header = JSON.parse(Buffer.from(decode(h0!)).toString('utf8'));
  header.kid = (jwks as { keys: { kid: string }[] }).keys[0]!.kid;
  const sameKid = `${encode(JSON.stringify(header))}.${p0}.${forged.split('.')[2]}`;
  await refusedWith(
    verifyTxnToken(sameKid, { keys: jwks, audience: CRM, replay: new MemoryReplayCache() }),
    'WARRANT_JWS_SIGNATURE_INVALID',
  );
  // A genuine token whose person was changed after signing.
  const genuine = await forwardedToken();
  const [gh, , gs] = genuine.split('.');
  const tampered = `${gh}.${encode(JSON.stringify({ ...payloadOf(genuine), sub: 'mallory' }))}.${gs}`;
  await refusedWith(
    verifyTxnToken(tampered, { keys: jwks, audience: CRM, replay: new MemoryReplayCache() }),
    'WARRANT_JWS_SIGNATURE_INVALID',
  );
});

test('a warrant is not a Txn-Token, and a Txn-Token with an unknown claim is refused', async () => {
  const key = generateSigningKey('EdDSA');
  const keys = new KeySet([key]).resolve;
  const good = payloadOf(await forwardedToken());
  const asWarrant = signCompact({ typ: 'warrant+jwt' }, { ...good } as never, key);
  await refusedWith(
    verifyTxnToken(asWarrant, { keys, audience: CRM, replay: new MemoryReplayCache() }),
    'WARRANT_TOKEN_TYPE_MISMATCH',
  );
  const extra = signCompact({ typ: TXN_TOKEN_TYP }, { ...good, admin: true } as never, key);
  await refusedWith(
    verifyTxnToken(extra, { keys, audience: CRM, replay: new MemoryReplayCache() }),
    'WARRANT_CLAIM_UNKNOWN',
  );
  const long = signCompact({ typ: TXN_TOKEN_TYP }, { ...good, exp: good.iat + 3600 } as never, key);
  await refusedWith(
    verifyTxnToken(long, { keys, audience: CRM, replay: new MemoryReplayCache(), now: good.iat }),
    'WARRANT_TOKEN_LIFETIME_EXCEEDED',
  );
});

describe('an upstream behind the gateway with the Txn-Token middleware (Express)', () => {
  test('a call through the gateway passes: the upstream sees the person and the actors', async () => {
    const warrant = await hop(executor, root, ORDERS);
    const r = await h.call(executor, warrant, '/orders/7');
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), {
      person: 'alice',
      actors: [agentIdOf('planner'), agentIdOf('executor')],
      scope: 'orders:*',
    });
  });

  test('reaching the upstream directly with plain warrant-* headers: 401 WARRANT_CREDENTIALS_MISSING', async () => {
    const r = await fetch(`${ordersUrl}/7`, { headers: { 'warrant-person': 'alice', 'warrant-txn': 'x' } });
    assert.equal(r.status, 401);
    assert.match(String(r.headers.get('www-authenticate')), /^DPoP /);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_CREDENTIALS_MISSING');
  });

  test('a Txn-Token replayed at the upstream: 401 invalid_token WARRANT_TOKEN_REPLAYED', async () => {
    const warrant = await hop(executor, root, ORDERS);
    const from = ordersTokens.length;
    const ok = await h.call(executor, warrant, '/orders/8');
    assert.equal(ok.status, 200, await ok.text());
    const seen = ordersTokens[from]!;
    const r = await fetch(`${ordersUrl}/8`, { headers: { 'txn-token': seen } });
    assert.equal(r.status, 401);
    assert.match(String(r.headers.get('www-authenticate')), /error="invalid_token"/);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_TOKEN_REPLAYED');
  });

  test('a Txn-Token forged with another key at the upstream: 401 WARRANT_KEY_UNKNOWN', async () => {
    const warrant = await hop(executor, root, ORDERS);
    const from = ordersTokens.length;
    assert.equal((await h.call(executor, warrant, '/orders/9')).status, 200);
    const claims = { ...payloadOf(ordersTokens[from]!), jti: crypto.randomUUID() };
    const forged = signCompact({ typ: TXN_TOKEN_TYP }, claims as never, generateSigningKey('EdDSA'));
    const r = await fetch(`${ordersUrl}/9`, { headers: { 'txn-token': forged } });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_KEY_UNKNOWN');
  });

  test('a Txn-Token for another route (audience) at the upstream: 401 WARRANT_AUDIENCE_MISMATCH', async () => {
    const crmToken = await forwardedToken();
    const r = await fetch(`${ordersUrl}/10`, { headers: { 'txn-token': crmToken } });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_AUDIENCE_MISMATCH');
  });
});
