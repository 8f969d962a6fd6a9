/**
 * STS rejections, protocol level: form bodies, client authentication (RFC 7523) and proof of possession
 * (RFC 9449). Each is a standard OAuth error with the right status and a stable Warrant code, leaks
 * nothing, and issues nothing.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { createDpopProof } from '../../src/core/dpop/index.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { agentIdOf, type Harness, startHarness } from '../support/sts-harness.ts';
import {
  ASSERTION_TYPE,
  clientAssertion,
  dpopProof,
  exchangeParams,
  expectRejection,
  nowSeconds,
  raw,
  TOKEN_EXCHANGE,
  TOKEN_TYPES,
} from './rejections-support.ts';

const GRANTS = JSON.stringify([{ type: 'warrant_grant', action: 'crm:read', resource: 'crm/*' }]);
const MALFORMED = { status: 400, error: 'invalid_request', code: 'WARRANT_REQUEST_MALFORMED' };
const CLIENT_AUTH = { status: 401, error: 'invalid_client', code: 'WARRANT_CLIENT_AUTH_FAILED' };
const CLIENT_CREDENTIALS = { grant_type: 'client_credentials' };

let h: Harness;
let planner: AgentClient;
let executor: AgentClient;

before(async () => {
  h = await startHarness();
  planner = await h.agent('planner');
  executor = await h.agent('executor');
});

after(() => h.close());

/** A well-formed root exchange by the planner, for the executor. */
const rootParams = () =>
  exchangeParams(h.idToken('alice', 'planner'), TOKEN_TYPES.idToken, agentIdOf('executor'), {
    authorization_details: GRANTS,
  });

/** Posts a raw body to /token with the given DPoP headers (one header line each). */
function postWithHeaders(body: string, dpop: string[]): Promise<Response> {
  const url = new URL(`${h.url}/token`);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
      });
    });
    req.on('error', reject);
    req.setHeader('content-type', 'application/x-www-form-urlencoded');
    req.setHeader('dpop', dpop);
    req.end(body);
  });
}

test('an unsupported grant_type is refused', async () => {
  for (const grantType of [
    'password',
    'authorization_code',
    'urn:ietf:params:oauth:grant-type:device_code',
  ]) {
    await expectRejection(h, () => raw(h, { client: planner, params: { grant_type: grantType } }), {
      status: 400,
      error: 'unsupported_grant_type',
      code: 'WARRANT_GRANT_TYPE_UNSUPPORTED',
    });
  }
  await expectRejection(h, () => raw(h, { client: planner, params: { audience: 'x' } }), MALFORMED);
});

test('a body of the wrong content type is refused', async () => {
  const form = new URLSearchParams(CLIENT_CREDENTIALS).toString();
  for (const contentType of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', null]) {
    await expectRejection(h, () => raw(h, { body: form, contentType }), MALFORMED);
  }
  await expectRejection(
    h,
    () => raw(h, { body: JSON.stringify(CLIENT_CREDENTIALS), contentType: 'application/json' }),
    MALFORMED,
  );
});

test('a malformed form body is refused', async () => {
  const bodies: (string | Buffer)[] = [
    'grant_type=client_credentials&audience=%zz',
    'grant_type=client_credentials&%E0%A4%A=1',
    Buffer.from([0x67, 0x3d, 0xff, 0xfe]),
    'grant_type=client_credentials&bad%20name=1',
    'grant_type=client_credentials&na<me>=1',
    `grant_type=client_credentials&${'n'.repeat(65)}=1`,
  ];
  for (const body of bodies) await expectRejection(h, () => raw(h, { body, dpop: null }), MALFORMED);
});

test('an oversized parameter or body is refused', async () => {
  await expectRejection(
    h,
    () =>
      raw(h, {
        client: planner,
        params: { ...rootParams(), task: 'x'.repeat(16 * 1024 + 1) },
      }),
    MALFORMED,
  );
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: { ...rootParams(), subject_token: 'a'.repeat(20_000) } }),
    MALFORMED,
  );
  const big = `grant_type=client_credentials${'&x=1'.repeat(20_000)}`;
  await expectRejection(h, () => raw(h, { body: big }), { ...MALFORMED, status: 413 });
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: rootParams(), dpop: `${'a'.repeat(5000)}.b.c` }),
    { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_INVALID' },
  );
});

test('a duplicate parameter is refused', async () => {
  const base = new URLSearchParams(rootParams());
  base.set('client_assertion_type', ASSERTION_TYPE);
  base.set('client_assertion', planner.clientAssertion());
  const cases = [
    'grant_type=client_credentials&grant_type=client_credentials',
    'grant_type=client_credentials&grant_type=password',
    // An empty occurrence still counts (RFC 6749 §3.2: no parameter more than once).
    'grant_type=&grant_type=client_credentials',
    `${base}&subject_token=${encodeURIComponent(h.idToken('bob', 'planner'))}`,
    `${base}&audience=${encodeURIComponent(agentIdOf('planner'))}`,
    `${base}&client_assertion=${planner.clientAssertion()}`,
    `${base}&authorization_details=${encodeURIComponent(GRANTS)}`,
  ];
  for (const body of cases) {
    await expectRejection(h, () => raw(h, { body, dpop: dpopProof(h, planner.key) }), MALFORMED);
  }
  // A repeated DPoP header.
  const body = new URLSearchParams(rootParams());
  body.set('client_assertion_type', ASSERTION_TYPE);
  body.set('client_assertion', planner.clientAssertion());
  await expectRejection(
    h,
    () => postWithHeaders(body.toString(), [dpopProof(h, planner.key), dpopProof(h, planner.key)]),
    MALFORMED,
  );
});

test('a request without client authentication is refused', async () => {
  await expectRejection(h, () => raw(h, { params: CLIENT_CREDENTIALS }), CLIENT_AUTH);
  await expectRejection(
    h,
    () => raw(h, { client: planner, assertion: null, params: rootParams() }),
    CLIENT_AUTH,
  );
  const wrongType = { ...CLIENT_CREDENTIALS, client_assertion_type: 'urn:example:other' };
  await expectRejection(
    h,
    () =>
      raw(h, {
        params: { ...wrongType, client_assertion: planner.clientAssertion() },
        dpop: dpopProof(h, planner.key),
      }),
    CLIENT_AUTH,
  );
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion: 'a.b' }),
    CLIENT_AUTH,
  );
});

test('a client assertion for another audience is refused', async () => {
  for (const aud of ['https://other-sts.example', `${h.url}/jwks`, [`${h.url}/other`], 42]) {
    const assertion = clientAssertion(h, planner.agentId, planner.key, { aud });
    await expectRejection(
      h,
      () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion }),
      CLIENT_AUTH,
    );
    await expectRejection(
      h,
      () =>
        raw(h, {
          client: planner,
          params: rootParams(),
          assertion: clientAssertion(h, planner.agentId, planner.key, { aud }),
        }),
      CLIENT_AUTH,
    );
  }
});

test('an expired client assertion is refused', async () => {
  const now = nowSeconds();
  const cases = [
    { iat: now - 600, exp: now - 300 },
    { exp: 'soon' },
    { exp: undefined },
    // Lives too long, or is not valid yet.
    { exp: now + 3600 },
    { nbf: now + 600, exp: now + 290 },
  ];
  for (const claims of cases) {
    const assertion = clientAssertion(h, planner.agentId, planner.key, claims);
    await expectRejection(
      h,
      () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion }),
      CLIENT_AUTH,
    );
  }
});

test('a client assertion issued more than 5 s in the future is refused (the DPoP proof tolerance)', async () => {
  const now = nowSeconds();
  const assertion = clientAssertion(h, planner.agentId, planner.key, { iat: now + 60, exp: now + 120 });
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion }),
    CLIENT_AUTH,
  );
  // Within the tolerance it is accepted.
  const near = clientAssertion(h, planner.agentId, planner.key, { iat: now + 3, exp: now + 60 });
  const accepted = await raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion: near });
  assert.equal(accepted.status, 200);
});

test('a client assertion signed by another key is refused', async () => {
  const other = generateSigningKey();
  for (const kid of [true, false]) {
    const assertion = clientAssertion(h, planner.agentId, other, {}, { kid });
    await expectRejection(
      h,
      () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion }),
      CLIENT_AUTH,
    );
  }
  // The executor's key, the planner's name.
  const borrowed = clientAssertion(h, planner.agentId, executor.key);
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: rootParams(), assertion: borrowed }),
    CLIENT_AUTH,
  );
  // iss and sub disagree; client_id names someone else.
  const mixed = clientAssertion(h, planner.agentId, planner.key, { sub: executor.agentId });
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion: mixed }),
    CLIENT_AUTH,
  );
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: { ...CLIENT_CREDENTIALS, client_id: executor.agentId } }),
    CLIENT_AUTH,
  );
});

test('a client assertion for an unknown client is refused', async () => {
  const ghost = generateSigningKey();
  const assertion = clientAssertion(h, agentIdOf('ghost'), ghost);
  const { body } = await expectRejection(
    h,
    () => raw(h, { params: CLIENT_CREDENTIALS, assertion, dpop: dpopProof(h, ghost) }),
    CLIENT_AUTH,
  );
  assert.doesNotMatch(body['error_description']!, /ghost/);
});

test('a replayed client assertion is refused', async () => {
  const assertion = planner.clientAssertion();
  const first = await raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion });
  assert.equal(first.status, 200);
  await expectRejection(h, () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, assertion }), {
    status: 401,
    error: 'invalid_client',
    code: 'WARRANT_ASSERTION_REPLAYED',
  });
  // Used for an exchange, then again for another.
  const once = planner.clientAssertion();
  assert.equal((await raw(h, { client: planner, params: rootParams(), assertion: once })).status, 200);
  await expectRejection(h, () => raw(h, { client: planner, params: rootParams(), assertion: once }), {
    status: 401,
    error: 'invalid_client',
    code: 'WARRANT_ASSERTION_REPLAYED',
  });
});

test('an exchange without a DPoP proof is refused', async () => {
  const { response } = await expectRejection(
    h,
    () => raw(h, { client: planner, params: rootParams(), dpop: null }),
    {
      status: 400,
      error: 'invalid_dpop_proof',
      code: 'WARRANT_DPOP_INVALID',
    },
  );
  assert.ok(response.headers.get('dpop-nonce'));
  await expectRejection(h, () => raw(h, { client: planner, params: rootParams(), dpop: '' }), {
    status: 400,
    error: 'invalid_dpop_proof',
    code: 'WARRANT_DPOP_INVALID',
  });
});

test('a DPoP proof without a current server nonce answers use_dpop_nonce', async () => {
  for (const nonce of [null, 'A'.repeat(43), 'not-a-nonce']) {
    const { response } = await expectRejection(
      h,
      () => raw(h, { client: planner, params: rootParams(), dpop: dpopProof(h, planner.key, { nonce }) }),
      { status: 400, error: 'use_dpop_nonce', code: 'WARRANT_DPOP_NONCE_REQUIRED' },
    );
    assert.match(response.headers.get('dpop-nonce') ?? '', /^[A-Za-z0-9_-]{43}$/);
  }
});

test('a DPoP proof for another URI is refused', async () => {
  for (const htu of [`${h.url}/introspect`, 'https://sts.example/token', `${h.url}/token/x`]) {
    await expectRejection(
      h,
      () => raw(h, { client: planner, params: rootParams(), dpop: dpopProof(h, planner.key, { htu }) }),
      { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_HTU_MISMATCH' },
    );
  }
});

test('a DPoP proof for another method is refused', async () => {
  for (const htm of ['GET', 'PUT', 'post']) {
    await expectRejection(
      h,
      () => raw(h, { client: planner, params: rootParams(), dpop: dpopProof(h, planner.key, { htm }) }),
      { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_HTM_MISMATCH' },
    );
  }
});

test('a replayed DPoP proof is refused', async () => {
  const proof = dpopProof(h, planner.key);
  assert.equal((await raw(h, { client: planner, params: rootParams(), dpop: proof })).status, 200);
  await expectRejection(h, () => raw(h, { client: planner, params: rootParams(), dpop: proof }), {
    status: 400,
    error: 'invalid_dpop_proof',
    code: 'WARRANT_DPOP_REPLAYED',
  });
  // A new proof that reuses the jti of an accepted one.
  const jti = 'reused-jti-0001';
  assert.equal(
    (await raw(h, { client: planner, params: CLIENT_CREDENTIALS, dpop: dpopProof(h, planner.key, { jti }) }))
      .status,
    200,
  );
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: rootParams(), dpop: dpopProof(h, planner.key, { jti }) }),
    { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_REPLAYED' },
  );
});

test('a DPoP proof by a key that is not the agent key is refused', async () => {
  const stranger = generateSigningKey();
  const mismatch = { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_KEY_MISMATCH' };
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: rootParams(), dpop: dpopProof(h, stranger) }),
    mismatch,
  );
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: rootParams(), dpop: dpopProof(h, executor.key) }),
    mismatch,
  );
  await expectRejection(
    h,
    () => raw(h, { client: planner, params: CLIENT_CREDENTIALS, dpop: dpopProof(h, stranger) }),
    mismatch,
  );
});

test('an identity token presented as actor by a key it is not bound to is refused', async () => {
  const identity = (await planner.identity()).access_token;
  const params = { ...rootParams(), actor_token: identity, actor_token_type: TOKEN_TYPES.identity };
  for (const key of [generateSigningKey(), executor.key]) {
    await expectRejection(h, () => raw(h, { params, dpop: dpopProof(h, key) }), CLIENT_AUTH);
  }
  // The planner's own identity token, with the executor's assertion: the actor names another agent.
  await expectRejection(h, () => raw(h, { client: executor, params }), CLIENT_AUTH);
  await expectRejection(
    h,
    () =>
      raw(h, {
        params: { ...params, actor_token_type: TOKEN_TYPES.warrant },
        dpop: dpopProof(h, planner.key),
      }),
    { status: 400, error: 'invalid_request', code: 'WARRANT_TOKEN_TYPE_UNSUPPORTED' },
  );
});

test('a malformed or stale DPoP proof is refused', async () => {
  const invalid = { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_INVALID' };
  const good = dpopProof(h, planner.key);
  const [head, payload] = good.split('.');
  for (const dpop of [
    'garbage',
    `${head}.${payload}.AAAA`,
    `${head}.${payload}`,
    planner.clientAssertion(),
  ]) {
    await expectRejection(h, () => raw(h, { client: planner, params: rootParams(), dpop }), invalid);
  }
  const nonce = h.plane.sts.nonces.issue(h.plane.sts.clock());
  const old = createDpopProof({
    key: planner.key,
    htm: 'POST',
    htu: h.plane.sts.tokenEndpoint,
    nonce,
    now: nowSeconds() - 600,
  });
  await expectRejection(h, () => raw(h, { client: planner, params: rootParams(), dpop: old }), {
    status: 400,
    error: 'invalid_dpop_proof',
    code: 'WARRANT_DPOP_STALE',
  });
});

test('unsupported token types are refused', async () => {
  const unsupported = { status: 400, error: 'invalid_request', code: 'WARRANT_TOKEN_TYPE_UNSUPPORTED' };
  await expectRejection(
    h,
    () =>
      raw(h, {
        client: planner,
        params: { ...rootParams(), subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
      }),
    unsupported,
  );
  await expectRejection(
    h,
    () =>
      raw(h, {
        client: planner,
        params: { ...rootParams(), requested_token_type: 'urn:ietf:params:oauth:token-type:access_token' },
      }),
    unsupported,
  );
  const missing = { ...rootParams() } as Record<string, string>;
  delete missing['subject_token'];
  await expectRejection(h, () => raw(h, { client: planner, params: missing }), MALFORMED);
  assert.equal(rootParams()['grant_type'], TOKEN_EXCHANGE);
});

test('a person ID token with an unusable sub is refused', async () => {
  for (const sub of [5, '', 'x'.repeat(5000)]) {
    const params = { ...rootParams(), subject_token: h.idToken('alice', 'planner', { sub }) };
    await expectRejection(h, () => raw(h, { client: planner, params }), {
      status: 400,
      error: 'invalid_grant',
      code: 'WARRANT_SUBJECT_TOKEN_INVALID',
    });
  }
});

test('a GET on the token endpoint is refused', async () => {
  await expectRejection(h, () => raw(h, { method: 'GET', contentType: null }), {
    status: 405,
    error: 'method_not_allowed',
    code: 'WARRANT_REQUEST_MALFORMED',
  });
});
