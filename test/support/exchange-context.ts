/**
 * Contexts for unit tests of the exchange checks (`src/sts/grants/exchange/`): a context holding only what a
 * test sets, agents as store records, and a verified parent warrant built from claims (its signature is not
 * what those checks are about; `verifyParent`'s tests sign real ones).
 */
import type { VerifiedToken, WarrantClaims } from '../../src/core/tokens/index.ts';
import type { AgentRecord } from '../../src/store/ports.ts';
import type { ExchangeContext } from '../../src/sts/grants/exchange/context.ts';

export const STS = 'https://sts.warrant.test';
export const NOW = 1_900_000_000;
export const agentIdOf = (name: string): string => `spiffe://warrant.test/agent/${name}`;

/** An active agent record (planner tier) allowed to obtain warrants for every agent of the trust domain. */
export function agentRecord(name: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id: agentIdOf(name),
    name,
    owner: 'alice@example.org',
    tier: 'planner',
    trustLevel: 2,
    allowedAudiences: ['spiffe://warrant.test/agent/*', 'https://tool.example/*'],
    maxDepth: 4,
    status: 'active',
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: `x-${name}` },
    jkt: `jkt-${name}`,
    previousKeys: [],
    clientIds: {},
    createdAt: NOW - 1000,
    updatedAt: NOW - 1000,
    ...overrides,
  };
}

/** A root warrant's claims (alice → planner, for the executor), `overrides` on top. */
export function warrantClaims(overrides: Partial<WarrantClaims> = {}): WarrantClaims {
  return {
    iss: STS,
    sub: 'alice@example.org',
    sub_iss: 'https://idp.example.org',
    act: { sub: agentIdOf('planner') },
    aud: agentIdOf('executor'),
    scope: 'crm:read crm:write',
    grants: [
      { action: 'crm:read', resource: 'crm/*', constraints: { max_rows: 100 } },
      { action: 'crm:write', resource: 'crm/leads/*' },
    ],
    txn: 'txn-1',
    task: 'quarterly report',
    depth: 0,
    max_depth: 3,
    may_delegate: { aud: ['spiffe://warrant.test/agent/*'] },
    cnf: { jkt: 'jkt-planner' },
    status: { idx: 0, uri: `${STS}/status/1` },
    iat: NOW - 60,
    exp: NOW + 600,
    jti: 'jti-parent',
    ...overrides,
  };
}

/** A parent as `verifyParent` leaves it: verified, with its hash. */
export function verifiedParent(overrides: Partial<WarrantClaims> = {}): VerifiedToken<'warrant'> {
  return {
    kind: 'warrant',
    compact: 'not.a.token',
    hash: 'hash-parent',
    kid: 'kid-sts',
    claims: warrantClaims(overrides),
  };
}

/** A context holding `fields` and form parameters `params`; everything else is absent, as before its check. */
export function contextWith(
  fields: Partial<ExchangeContext> = {},
  params: Record<string, string> = {},
): ExchangeContext {
  return { params: new Map(Object.entries(params)), ...fields } as ExchangeContext;
}
