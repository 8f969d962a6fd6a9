import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { agentIdOf, type InProcessSts, inProcessSts } from '../../test/support/in-process-sts.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';

let h: InProcessSts;
before(async () => {
  h = await inProcessSts({ adminToken: 'admin-secret' });
});
after(() => h.close());

async function admin(method: string, path: string, json?: unknown) {
  const response = await h.request({
    method,
    path: `/admin${path}`,
    headers: { authorization: 'Bearer admin-secret' },
    ...(json === undefined ? {} : { json }),
  });
  return { status: response.status, body: response.json() };
}

const register = (name: string, extra: Record<string, unknown> = {}) =>
  admin('POST', '/agents', {
    name,
    owner: 'alice@example.org',
    publicJwk: generateSigningKey().jwk,
    ...extra,
  });

/** A root warrant alice hands `actor` for `audience`, minted and recorded by the STS. */
async function warrantFor(actor: string, audience: string, txn = h.sts.newTxn()) {
  const now = h.sts.clock();
  return h.sts.mintWarrant(
    {
      sub: 'alice',
      sub_iss: 'https://idp.example',
      act: { sub: actor },
      aud: audience,
      scope: 'crm:read',
      grants: [{ action: 'crm:read', resource: 'crm/*' }],
      txn,
      depth: 0,
      max_depth: 2,
      may_delegate: false,
      cnf: { jkt: generateSigningKey().kid },
      iat: now,
      exp: now + 300,
    },
    null,
  );
}

describe('admin API, in-process', () => {
  test('the OpenAPI document describes this STS', async () => {
    const { status, body } = await admin('GET', '/openapi.json');
    assert.equal(status, 200);
    assert.match(String(body['openapi']), /^3\./);
  });

  test('registering an agent names it in the trust domain, keys it by thumbprint, and fills the defaults', async () => {
    const key = generateSigningKey();
    const { status, body } = await admin('POST', '/agents', {
      name: 'reporter',
      owner: 'alice@example.org',
      publicJwk: key.jwk,
      clientIds: { 'https://idp.example': 'reporter-app' },
    });
    assert.equal(status, 201);
    assert.equal(body['id'], agentIdOf('reporter'));
    assert.equal(body['jkt'], key.kid);
    assert.deepEqual(
      [body['tier'], body['trustLevel'], body['allowedAudiences'], body['maxDepth'], body['status']],
      ['executor', 0, ['spiffe://warrant.test/*'], h.config.sts.maxDepth, 'active'],
    );
    assert.deepEqual(body['clientIds'], { 'https://idp.example': 'reporter-app' });
    assert.deepEqual(body['previousKeys'], []);
  });

  test('agents list by id in pages, filter by status, and are read by name or SPIFFE id', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await register(name);
    await admin('POST', '/agents/page-b/disable');
    const first = await admin('GET', '/agents?limit=1');
    const second = await admin(
      'GET',
      `/agents?limit=1&after=${encodeURIComponent(String(first.body['next']))}`,
    );
    assert.notEqual(first.body['next'], null);
    assert.ok(String((second.body['items'] as { id: string }[])[0]!.id) > String(first.body['next']));
    const disabled = await admin('GET', '/agents?status=disabled&limit=1000');
    assert.ok((disabled.body['items'] as { id: string }[]).some((a) => a.id === agentIdOf('page-b')));
    assert.ok((disabled.body['items'] as { status: string }[]).every((a) => a.status === 'disabled'));
    const byName = await admin('GET', '/agents/page-a');
    const byId = await admin('GET', `/agents/${encodeURIComponent(agentIdOf('page-a'))}`);
    assert.deepEqual(byName, byId);
  });

  test('client ids are replaced whole', async () => {
    await register('cid', { clientIds: { 'https://a.example': 'one' } });
    const { status, body } = await admin('PUT', '/agents/cid/client-ids', {
      clientIds: { 'https://b.example': 'two' },
    });
    assert.equal(status, 200);
    assert.deepEqual(body['clientIds'], { 'https://b.example': 'two' });
    assert.equal(await h.store.agents.getByClientId('https://a.example', 'one'), null);
  });

  test('disabling an agent revokes every warrant it holds or passed on; enabling revokes nothing', async () => {
    await register('holder');
    const held = await warrantFor(agentIdOf('holder'), 'https://tool.example/x');
    const other = await warrantFor(agentIdOf('someone'), 'https://tool.example/x');
    const disabled = await admin('POST', '/agents/holder/disable');
    assert.equal(disabled.body['revoked'], 1);
    assert.equal((disabled.body['agent'] as { status: string }).status, 'disabled');
    assert.equal(await h.store.tokens.isRevoked(held.record.hash), true);
    assert.equal(await h.store.tokens.isRevoked(other.record.hash), false);
    const enabled = await admin('POST', '/agents/holder/enable');
    assert.deepEqual(
      [enabled.body['revoked'], (enabled.body['agent'] as { status: string }).status],
      [0, 'active'],
    );
  });

  test('rotating a key keeps the old one for the overlap', async () => {
    const before = (await register('rotor')).body;
    const next = generateSigningKey();
    const { body } = await admin('POST', '/agents/rotor/rotate-key', {
      publicJwk: next.jwk,
      overlapSeconds: 120,
    });
    assert.equal(body['jkt'], next.kid);
    assert.deepEqual(body['previousKeys'], [{ jkt: before['jkt'], until: h.sts.clock() + 120 }]);
  });

  test('issuers are put, listed and deleted; deleting an unknown one is 404', async () => {
    const issuer = {
      issuer: 'https://k8s.example',
      kind: 'kubernetes',
      audience: 'warrant',
      jwks: { keys: [] },
      mapping: {
        claim: 'sub',
        pattern: '^system:serviceaccount:(.+)$',
        agent: 'spiffe://warrant.test/agent/$1',
      },
    };
    const put = await admin('PUT', '/issuers', issuer);
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { ...issuer, jwksUri: null, assertions: null, maxAssertionAgeSeconds: null });
    assert.ok(
      ((await admin('GET', '/issuers')).body['items'] as { issuer: string }[]).some(
        (i) => i.issuer === issuer.issuer,
      ),
    );
    assert.deepEqual((await admin('DELETE', `/issuers/${encodeURIComponent(issuer.issuer)}`)).body, {
      deleted: issuer.issuer,
    });
    const again = await admin('DELETE', `/issuers/${encodeURIComponent(issuer.issuer)}`);
    assert.deepEqual([again.status, again.body['code']], [404, 'WARRANT_NOT_FOUND']);
  });

  test('a transaction is listed and revoked by its txn', async () => {
    const txn = h.sts.newTxn();
    const one = await warrantFor(agentIdOf('a'), 'https://tool.example/x', txn);
    const two = await warrantFor(agentIdOf('b'), 'https://tool.example/y', txn);
    const listed = await admin('GET', `/tokens?txn=${txn}`);
    assert.deepEqual(
      (listed.body['items'] as { hash: string }[]).map((t) => t.hash).sort(),
      [one.record.hash, two.record.hash].sort(),
    );
    const revoked = await admin('POST', '/revoke', { txn, reason: 'incident' });
    assert.equal(revoked.body['revoked'], 2);
    assert.equal((await h.store.tokens.get(one.record.hash))?.revokeReason, 'incident');
  });

  test('key rotation and policy reload need a key store and a policy source: without them, 500 and no change', async () => {
    const kid = h.sts.keys.current.kid;
    for (const path of ['/keys/rotate', '/policy/reload']) {
      const { status, body } = await admin('POST', path);
      assert.deepEqual([status, body['code']], [500, 'WARRANT_STS_UNAVAILABLE']);
    }
    assert.equal(h.sts.keys.current.kid, kid);
  });
});
