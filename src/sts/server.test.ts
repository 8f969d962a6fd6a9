import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type InProcessSts,
  ISSUER,
  inProcessSts,
  type TestAgent,
} from '../../test/support/in-process-sts.ts';
import { tokenHash } from '../core/jose/hash.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { signCompact } from '../core/jose/jws.ts';
import { TOKEN_TYPE } from './grants/types.ts';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const PERSON_ISSUER = 'https://idp.warrant.test';
const personKey = generateSigningKey('ES256');

let h: InProcessSts;
let planner: TestAgent;
let executor: TestAgent;

before(async () => {
  h = await inProcessSts({ adminToken: 'admin-secret' });
  planner = await h.agent('planner', { clientIds: { [PERSON_ISSUER]: 'planner-app' } });
  executor = await h.agent('executor', { tier: 'executor' });
  await h.store.issuers.put({
    issuer: PERSON_ISSUER,
    kind: 'oidc',
    audience: 'warrant',
    jwksUri: null,
    jwks: { keys: [{ ...personKey.jwk }] },
    mapping: null,
    assertions: ['id_token'],
    maxAssertionAgeSeconds: null,
  });
});
after(() => h.close());

/** An ID token for alice addressed to the planner's client id. */
function idToken(): string {
  const now = h.sts.clock();
  return signCompact(
    { typ: 'JWT' },
    { iss: PERSON_ISSUER, sub: 'alice', aud: 'planner-app', iat: now, exp: now + 300, nonce: randomUUID() },
    personKey,
  );
}

const post = (path: string, form: Record<string, string>) => h.request({ method: 'POST', path, form });

const token = (agent: TestAgent, params: Record<string, string>, headers: Record<string, string> = {}) =>
  h.request({
    method: 'POST',
    path: '/token',
    headers: { dpop: agent.dpop(), ...headers },
    form: agent.authenticated(params),
  });

async function identityOf(agent: TestAgent): Promise<string> {
  const response = await token(agent, { grant_type: 'client_credentials' });
  assert.equal(response.status, 200, response.body);
  return response.json()['access_token'] as string;
}

/** A root warrant alice hands the planner, for the executor. */
async function rootWarrant(): Promise<string> {
  const response = await token(planner, {
    grant_type: EXCHANGE,
    subject_token: idToken(),
    subject_token_type: TOKEN_TYPE.idToken,
    audience: executor.id,
    scope: 'crm:read',
    grant_resource: 'crm/*',
  });
  assert.equal(response.status, 200, response.body);
  return response.json()['access_token'] as string;
}

const refusal =
  (status: number, error: string, code: string) => (response: { status: number; json(): object }) => {
    assert.equal(response.status, status);
    assert.deepEqual(
      { ...response.json(), error_description: undefined },
      { error, code, error_description: undefined },
    );
  };

describe('STS endpoints, in-process', () => {
  test('metadata names the endpoints and the grant types the token endpoint dispatches to', async () => {
    const response = await h.request({ path: '/.well-known/oauth-authorization-server' });
    assert.equal(response.status, 200);
    assert.equal(response.headers['cache-control'], 'public, max-age=300');
    const body = response.json();
    assert.equal(body['issuer'], ISSUER);
    assert.equal(body['token_endpoint'], `${ISSUER}/token`);
    assert.deepEqual(body['grant_types_supported'], [
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      EXCHANGE,
    ]);
  });

  test('both JWKS paths publish the current signing key; /healthz answers ok', async () => {
    const kid = h.sts.keys.current.kid;
    for (const path of ['/jwks', '/.well-known/jwks.json']) {
      const response = await h.request({ path });
      assert.equal(response.status, 200);
      assert.deepEqual(
        (response.json()['keys'] as { kid: string }[]).map((k) => k.kid),
        [kid],
      );
    }
    assert.deepEqual((await h.request({ path: '/healthz' })).json(), { status: 'ok' });
  });

  test('an unknown path is 404, including the names every object inherits', async () => {
    for (const path of ['/nope', '/constructor', '/__proto__', '/toString'])
      refusal(404, 'not_found', 'WARRANT_NOT_FOUND')(await h.request({ path }));
  });

  test('the form endpoints take POST and a form only', async () => {
    const get = await h.request({ path: '/token' });
    refusal(405, 'method_not_allowed', 'WARRANT_REQUEST_MALFORMED')(get);
    assert.equal(get.headers['allow'], 'POST');
    const json = await h.request({
      method: 'POST',
      path: '/token',
      json: { grant_type: 'client_credentials' },
    });
    refusal(400, 'invalid_request', 'WARRANT_REQUEST_MALFORMED')(json);
  });

  test('the token endpoint refuses a missing or unknown grant_type, issuing nothing', async () => {
    refusal(400, 'invalid_request', 'WARRANT_REQUEST_MALFORMED')(await post('/token', { scope: 'x' }));
    refusal(
      400,
      'unsupported_grant_type',
      'WARRANT_GRANT_TYPE_UNSUPPORTED',
    )(await post('/token', planner.authenticated({ grant_type: 'password' })));
    assert.deepEqual(await h.store.tokens.listLive(0), []);
  });

  test('a repeated DPoP header is refused before any grant runs', async () => {
    const response = await h.request({
      method: 'POST',
      path: '/token',
      headers: { dpop: [planner.dpop(), planner.dpop()] },
      form: planner.authenticated({ grant_type: 'client_credentials' }),
    });
    refusal(400, 'invalid_request', 'WARRANT_REQUEST_MALFORMED')(response);
    assert.match(response.json()['error_description'] as string, /header dpop is repeated/);
  });

  test('client_credentials issues a recorded identity token and a fresh DPoP nonce', async () => {
    const response = await token(planner, { grant_type: 'client_credentials' });
    assert.equal(response.status, 200);
    assert.ok(response.headers['dpop-nonce']);
    const body = response.json();
    assert.equal(body['issued_token_type'], TOKEN_TYPE.identity);
    const record = await h.store.tokens.get(tokenHash(body['access_token'] as string));
    assert.equal(record?.kind, 'identity');
    assert.deepEqual(record?.actors, [planner.id]);
  });

  test('a token exchange runs end to end: a root from an ID token, then a hop by its recipient', async () => {
    const root = await rootWarrant();
    const hop = await token(executor, {
      grant_type: EXCHANGE,
      subject_token: root,
      subject_token_type: TOKEN_TYPE.warrant,
      audience: 'https://tool.example/crm',
    });
    assert.equal(hop.status, 200, hop.body);
    const child = await h.store.tokens.get(tokenHash(hop.json()['access_token'] as string));
    assert.equal(child?.parentHash, tokenHash(root));
    assert.deepEqual(child?.actors, [executor.id, planner.id]);
  });

  test('a hop by an agent that is not the recipient is refused with its code, issuing nothing', async () => {
    const root = await rootWarrant();
    const before = (await h.store.tokens.listLive(0)).length;
    refusal(
      400,
      'invalid_grant',
      'WARRANT_CALLER_NOT_AUDIENCE',
    )(
      await token(planner, {
        grant_type: EXCHANGE,
        subject_token: root,
        subject_token_type: TOKEN_TYPE.warrant,
        audience: 'https://tool.example/crm',
      }),
    );
    assert.equal((await h.store.tokens.listLive(0)).length, before);
  });

  test('introspection answers for the tokens the caller holds or receives, inactive for the others', async () => {
    const identity = await identityOf(planner);
    const mine = await post('/introspect', planner.authenticated({ token: identity }));
    assert.equal(mine.json()['active'], true);
    assert.equal(mine.json()['token_hash'], tokenHash(identity));
    const theirs = await post('/introspect', executor.authenticated({ token: identity }));
    assert.deepEqual(theirs.json(), { active: false });
    refusal(
      401,
      'invalid_client',
      'WARRANT_CLIENT_AUTH_FAILED',
    )(await post('/introspect', { token: identity }));
  });

  test('revocation answers 200 either way but revokes only a token the caller holds or receives', async () => {
    const identity = await identityOf(planner);
    const byOther = await post('/revoke', executor.authenticated({ token: identity }));
    assert.deepEqual([byOther.status, byOther.body], [200, '']);
    assert.equal(await h.store.tokens.isRevoked(tokenHash(identity)), false);
    const unknown = await post('/revoke', planner.authenticated({ token: 'x.y.z' }));
    assert.equal(unknown.status, 200);
    const own = await post('/revoke', planner.authenticated({ token: identity }));
    assert.equal(own.status, 200);
    assert.equal(await h.store.tokens.isRevoked(tokenHash(identity)), true);
  });

  test('only the first agent of a transaction may complete it; completing revokes it all', async () => {
    const root = await rootWarrant();
    const { txn } = (await h.store.tokens.get(tokenHash(root)))!;
    refusal(
      403,
      'access_denied',
      'WARRANT_DELEGATION_DENIED',
    )(await post('/txn/complete', executor.authenticated({ txn: txn! })));
    assert.equal(await h.store.tokens.isRevoked(tokenHash(root)), false);
    const done = await post('/txn/complete', planner.authenticated({ txn: txn! }));
    assert.deepEqual(done.json(), { txn, revoked: 1 });
    assert.equal(await h.store.tokens.isRevoked(tokenHash(root)), true);
  });

  test('the status list is served signed once it exists; an unknown list is 404', async () => {
    await rootWarrant();
    const list = await h.request({ path: '/status/1' });
    assert.equal(list.status, 200);
    assert.equal(list.headers['content-type'], 'application/statuslist+jwt');
    assert.equal(list.body.split('.').length, 3);
    refusal(404, 'not_found', 'WARRANT_NOT_FOUND')(await h.request({ path: '/status/nope' }));
  });

  test('the admin API wants the admin bearer credential; without one configured it does not exist', async () => {
    const wrong = await h.request({ path: '/admin/agents', headers: { authorization: 'Bearer nope' } });
    refusal(401, 'invalid_token', 'WARRANT_ADMIN_AUTH_FAILED')(wrong);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="warrant-admin"');
    const right = await h.request({
      path: '/admin/agents',
      headers: { authorization: 'Bearer admin-secret' },
    });
    assert.equal(right.status, 200);
    const closed = await inProcessSts();
    try {
      refusal(
        404,
        'not_found',
        'WARRANT_NOT_FOUND',
      )(await closed.request({ path: '/admin/agents', headers: { authorization: 'Bearer admin-secret' } }));
    } finally {
      await closed.close();
    }
  });

  test('a typed error from below answers its code; an unexpected one is a 500 that says nothing more', async () => {
    const twin = await h.request({
      method: 'POST',
      path: '/admin/agents',
      headers: { authorization: 'Bearer admin-secret' },
      json: { name: 'planner', owner: 'o', publicJwk: generateSigningKey().jwk },
    });
    refusal(400, 'invalid_request', 'WARRANT_STORE_CONFLICT')(twin);
    const errors: unknown[] = [];
    const broken = await inProcessSts({ onError: (error) => errors.push(error) });
    try {
      broken.sts.keys.keySet = () => {
        throw new Error('disk on fire: secret detail');
      };
      const response = await broken.request({ path: '/jwks' });
      refusal(500, 'server_error', 'WARRANT_STS_UNAVAILABLE')(response);
      assert.ok(!response.body.includes('secret detail'));
      assert.equal((errors[0] as Error).message, 'disk on fire: secret detail');
    } finally {
      await broken.close();
    }
  });
});
