/**
 * STS rejections, delegation rules (DESIGN §3): every exchange the chain rules forbid is a standard OAuth
 * error with the right status and a stable Warrant code, leaks nothing, and issues nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { tokenHash } from '../../src/core/jose/hash.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { signToken, type WarrantClaims } from '../../src/core/tokens/index.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import {
  agentIdOf,
  type Harness,
  PERSON_AUDIENCE,
  PERSON_ISSUER,
  startHarness,
} from '../support/sts-harness.ts';
import {
  claimsOf,
  exchangeParams,
  expectRejection,
  nowSeconds,
  raw,
  sleep,
  TOKEN_TYPES,
} from './rejections-support.ts';

const TOOLS = 'https://tools.warrant.test';
const WIDE = { allowedAudiences: [`${TOOLS}/*`, 'spiffe://warrant.test/*'] };
const CRM_READ = {
  action: 'crm:read',
  resource: 'crm/*',
  constraints: { max_rows: 100, data_class: 'confidential' },
};

let h: Harness;
let planner: AgentClient; // the first agent: the person delegates to it
let executor: AgentClient; // the planner's recipient
let third: AgentClient; // an agent the chain never named

before(async () => {
  h = await startHarness();
  planner = await h.agent('planner');
  executor = await h.agent('executor', WIDE);
  third = await h.agent('third', WIDE);
});

after(() => h.close());

/** A root warrant: alice → `actor`, addressed to `recipient`. */
async function rootWarrant(
  actor: AgentClient,
  recipient: string,
  options: { delegateTo?: string[]; requestedLifetime?: number; grants?: unknown[] } = {},
): Promise<string> {
  const result = await actor.exchange({
    subjectToken: h.idToken('alice', actor),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: recipient,
    grants: (options.grants ?? [CRM_READ]) as never,
    task: 'report',
    ...(options.delegateTo ? { delegateTo: options.delegateTo } : {}),
    ...(options.requestedLifetime ? { requestedLifetime: options.requestedLifetime } : {}),
  });
  return result.access_token;
}

/** A hop: `caller` exchanges `parent` (addressed to it) for `audience`. */
async function hopWarrant(
  caller: AgentClient,
  parent: string,
  audience: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const result = await caller.exchange({
    subjectToken: parent,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience,
    extra,
  });
  return result.access_token;
}

/** `client` exchanges `subject` (a warrant) with extra parameters; must be rejected as `expected`. */
function rejectHop(
  client: AgentClient,
  subject: string,
  audience: string,
  expected: { status: number; error: string; code: string },
  extra: Record<string, string> = {},
) {
  return expectRejection(
    h,
    () => raw(h, { client, params: exchangeParams(subject, TOKEN_TYPES.warrant, audience, extra) }),
    expected,
  );
}

const details = (grants: unknown[]) =>
  JSON.stringify(grants.map((g) => ({ type: 'warrant_grant', ...(g as object) })));

test('a caller that is not the audience of the subject warrant is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  await rejectHop(third, root, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_CALLER_NOT_AUDIENCE',
  });
});

test('a warrant used by its issuer-actor instead of its audience is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  assert.equal(claimsOf(root)['aud'], agentIdOf('executor'));
  await rejectHop(planner, root, agentIdOf('third'), {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_CALLER_NOT_AUDIENCE',
  });
});

test('an identity token used as subject_token is refused', async () => {
  const identity = (await executor.identity()).access_token;
  // Presented as a warrant: wrong typ.
  await rejectHop(executor, identity, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_TOKEN_TYPE_MISMATCH',
  });
  // Presented as a person's ID token: the STS is not a trusted person issuer.
  await expectRejection(
    h,
    () =>
      raw(h, {
        client: executor,
        params: exchangeParams(identity, TOKEN_TYPES.idToken, agentIdOf('third'), {
          authorization_details: details([CRM_READ]),
        }),
      }),
    { status: 400, error: 'invalid_grant', code: 'WARRANT_ISSUER_UNTRUSTED' },
  );
});

test('grants wider than the parent grants are refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const notHeld = { status: 400, error: 'invalid_scope', code: 'WARRANT_GRANT_NOT_HELD' };
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, { scope: 'crm:write' });
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, { scope: 'crm:read crm:delete' });
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, {
    authorization_details: details([{ ...CRM_READ, action: 'crm:*' }]),
  });
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, {
    authorization_details: details([{ ...CRM_READ, resource: '*' }]),
  });
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, {
    authorization_details: details([CRM_READ, { action: 'mail:send', resource: 'mail/*' }]),
  });
});

test('a constraint dropped from the parent grant is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const notHeld = { status: 400, error: 'invalid_scope', code: 'WARRANT_GRANT_NOT_HELD' };
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, {
    authorization_details: details([
      { action: 'crm:read', resource: 'crm/*', constraints: { data_class: 'confidential' } },
    ]),
  });
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, {
    authorization_details: details([{ action: 'crm:read', resource: 'crm/*' }]),
  });
});

test('a constraint widened beyond the parent grant is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const notHeld = { status: 400, error: 'invalid_scope', code: 'WARRANT_GRANT_NOT_HELD' };
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, {
    authorization_details: details([
      { ...CRM_READ, constraints: { max_rows: 101, data_class: 'confidential' } },
    ]),
  });
  await rejectHop(executor, root, `${TOOLS}/crm`, notHeld, {
    authorization_details: details([
      { ...CRM_READ, constraints: { max_rows: 100, data_class: 'restricted' } },
    ]),
  });
});

test('a lifetime longer than the parent lifetime is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const remaining = (claimsOf(root)['exp'] as number) - nowSeconds();
  await rejectHop(
    executor,
    root,
    `${TOOLS}/crm`,
    { status: 400, error: 'invalid_grant', code: 'WARRANT_CHAIN_LIFETIME_EXTENDED' },
    { requested_lifetime: String(remaining + 60) },
  );
});

test('an exchange beyond the depth budget is refused', async () => {
  // The first agent's budget is one hop below the root.
  const shallow = await h.agent('shallow', { maxDepth: 1 });
  const root = await rootWarrant(shallow, agentIdOf('executor'));
  assert.equal(claimsOf(root)['max_depth'], 1);
  const hop = await hopWarrant(executor, root, agentIdOf('third'));
  assert.equal(claimsOf(hop)['depth'], 1);
  await rejectHop(third, hop, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_CHAIN_DEPTH_EXCEEDED',
  });
});

test('an expired ancestor is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'), { requestedLifetime: 2 });
  const hop = await hopWarrant(executor, root, agentIdOf('third'));
  const exp = claimsOf(hop)['exp'] as number;
  assert.ok(exp <= (claimsOf(root)['exp'] as number));
  await sleep(Math.max(0, (exp + 1) * 1000 - Date.now()));
  await rejectHop(third, hop, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_TOKEN_EXPIRED',
  });
  // The expired root itself cannot be exchanged either.
  await rejectHop(executor, root, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_TOKEN_EXPIRED',
  });
});

test('a revoked ancestor is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const hop = await hopWarrant(executor, root, agentIdOf('third'));
  const revoke = await h.admin('POST', '/revoke', { hash: tokenHash(root), reason: 'test' });
  assert.equal(revoke.status, 200);
  assert.equal(((await revoke.json()) as { revoked: number }).revoked, 2);
  await rejectHop(third, hop, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_PARENT_REVOKED',
  });
  await rejectHop(executor, root, agentIdOf('third'), {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_PARENT_REVOKED',
  });
});

test('a warrant of a revoked transaction is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const txn = claimsOf(root)['txn'] as string;
  const hop = await hopWarrant(executor, root, agentIdOf('third'));
  const revoke = await h.admin('POST', '/revoke', { txn });
  assert.equal(((await revoke.json()) as { revoked: number }).revoked, 2);
  const before = await h.plane.store.tokens.listByTxn(txn);
  await rejectHop(third, hop, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_PARENT_REVOKED',
  });
  assert.equal((await h.plane.store.tokens.listByTxn(txn)).length, before.length);
});

test('a foreign-issuer warrant (signed by a key not in the STS key set) is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const claims = claimsOf(root) as unknown as WarrantClaims;
  const attacker = generateSigningKey();
  // Same claims, same issuer name, another key: the kid is not in the STS key set.
  const forged = signToken('warrant', { ...claims, jti: randomUUID() }, attacker);
  await rejectHop(executor, forged, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_KEY_UNKNOWN',
  });
  // The forged key claiming the STS's own kid does not verify either.
  const stsKid = h.plane.sts.keys.current.kid;
  const header = { typ: 'warrant+jwt', kid: stsKid };
  const spoofed = signCompact(header, { ...claims, jti: randomUUID() }, { ...attacker, kid: stsKid });
  await rejectHop(executor, spoofed, `${TOOLS}/crm`, {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_JWS_SIGNATURE_INVALID',
  });
});

test('a warrant issued by another STS is refused', async () => {
  const other = await startHarness();
  try {
    const otherPlanner = await other.agent('planner');
    await other.agent('executor', WIDE);
    const foreign = (
      await otherPlanner.exchange({
        subjectToken: other.idToken('alice', otherPlanner),
        subjectTokenType: TOKEN_TYPES.idToken,
        audience: agentIdOf('executor'),
        grants: [CRM_READ],
      })
    ).access_token;
    assert.equal(claimsOf(foreign)['aud'], agentIdOf('executor'));
    await rejectHop(executor, foreign, `${TOOLS}/crm`, {
      status: 400,
      error: 'invalid_grant',
      code: 'WARRANT_KEY_UNKNOWN',
    });
  } finally {
    await other.close();
  }
});

test('an audience the parent may not delegate to is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'), { delegateTo: [`${TOOLS}/crm`] });
  const forbidden = { status: 400, error: 'invalid_target', code: 'WARRANT_CHAIN_DELEGATION_FORBIDDEN' };
  await rejectHop(executor, root, `${TOOLS}/mail`, forbidden);
  await rejectHop(executor, root, agentIdOf('third'), forbidden);
  // A warrant addressed to a resource may not be delegated at all (not even by an agent of that name).
  const leaf = await hopWarrant(executor, root, `${TOOLS}/crm`);
  assert.equal(claimsOf(leaf)['may_delegate'], false);
});

test('an audience outside the caller allowed audiences, or an unknown agent, is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  // The planner may only obtain warrants for agents of the trust domain.
  await expectRejection(
    h,
    () =>
      raw(h, {
        client: planner,
        params: exchangeParams(h.idToken('alice', planner), TOKEN_TYPES.idToken, `${TOOLS}/crm`, {
          authorization_details: details([CRM_READ]),
        }),
      }),
    { status: 400, error: 'invalid_target', code: 'WARRANT_AUDIENCE_NOT_ALLOWED' },
  );
  await rejectHop(executor, root, agentIdOf('nobody'), {
    status: 400,
    error: 'invalid_target',
    code: 'WARRANT_AGENT_UNKNOWN',
  });
  // Not one recipient: a list, a pattern, control characters (each within the executor's patterns).
  for (const audience of [
    `${TOOLS}/crm ${TOOLS}/mail`,
    `${TOOLS}/*`,
    `${TOOLS}/crm\u0000`,
    `${TOOLS}/crm\u007f`,
  ]) {
    await rejectHop(executor, root, audience, {
      status: 400,
      error: 'invalid_target',
      code: 'WARRANT_AUDIENCE_NOT_ALLOWED',
    });
  }
  await rejectHop(
    executor,
    root,
    `${TOOLS}/crm`,
    { status: 400, error: 'invalid_target', code: 'WARRANT_AUDIENCE_NOT_ALLOWED' },
    { resource: `${TOOLS}/crm` },
  );
});

test('delegate_to wider than the parent allows is refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'), {
    delegateTo: [`${TOOLS}/crm`, agentIdOf('third')],
  });
  const forbidden = { status: 400, error: 'invalid_target', code: 'WARRANT_CHAIN_DELEGATION_FORBIDDEN' };
  await rejectHop(executor, root, agentIdOf('third'), forbidden, { delegate_to: `${TOOLS}/*` });
  await rejectHop(executor, root, agentIdOf('third'), forbidden, {
    delegate_to: `${TOOLS}/crm ${TOOLS}/mail`,
  });
});

test('malformed authorization_details are refused', async () => {
  const root = await rootWarrant(planner, agentIdOf('executor'));
  const malformed = { status: 400, error: 'invalid_request', code: 'WARRANT_REQUEST_MALFORMED' };
  const invalid = { status: 400, error: 'invalid_request', code: 'WARRANT_GRANT_INVALID' };
  const cases: [string, typeof malformed][] = [
    ['{not json', malformed],
    ['[]', malformed],
    ['{"type":"warrant_grant","action":"crm:read","resource":"crm/*"}', malformed],
    ['[{"action":"crm:read","resource":"crm/*"}]', malformed],
    ['[{"type":"other","action":"crm:read","resource":"crm/*"}]', malformed],
    ['[null]', malformed],
    ['[{"type":"warrant_grant","action":"crm:read"}]', invalid],
    [
      '[{"type":"warrant_grant","action":"crm:read","resource":"crm/*","constraints":{"max_rows":-1}}]',
      invalid,
    ],
    [
      '[{"type":"warrant_grant","action":"crm:read","resource":"crm/*","constraints":{"data_class":"secret"}}]',
      invalid,
    ],
  ];
  for (const [value, expected] of cases) {
    await rejectHop(executor, root, `${TOOLS}/crm`, expected, { authorization_details: value });
  }
  // The root exchange parses them the same way.
  await expectRejection(
    h,
    () =>
      raw(h, {
        client: planner,
        params: exchangeParams(h.idToken('alice', planner), TOKEN_TYPES.idToken, agentIdOf('executor'), {
          authorization_details: '{not json',
        }),
      }),
    malformed,
  );
});

test('a disabled agent gets nothing', async () => {
  const doomed = await h.agent('doomed', WIDE);
  const root = await rootWarrant(planner, agentIdOf('doomed'));
  const disable = await h.admin('POST', '/agents/doomed/disable');
  assert.equal(disable.status, 200);
  const disabled = { status: 401, error: 'invalid_client', code: 'WARRANT_AGENT_DISABLED' };
  await rejectHop(doomed, root, `${TOOLS}/crm`, disabled);
  await expectRejection(
    h,
    () => raw(h, { client: doomed, params: { grant_type: 'client_credentials' } }),
    disabled,
  );
  // Nor may anyone delegate to it.
  await expectRejection(
    h,
    () =>
      raw(h, {
        client: planner,
        params: exchangeParams(h.idToken('alice', planner), TOKEN_TYPES.idToken, agentIdOf('doomed'), {
          authorization_details: details([CRM_READ]),
        }),
      }),
    { status: 400, error: 'invalid_target', code: 'WARRANT_AGENT_DISABLED' },
  );
});

test('a disabled agent cannot use an identity token it obtained before', async () => {
  const later = await h.agent('later', WIDE);
  const identity = (await later.identity()).access_token;
  const root = await rootWarrant(planner, agentIdOf('later'));
  assert.equal((await h.admin('POST', '/agents/later/disable')).status, 200);
  const params = exchangeParams(root, TOKEN_TYPES.warrant, `${TOOLS}/crm`, {
    actor_token: identity,
    actor_token_type: TOKEN_TYPES.identity,
  });
  await expectRejection(h, () => raw(h, { client: later, assertion: null, params }), {
    status: 401,
    error: 'invalid_client',
    code: 'WARRANT_CLIENT_AUTH_FAILED',
  });
});

test('a person token from an untrusted issuer is refused', async () => {
  const evil = generateSigningKey('ES256');
  const now = nowSeconds();
  const person = { sub: 'alice', aud: PERSON_AUDIENCE, iat: now, exp: now + 300 };
  const untrusted = signCompact({ typ: 'JWT' }, { ...person, iss: 'https://idp.evil.test' }, evil);
  const params = (token: string) =>
    exchangeParams(token, TOKEN_TYPES.idToken, agentIdOf('executor'), {
      authorization_details: details([CRM_READ]),
    });
  await expectRejection(h, () => raw(h, { client: planner, params: params(untrusted) }), {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_ISSUER_UNTRUSTED',
  });
  // The trusted issuer's name, another key.
  const impostor = signCompact({ typ: 'JWT' }, { ...person, iss: PERSON_ISSUER }, evil);
  await expectRejection(h, () => raw(h, { client: planner, params: params(impostor) }), {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_SUBJECT_TOKEN_INVALID',
  });
  await expectRejection(h, () => raw(h, { client: planner, params: params('not-a-jwt') }), {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_SUBJECT_TOKEN_INVALID',
  });
});

test('a person token for the wrong audience, or expired, is refused', async () => {
  const params = (token: string) =>
    exchangeParams(token, TOKEN_TYPES.idToken, agentIdOf('executor'), {
      authorization_details: details([CRM_READ]),
    });
  const invalid = { status: 400, error: 'invalid_grant', code: 'WARRANT_SUBJECT_TOKEN_INVALID' };
  const wrongAudience = h.idToken('alice', planner, { aud: 'some-other-app' });
  const { body } = await expectRejection(
    h,
    () => raw(h, { client: planner, params: params(wrongAudience) }),
    { status: 400, error: 'invalid_grant', code: 'WARRANT_ASSERTION_NOT_FOR_AGENT' },
  );
  assert.match(body['error_description']!, /not addressed/);
  const now = nowSeconds();
  const expired = h.idToken('alice', planner, { iat: now - 900, exp: now - 600 });
  await expectRejection(h, () => raw(h, { client: planner, params: params(expired) }), invalid);
});
