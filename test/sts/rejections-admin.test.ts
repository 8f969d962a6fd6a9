/**
 * STS rejections, admin API: a missing or wrong admin credential, a malformed agent body, an unknown agent.
 * Each is a JSON error with a stable code that leaks nothing and changes nothing.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { ADMIN_TOKEN, agentIdOf, type Harness, startHarness } from '../support/sts-harness.ts';
import { ASSERTION_TYPE, dpopProof, expectRejection } from './rejections-support.ts';

const MALFORMED = { status: 400, error: 'invalid_request', code: 'WARRANT_REQUEST_MALFORMED' };
const AUTH_FAILED = { status: 401, error: 'invalid_token', code: 'WARRANT_ADMIN_AUTH_FAILED' };
const UNKNOWN = { status: 404, error: 'not_found', code: 'WARRANT_AGENT_UNKNOWN' };

let h: Harness;
let planner: AgentClient;

before(async () => {
  h = await startHarness();
  planner = await h.agent('planner');
});

after(() => h.close());

/** An admin request with the given authorization header (or none) and a raw or JSON body. */
function adminAs(
  authorization: string | null,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (authorization !== null) headers['authorization'] = authorization;
  if (body !== undefined) headers['content-type'] = contentType;
  return fetch(`${h.url}/admin${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

const agentCount = async () => (await h.plane.store.agents.list({ limit: 1000 })).items.length;

test('the admin API refuses a missing or wrong admin token', async () => {
  const newAgent = { name: 'intruder', owner: 'mallory', publicJwk: generateSigningKey().jwk };
  const credentials = [
    null,
    '',
    'Bearer',
    'Bearer ',
    'Bearer wrong-token',
    `Bearer ${ADMIN_TOKEN}x`,
    `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
    `bearer ${ADMIN_TOKEN}`,
    `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`,
    ADMIN_TOKEN,
  ];
  const requests: [string, string, unknown?][] = [
    ['GET', '/agents'],
    ['POST', '/agents', newAgent],
    ['POST', '/agents/planner/disable'],
    ['POST', '/revoke', { agent: agentIdOf('planner') }],
    ['POST', '/keys/rotate'],
    ['GET', '/openapi.json'],
    ['GET', '/no-such-endpoint'],
  ];
  const agentsBefore = await agentCount();
  const kid = h.plane.sts.keys.current.kid;
  for (const authorization of credentials) {
    for (const [method, path, body] of requests) {
      const { response } = await expectRejection(
        h,
        () => adminAs(authorization, method, path, body),
        AUTH_FAILED,
      );
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer /);
    }
  }
  // Nothing changed.
  assert.equal(await agentCount(), agentsBefore);
  assert.equal((await h.plane.store.agents.get(agentIdOf('planner')))?.status, 'active');
  assert.equal(h.plane.sts.keys.current.kid, kid);
});

test('the admin API refuses a malformed agent body', async () => {
  const key = generateSigningKey();
  const good = { name: 'valid-name', owner: 'alice@example.org', publicJwk: key.jwk };
  const privateJwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const bodies: unknown[] = [
    { ...good, name: undefined },
    { ...good, name: 'Bad Name' },
    { ...good, name: '-leading-dash' },
    { ...good, name: 'x'.repeat(64) },
    { ...good, owner: undefined },
    { ...good, owner: '' },
    { ...good, publicJwk: undefined },
    { ...good, publicJwk: privateJwk },
    { ...good, publicJwk: { kty: 'oct', k: 'c2VjcmV0' } },
    { ...good, publicJwk: 'not a key' },
    { ...good, tier: 7 },
    { ...good, trustLevel: 11 },
    { ...good, trustLevel: 1.5 },
    { ...good, maxDepth: -1 },
    { ...good, maxDepth: 33 },
    { ...good, allowedAudiences: 'spiffe://warrant.test/*' },
    { ...good, allowedAudiences: [''] },
    [good],
    'null',
    '{"name":',
    `{"name":"a","name":"b","owner":"x","publicJwk":${JSON.stringify(key.jwk)}}`,
  ];
  const before = await agentCount();
  for (const body of bodies) {
    await expectRejection(h, () => adminAs(`Bearer ${ADMIN_TOKEN}`, 'POST', '/agents', body), MALFORMED);
  }
  // The wrong media type.
  await expectRejection(
    h,
    () => adminAs(`Bearer ${ADMIN_TOKEN}`, 'POST', '/agents', good, 'application/x-www-form-urlencoded'),
    MALFORMED,
  );
  await expectRejection(
    h,
    () => adminAs(`Bearer ${ADMIN_TOKEN}`, 'POST', '/agents', good, 'text/plain'),
    MALFORMED,
  );
  assert.equal(await agentCount(), before);
  // The private key is neither stored nor echoed (expectRejection checked the body for key members).
  assert.equal(await h.plane.store.agents.get(agentIdOf('valid-name')), null);
});

test('the admin API refuses an agent name or key registered twice', async () => {
  const existing = (await (await h.admin('GET', '/agents/planner')).json()) as { publicJwk: unknown };
  const conflict = { status: 400, error: 'invalid_request', code: 'WARRANT_STORE_CONFLICT' };
  const before = await agentCount();
  await expectRejection(
    h,
    () =>
      h.admin('POST', '/agents', { name: 'planner', owner: 'mallory', publicJwk: generateSigningKey().jwk }),
    conflict,
  );
  await expectRejection(
    h,
    () => h.admin('POST', '/agents', { name: 'twin', owner: 'mallory', publicJwk: existing.publicJwk }),
    conflict,
  );
  assert.equal(await agentCount(), before);
  assert.equal((await h.plane.store.agents.get(agentIdOf('planner')))?.owner, 'alice@example.org');
});

test('the admin API answers 404 for an unknown agent', async () => {
  const ghost = 'ghost';
  const requests: [string, string, unknown?][] = [
    ['GET', `/agents/${ghost}`],
    ['GET', `/agents/${encodeURIComponent(agentIdOf(ghost))}`],
    ['POST', `/agents/${ghost}/disable`],
    ['POST', `/agents/${ghost}/enable`],
    ['POST', `/agents/${ghost}/rotate-key`, { publicJwk: generateSigningKey().jwk }],
  ];
  for (const [method, path, body] of requests) {
    await expectRejection(h, () => h.admin(method, path, body), UNKNOWN);
  }
  assert.equal(await h.plane.store.agents.get(agentIdOf(ghost)), null);
});

test('the admin API refuses a malformed revocation or query', async () => {
  for (const body of [{}, { hash: 'a', txn: 'b' }, { hash: '' }, { agent: 5 }]) {
    await expectRejection(h, () => h.admin('POST', '/revoke', body), MALFORMED);
  }
  for (const path of ['/tokens', '/agents?limit=0', '/agents?limit=abc', '/agents?status=gone']) {
    await expectRejection(h, () => h.admin('GET', path), MALFORMED);
  }
  await expectRejection(h, () => h.admin('GET', '/no-such-endpoint'), {
    status: 404,
    error: 'not_found',
    code: 'WARRANT_NOT_FOUND',
  });
});

test('the admin API refuses a path with malformed percent-encoding', async () => {
  await expectRejection(h, () => h.admin('GET', '/agents/%E0%A4%A'), MALFORMED);
});

/**
 * A request whose Authorization header is sent once per value, as separate header lines (fetch would join
 * them into one), answered as a fetch Response.
 */
function repeatedAuthorization(
  method: string,
  path: string,
  authorizations: string[],
  body?: { type: string; text: string },
  extra: Record<string, string> = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${h.url}${path}`, { method, agent: false });
    req.setHeader('authorization', authorizations);
    for (const [name, value] of Object.entries(extra)) req.setHeader(name, value);
    if (body) req.setHeader('content-type', body.type);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers))
          if (typeof value === 'string') headers.set(name, value);
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
      });
    });
    req.on('error', reject);
    req.end(body?.text);
  });
}

test('a repeated Authorization header: 400 WARRANT_REQUEST_MALFORMED on the admin API, whichever copy is right', async () => {
  const good = `Bearer ${ADMIN_TOKEN}`;
  const newAgent = JSON.stringify({ name: 'twice', owner: 'mallory', publicJwk: generateSigningKey().jwk });
  const before = await agentCount();
  for (const authorizations of [
    [good, good],
    [good, 'Bearer wrong-token'],
    ['Bearer wrong-token', good],
    [good, 'Basic YWRtaW46YWRtaW4='],
  ]) {
    await expectRejection(h, () => repeatedAuthorization('GET', '/admin/agents', authorizations), MALFORMED);
    await expectRejection(
      h,
      () =>
        repeatedAuthorization('POST', '/admin/agents', authorizations, {
          type: 'application/json',
          text: newAgent,
        }),
      MALFORMED,
    );
    await expectRejection(
      h,
      () => repeatedAuthorization('POST', '/admin/agents/planner/disable', authorizations),
      MALFORMED,
    );
  }
  assert.equal(await agentCount(), before, 'nothing registered');
  assert.equal(await h.plane.store.agents.get(agentIdOf('twice')), null);
  assert.equal((await h.plane.store.agents.get(agentIdOf('planner')))?.status, 'active', 'nothing disabled');
});

test('a repeated Authorization header at the token endpoint: 400 WARRANT_REQUEST_MALFORMED, nothing issued', async () => {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: planner.clientAssertion(),
  }).toString();
  await expectRejection(
    h,
    () =>
      repeatedAuthorization(
        'POST',
        '/token',
        ['Basic YTpi', 'Basic YzpkCg=='],
        { type: 'application/x-www-form-urlencoded', text: form },
        { dpop: dpopProof(h, planner.key) },
      ),
    MALFORMED,
  );
});
