/**
 * Builds real, signed delegation chains for tests and benchmarks: every link is minted from explicit claims
 * and signed by the issuer key, and `relink` recomputes `prev`/`root` from the actual token bytes.
 */

import type { Grant } from '../../src/core/grants/index.ts';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { KeySet } from '../../src/core/jose/key-set.ts';
import { type Actor, signToken, type WarrantClaims } from '../../src/core/tokens/index.ts';

export const ISSUER = 'https://sts.warrant.test';
export const PERSON = 'alice@example.org';
export const PERSON_ISSUER = 'https://idp.example.org';
export const agentId = (i: number): string => `spiffe://warrant.test/agent/a${i}`;

export interface Agent {
  readonly id: string;
  readonly key: SigningKey;
}

export interface ChainFixture {
  readonly issuerKey: SigningKey;
  readonly keys: KeySet;
  readonly agents: readonly Agent[];
  readonly claims: WarrantClaims[];
  readonly tokens: string[];
  readonly now: number;
}

let cachedIssuer: SigningKey | undefined;
const cachedAgents: SigningKey[] = [];

/** Issuer and agent keys are made once per process: key generation is not what the tests are about. */
export function fixtureKeys(agents: number): { issuerKey: SigningKey; agentKeys: SigningKey[] } {
  cachedIssuer ??= generateSigningKey('EdDSA');
  while (cachedAgents.length < agents)
    cachedAgents.push(generateSigningKey(cachedAgents.length % 2 ? 'ES256' : 'EdDSA'));
  return { issuerKey: cachedIssuer, agentKeys: cachedAgents.slice(0, agents) };
}

function actorOf(agents: readonly Agent[], upTo: number): Actor {
  let act: Actor | undefined;
  for (let i = 0; i <= upTo; i++)
    act = act === undefined ? { sub: agents[i]!.id } : { sub: agents[i]!.id, act };
  return act!;
}

export const ROOT_GRANTS: readonly Grant[] = [
  { action: 'crm:*', resource: 'crm/*', constraints: { max_rows: 1000, data_class: 'confidential' } },
  {
    action: 'payments:refund',
    resource: 'payments/*',
    constraints: { max_amount: 500, currency: ['EUR', 'USD'] },
  },
];

/** Grants of link i: each hop halves the maxima and keeps narrowing patterns. */
export function grantsAt(i: number): Grant[] {
  if (i === 0) return ROOT_GRANTS.map((g) => structuredClone(g) as Grant);
  return [
    {
      action: i > 1 ? 'crm:read' : 'crm:*',
      resource: 'crm/*',
      constraints: { max_rows: 1000 >> i, data_class: 'confidential' },
    },
    {
      action: 'payments:refund',
      resource: 'payments/*',
      constraints: { max_amount: 500 >> i, currency: ['EUR'] },
    },
  ];
}

/** A valid chain of `links` warrants (root included), all from one txn, one person, at time `now`. */
/** `maxDepth`: every link's depth budget (default 5; a longer chain needs more). */
export function buildChain(links: number, now = Math.floor(Date.now() / 1000), maxDepth = 5): ChainFixture {
  const { issuerKey, agentKeys } = fixtureKeys(links + 1);
  const agents = agentKeys.map((key, i) => ({ id: agentId(i), key }));
  const claims: WarrantClaims[] = [];
  for (let i = 0; i < links; i++) {
    claims.push({
      iss: ISSUER,
      sub: PERSON,
      sub_iss: PERSON_ISSUER,
      act: actorOf(agents, i),
      aud: agents[i + 1]!.id,
      scope: 'crm:read payments:refund',
      grants: grantsAt(i),
      txn: 'txn-7f3a',
      task: 'refund-dispute',
      depth: i,
      max_depth: maxDepth,
      may_delegate: { aud: ['spiffe://warrant.test/agent/*'] },
      cnf: { jkt: agents[i]!.key.kid },
      status: { idx: i, uri: `${ISSUER}/status/1` },
      iat: now - 100 + i,
      exp: now + 600 - i * 10,
      jti: `jti-${i}`,
    });
  }
  const fixture: ChainFixture = { issuerKey, keys: new KeySet([issuerKey]), agents, claims, tokens: [], now };
  relink(fixture);
  return fixture;
}

/** Re-signs links from `from` on, recomputing `prev` and `root` from the actual token bytes. */
export function relink(fixture: ChainFixture, from = 0, key: SigningKey = fixture.issuerKey): void {
  for (let i = from; i < fixture.claims.length; i++) {
    const c = fixture.claims[i]!;
    if (i > 0) {
      const linked = { ...c, prev: tokenHash(fixture.tokens[i - 1]!), root: tokenHash(fixture.tokens[0]!) };
      fixture.claims[i] = linked;
    }
    fixture.tokens[i] = signToken('warrant', fixture.claims[i]!, key);
  }
}

/** Signs claims without the issuer-side validation, for tests that need a token the validator would refuse. */
export { signCompact as signRaw } from '../../src/core/jose/jws.ts';
