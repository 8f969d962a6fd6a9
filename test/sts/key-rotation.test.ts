/**
 * STS signing-key rotation: `POST /admin/keys/rotate` makes a new key current and keeps the old one
 * published for the overlap, so warrants signed before the rotation keep verifying and can still be
 * exchanged; the key ring survives a restart on the same store.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/load-config.ts';
import type { WarrantConfig } from '../../src/config/types.ts';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { KeySet } from '../../src/core/jose/key-set.ts';
import { verifyToken } from '../../src/core/tokens/index.ts';
import { type ControlPlane, startControlPlane } from '../../src/runtime/control-plane.ts';
import { AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/ports.ts';
import {
  ADMIN_TOKEN,
  agentIdOf,
  clientIdOf,
  PERSON_AUDIENCE,
  PERSON_ISSUER,
  quietLogger,
  TRUST_DOMAIN,
} from '../support/sts-harness.ts';

const OVERLAP = 3600;

interface Jwks {
  keys: { kid: string }[];
}

const kidOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;

describe('STS signing-key rotation', () => {
  let dir: string;
  let dbPath: string;
  let idpKey: SigningKey;
  let jwksFile: string;
  let store: Store;
  let plane: ControlPlane;
  let planner: AgentClient;
  let b: AgentClient;
  let c: AgentClient;

  const config = (port: number): WarrantConfig =>
    loadConfig(undefined, {
      trustDomain: TRUST_DOMAIN,
      dataDir: join(dir, 'data'),
      sts: {
        listen: { host: '127.0.0.1', port },
        keyRotation: { overlapSeconds: OVERLAP },
        trustedIssuers: [{ issuer: PERSON_ISSUER, jwksFile, audience: PERSON_AUDIENCE, kind: 'oidc' }],
      },
    });
  const start = async (port: number) => {
    store = await openStore({ kind: 'sqlite', path: dbPath });
    plane = await startControlPlane(config(port), { adminToken: ADMIN_TOKEN, store, logger: quietLogger() });
  };
  const stop = async () => {
    await plane.close();
    await store.close();
  };
  const admin = (method: string, path: string) =>
    fetch(`${plane.url}/admin${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const jwks = async (): Promise<Jwks> => {
    const response = await fetch(`${plane.url}/jwks`);
    assert.equal(response.status, 200);
    return (await response.json()) as Jwks;
  };
  const idToken = (sub: string) => {
    const now = Math.floor(Date.now() / 1000);
    return signCompact(
      { typ: 'JWT' },
      // Addressed to the planner (its client id at the person issuer), the agent that roots the chains.
      { iss: PERSON_ISSUER, sub, aud: clientIdOf('planner'), iat: now, exp: now + 300, nonce: randomUUID() },
      idpKey,
    );
  };
  const agent = async (name: string): Promise<AgentClient> => {
    const key = generateSigningKey();
    const response = await fetch(`${plane.url}/admin/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        owner: 'alice@example.org',
        tier: 'planner',
        publicJwk: key.jwk,
        clientIds: { [PERSON_ISSUER]: clientIdOf(name) },
      }),
    });
    assert.equal(response.status, 201);
    return new AgentClient({ issuer: plane.url, agentId: agentIdOf(name), key });
  };
  const root = async () =>
    (
      await planner.exchange({
        subjectToken: idToken('alice'),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: b.agentId,
        grants: [{ action: 'crm:read', resource: 'crm/*' }],
      })
    ).access_token;
  const hop = async (parent: string) =>
    (await b.exchange({ subjectToken: parent, subjectTokenType: TOKEN_TYPES.warrant, audience: c.agentId }))
      .access_token;
  const verifies = async (token: string) =>
    verifyToken('warrant', token, { keys: KeySet.fromJwks(await jwks()).resolve, issuer: plane.url });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warrant-keys-'));
    dbPath = join(dir, 'warrant.db');
    idpKey = generateSigningKey('ES256');
    jwksFile = join(dir, 'idp-jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...idpKey.jwk }] }));
    await start(0);
    planner = await agent('planner');
    b = await agent('agent-b');
    c = await agent('agent-c');
  });
  after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let oldKid: string;
  let newKid: string;
  let signedBefore: string;

  test('rotation: JWKS has both keys, old warrants verify and exchange, new tokens carry the new kid', async () => {
    signedBefore = await root();
    oldKid = kidOf(signedBefore);
    assert.deepEqual(
      (await jwks()).keys.map((k) => k.kid),
      [oldKid],
    );

    const response = await admin('POST', '/keys/rotate');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { kid: string; jwks: Jwks };
    newKid = body.kid;
    assert.notEqual(newKid, oldKid);
    assert.deepEqual(new Set(body.jwks.keys.map((k) => k.kid)), new Set([oldKid, newKid]));

    const published = await jwks();
    assert.equal(published.keys.length, 2);
    assert.deepEqual(new Set(published.keys.map((k) => k.kid)), new Set([oldKid, newKid]));

    // A warrant signed before the rotation still verifies against the published JWKS and still exchanges.
    assert.equal((await verifies(signedBefore)).kid, oldKid);
    const child = await hop(signedBefore);
    assert.equal(kidOf(child), newKid, 'the child is signed with the new key');
    assert.equal((await verifies(child)).kid, newKid);

    const fresh = await root();
    assert.equal(kidOf(fresh), newKid);
    const identity = (await planner.identity()).access_token;
    assert.equal(kidOf(identity), newKid);
    const status = await (await fetch(`${plane.url}/status/1`)).text();
    assert.equal(kidOf(status), newKid, 'the status list is signed with the new key');
  });

  test('after a restart on the same store, the JWKS still has both keys within the overlap', async () => {
    const port = Number(new URL(plane.url).port);
    await stop();
    // Let the client side see the old server's closed keep-alive sockets before reusing the origin.
    await sleep(100);
    await start(port); // same port, so the same issuer URL
    const published = await jwks();
    assert.deepEqual(new Set(published.keys.map((k) => k.kid)), new Set([oldKid, newKid]));
    assert.equal(plane.sts.keys.current.kid, newKid, 'the rotated key stays current');
    assert.equal(plane.sts.keys.previous.length, 1);
    const until = plane.sts.keys.previous[0]!.until;
    const now = Math.floor(Date.now() / 1000);
    assert.ok(until > now && until <= now + OVERLAP, 'the old key retires at the end of the overlap');

    // The pre-rotation warrant still verifies and exchanges after the restart; new tokens use the new key.
    assert.equal((await verifies(signedBefore)).kid, oldKid);
    assert.equal(kidOf(await hop(signedBefore)), newKid);
    assert.equal(kidOf(await root()), newKid);
  });

  test('a second rotation keeps every key still within its overlap', async () => {
    const response = await admin('POST', '/keys/rotate');
    assert.equal(response.status, 200);
    const third = ((await response.json()) as { kid: string }).kid;
    assert.deepEqual(new Set((await jwks()).keys.map((k) => k.kid)), new Set([oldKid, newKid, third]));
    assert.equal(kidOf(await hop(signedBefore)), third);
  });
});
