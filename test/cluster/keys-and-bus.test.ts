/**
 * Key rotation and the bus between replicas, on a real 2 + 2 cluster (issue 14), its own PostgreSQL and
 * Redis:
 * - a signing key rotated at control plane A is published at B (bus notification + store) before any replica
 *   signs with it; after its activation a warrant A signs with it is accepted at B (introspected there) and
 *   at both gateways, and B signs with it too — no restart;
 * - a forged revocation written straight into Redis (unsigned, or signed by a key that is not the issuer's)
 *   changes nothing and is logged by both control planes;
 * - a revocation at A is refused at both gateways within the staleness bound.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { BUS_TYP, REVOCATION_CHANNEL } from '../../src/sts/revocation-bus.ts';
import { type ClusterWorld, startClusterWorld } from '../support/cluster-world.ts';

const DELAY_S = 3;
const BOUND_S = 3;
let world: ClusterWorld;
before(async () => {
  world = await startClusterWorld({
    config: {
      sts: { keyRotation: { activationDelaySeconds: DELAY_S } },
      gateway: { statusStalenessSeconds: BOUND_S },
    },
  });
});
after(async () => {
  await world?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kidOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
const jwksKids = async (base: string): Promise<string[]> =>
  ((await (await fetch(`${base}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

/** Runs `fn` with every request to the control planes' front sent to one replica instead. */
async function pinned<T>(replicaUrl: string, fn: () => Promise<T>): Promise<T> {
  const original = globalThis.fetch;
  const front = world.cluster.stsUrl;
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return original(url.startsWith(front) ? replicaUrl + url.slice(front.length) : input, init);
  }) as typeof fetch;
  try {
    return await fn();
  } finally {
    globalThis.fetch = original;
  }
}

async function statusAt(base: string, agent: Parameters<ClusterWorld['call']>[1], warrant: string) {
  const r = await world.call(base, agent, warrant);
  const body = (await r.json().catch(() => ({}))) as { code?: string };
  return { status: r.status, code: body.code };
}

test('a key rotated at A is published everywhere first, then signs; its tokens are accepted at B and both gateways', async () => {
  const [a, b] = [world.member('cp-1').url, world.member('cp-2').url];
  const agent = await world.agent('rotor');
  const oldKid = kidOf(await world.warrant(agent));
  const rotated = await world.admin('POST', '/keys/rotate', undefined, a);
  assert.equal(rotated.status, 200);
  const { kid, activeFrom } = (await rotated.json()) as { kid: string; activeFrom: number };
  assert.notEqual(kid, oldKid);
  // Published at B through the bus (or B's periodic re-read) — before the activation time.
  let seenAtB = false;
  while (!seenAtB && Date.now() / 1000 < activeFrom) {
    seenAtB = (await jwksKids(b)).includes(kid);
    if (!seenAtB) await sleep(50);
  }
  assert.ok(seenAtB, 'B publishes the new key before it signs');
  assert.ok((await jwksKids(a)).includes(kid));
  // Until the activation, A still signs with the old key.
  if (Date.now() / 1000 < activeFrom - 1)
    assert.equal(kidOf(await pinned(a, () => world.warrant(agent))), oldKid);
  while (Date.now() / 1000 < activeFrom + 1) await sleep(100);
  // After it: A signs with the new key; B accepts it (the exchange verifies the subject warrant) and signs
  // with it too; both gateways accept tokens signed with it.
  const fromA = await pinned(a, () => world.warrant(agent));
  assert.equal(kidOf(fromA), kid);
  const atB = await pinned(b, async () => {
    const r = await agent.post('/introspect', { token: fromA });
    return (await r.json()) as { active?: boolean; token_hash?: string };
  });
  assert.equal(atB.active, true, 'B verifies the token A signed with the new key (introspection at B)');
  assert.equal(kidOf(await pinned(b, () => world.warrant(agent))), kid, 'B signs with it too');
  for (const gw of ['gw-1', 'gw-2']) {
    const answer = await statusAt(world.member(gw).url, agent, fromA);
    assert.equal(answer.status, 200, `${gw}: ${answer.code}`);
  }
});

test('forged messages written straight into Redis change nothing and are logged; a real revocation reaches both gateways', async () => {
  const agent = await world.agent('target');
  const warrant = await world.warrant(agent);
  const hash = tokenHash(warrant);
  for (const gw of ['gw-1', 'gw-2'])
    assert.equal((await statusAt(world.member(gw).url, agent, warrant)).status, 200);
  const redis = new Redis(world.redis.url, { maxRetriesPerRequest: 1 });
  try {
    const forged = {
      v: 2,
      kind: 'revoked',
      from: 'mallory',
      seq: 1,
      sent: Date.now(),
      at: 1,
      reason: 'forged',
      revoked: [[hash, null, null]],
    };
    const before = world.lines.filter((l) => l.includes('bus: message between replicas ignored')).length;
    await redis.publish(REVOCATION_CHANNEL, JSON.stringify(forged)); // unsigned
    await redis.publish(REVOCATION_CHANNEL, signCompact({ typ: BUS_TYP }, forged, generateSigningKey())); // a stranger's key
    let logged = 0;
    for (let i = 0; i < 100 && logged < before + 4; i++) {
      await sleep(50);
      logged = world.lines.filter((l) => l.includes('bus: message between replicas ignored')).length;
    }
    assert.equal(logged - before, 4, 'each control plane logged both forged messages');
    const line = world.lines.findLast((l) => l.includes('bus: message between replicas ignored'))!;
    assert.match(line, /WARRANT_BUS_MESSAGE_REJECTED/);
    assert.doesNotMatch(line, /eyJ/, 'no token or message text in the log');
    for (const gw of ['gw-1', 'gw-2'])
      assert.equal((await statusAt(world.member(gw).url, agent, warrant)).status, 200, `${gw} still accepts`);
  } finally {
    await redis.quit();
  }
  // A genuine revocation at A: refused at both gateways within the bound (plus a poll's margin).
  const t0 = Date.now();
  const revoked = await world.admin('POST', '/revoke', { hash, reason: 'test' }, world.member('cp-1').url);
  assert.equal(revoked.status, 200);
  for (const gw of ['gw-1', 'gw-2']) {
    let answer = await statusAt(world.member(gw).url, agent, warrant);
    while (answer.status === 200 && Date.now() - t0 < BOUND_S * 1000 + 2000) {
      await sleep(100);
      answer = await statusAt(world.member(gw).url, agent, warrant);
    }
    assert.equal(answer.code, 'WARRANT_TOKEN_REVOKED', `${gw} refuses the revoked warrant`);
  }
});
