/**
 * What the server benchmarks set up at a Warrant STS before measuring (DESIGN §2): one trust domain, a
 * person's identity provider the STS trusts, agents registered over the admin API, and the person's ID
 * token that roots a delegation. The STS itself runs in a child (sts-server.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { AgentClient, type ExchangeRequest, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';

export const TRUST_DOMAIN = 'bench.warrant.test';
export const PERSON_ISSUER = 'https://idp.bench.warrant.test';
/** The audience the STS expects of the person's assertions. */
export const PERSON_AUDIENCE = 'warrant-sts';
/** The planner's client id at the person issuer: alice's ID token is addressed to it. */
export const PLANNER_CLIENT_ID = 'planner-app';
/** The tool the delegations end at. */
export const TOOL = 'https://tools.bench.warrant.test/crm';
/** Metadata of an agent down the chain: it may address the tools and the other agents. */
export const WIDE = {
  allowedAudiences: ['https://tools.bench.warrant.test/*', `spiffe://${TRUST_DOMAIN}/*`],
};

/** A fresh admin bearer token for one run's STS. */
export const newAdminToken = (): string => `bench-${randomBytes(16).toString('hex')}`;

/** The person's identity provider: its key, and the trusted-issuer entry the STS is configured with. */
export interface PersonIdp {
  readonly key: SigningKey;
  readonly trusted: { readonly issuer: string; readonly jwksFile: string; readonly audience: string };
}

/** A new ES256 identity provider whose JWKS is written to `dir` for the STS to read. */
export function personIdp(dir: string): PersonIdp {
  const key = generateSigningKey('ES256');
  const jwksFile = join(dir, 'idp-jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...key.jwk }] }));
  return { key, trusted: { issuer: PERSON_ISSUER, jwksFile, audience: PERSON_AUDIENCE } };
}

/** alice's ID token, addressed to the planner: valid 5 minutes, a fresh nonce. */
function personIdToken(idp: PersonIdp): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: PERSON_ISSUER,
    sub: 'alice',
    aud: PLANNER_CLIENT_ID,
    iat: now,
    exp: now + 300,
    nonce: randomUUID(),
  };
  return signCompact({ typ: 'JWT' }, claims, idp.key);
}

/** Where an STS's admin API is, and its bearer token. */
export interface StsAdmin {
  readonly url: string;
  readonly adminToken: string;
}

/** Registers agent `name` (owner alice, tier planner, a fresh EdDSA key): the SDK client acting as it. */
export async function registerAgent(
  sts: StsAdmin,
  name: string,
  metadata: Record<string, unknown> = {},
): Promise<AgentClient> {
  const key = generateSigningKey('EdDSA');
  const response = await fetch(`${sts.url}/admin/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sts.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      owner: 'alice@example.org',
      tier: 'planner',
      publicJwk: key.jwk,
      ...metadata,
    }),
  });
  if (response.status !== 201)
    throw new Error(`agent registration: ${response.status} ${await response.text()}`);
  return new AgentClient({ issuer: sts.url, agentId: `spiffe://${TRUST_DOMAIN}/agent/${name}`, key });
}

/**
 * The start of every benchmark chain: the planner (to whose client id alice's ID token is addressed) and
 * the executor (`WIDE`) registered, and the root warrant person → planner → executor issued with `grants`.
 */
export async function rootDelegation(
  sts: StsAdmin,
  idp: PersonIdp,
  request: Pick<ExchangeRequest, 'grants' | 'task'>,
): Promise<{ planner: AgentClient; executor: AgentClient; root: string }> {
  const planner = await registerAgent(sts, 'planner', { clientIds: { [PERSON_ISSUER]: PLANNER_CLIENT_ID } });
  const executor = await registerAgent(sts, 'executor', WIDE);
  const { access_token: root } = await planner.exchange({
    subjectToken: personIdToken(idp),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: executor.agentId,
    ...request,
  });
  return { planner, executor, root };
}
