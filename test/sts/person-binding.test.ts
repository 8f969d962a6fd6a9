/**
 * A person's assertion roots a warrant only for the agent it is addressed to (DESIGN §2, issue 8 item 1),
 * on both stores: ID tokens by `aud`/`azp` = the agent's client id at the issuer, ID-JAGs by `aud` = this STS
 * and `client_id` = the agent (through token exchange and through jwt-bearer), single-use ID-JAGs, `may_act`
 * at root and hop, the issuer's allowed assertion kinds and maximum age. Every refusal is checked for its
 * OAuth error, its Warrant code, and that nothing was issued.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSigningKey, type SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { GRANT_TYPE, TOKEN_TYPE } from '../../src/core/tokens/token-types.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import {
  agentIdOf,
  clientIdOf,
  type Harness,
  ID_JAG_TYP,
  PERSON_AUDIENCE,
  PERSON_ISSUER,
  startHarness,
} from '../support/sts-harness.ts';
import {
  claimsOf,
  type Expected,
  exchangeParams,
  expectRejection,
  nowSeconds,
  raw,
  TOKEN_TYPES,
} from './rejections-support.ts';

const ID_JAG_TYPE = TOKEN_TYPE.idJag;
const JWT_BEARER = GRANT_TYPE.jwtBearer;
const TOOL = 'https://tools.warrant.test/crm';
const WIDE = { allowedAudiences: ['https://tools.warrant.test/*', 'spiffe://warrant.test/*'] };
const CRM_READ = { action: 'crm:read', resource: 'crm/*' };
const details = (grants: unknown[] = [CRM_READ]) =>
  JSON.stringify(grants.map((g) => ({ type: 'warrant_grant', ...(g as object) })));

/** Issuers that may send only one kind of assertion, with their own keys. */
const ID_TOKEN_ONLY = 'https://id-token-only.warrant.test';
const ID_JAG_ONLY = 'https://id-jag-only.warrant.test';
const dir = mkdtempSync(join(tmpdir(), 'warrant-binding-'));
const onlyKeys: Record<string, SigningKey> = {
  [ID_TOKEN_ONLY]: generateSigningKey('ES256'),
  [ID_JAG_ONLY]: generateSigningKey('EdDSA'),
};
const jwksFile = (issuer: string) => {
  const path = join(dir, `${new URL(issuer).hostname}.json`);
  writeFileSync(path, JSON.stringify({ keys: [{ ...onlyKeys[issuer]!.jwk }] }));
  return path;
};

const invalidGrant = (code: string): Expected => ({ status: 400, error: 'invalid_grant', code });

after(() => rmSync(dir, { recursive: true, force: true }));

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`a person's assertion is addressed to the agent that acts first (${store})`, () => {
    let h: Harness;
    let planner: AgentClient;
    let executor: AgentClient;
    let stranger: AgentClient; // registered, no client id at the person issuer

    before(async () => {
      h = await startHarness({
        store,
        extraIssuers: [
          {
            issuer: ID_TOKEN_ONLY,
            jwksFile: jwksFile(ID_TOKEN_ONLY),
            kind: 'oidc',
            assertions: ['id_token'],
            maxAssertionAgeSeconds: 600,
          },
          { issuer: ID_JAG_ONLY, jwksFile: jwksFile(ID_JAG_ONLY), kind: 'oidc', assertions: ['id_jag'] },
        ],
      });
      planner = await h.agent('planner', {
        ...WIDE,
        clientIds: {
          [PERSON_ISSUER]: clientIdOf('planner'),
          [ID_TOKEN_ONLY]: 'planner-at-id-token-only',
          [ID_JAG_ONLY]: 'planner-at-id-jag-only',
        },
      });
      executor = await h.agent('executor', WIDE);
      stranger = await h.agent('stranger', { clientIds: {} });
    });
    after(() => h?.close());

    /** A root exchange by `client` with `token` as the subject (of `type`), for the executor. */
    const root = (client: AgentClient, token: string, type: string = TOKEN_TYPES.idToken, extra = {}) =>
      raw(h, {
        client,
        params: exchangeParams(token, type, agentIdOf('executor'), {
          authorization_details: details(),
          ...extra,
        }),
      });
    const rootOk = async (
      client: AgentClient,
      token: string,
      type: string = TOKEN_TYPES.idToken,
      extra = {},
    ) => {
      const response = await root(client, token, type, extra);
      const body = (await response.json()) as { access_token: string };
      assert.equal(response.status, 200, JSON.stringify(body));
      return claimsOf(body.access_token);
    };
    const refuseRoot = (
      client: AgentClient,
      token: string,
      expected: Expected,
      type: string = TOKEN_TYPES.idToken,
      extra = {},
    ) => expectRejection(h, () => root(client, token, type, extra), expected);
    /** The jwt-bearer grant with an ID-JAG, authenticated as `client`. */
    const bearer = (
      client: AgentClient,
      assertion: string,
      extra: Record<string, string> = {},
      grants: 'details' | 'none' = 'details',
    ) =>
      raw(h, {
        client,
        params: {
          grant_type: JWT_BEARER,
          assertion,
          ...(grants === 'details' ? { authorization_details: details() } : {}),
          ...extra,
        },
      });
    /** An assertion signed by one of the single-kind issuers. */
    const signedBy = (issuer: string, claims: Record<string, unknown>, typ = 'JWT') =>
      signCompact(
        { typ },
        { iss: issuer, sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 300, ...claims },
        onlyKeys[issuer]!,
      );

    // ─── ID tokens ─────────────────────────────────────────────────────────────────────────────────

    test('an ID token addressed to the agent roots a warrant for it', async () => {
      const claims = await rootOk(planner, h.idToken('alice', planner));
      assert.equal(claims['sub'], 'alice');
      assert.equal(claims['sub_iss'], PERSON_ISSUER);
      assert.deepEqual(claims['act'], { sub: planner.agentId });
    });

    test('an ID token addressed to another agent roots nothing for the agent presenting it', async () => {
      // The executor holds alice's ID token for the planner (and its may_act names the planner, too).
      const forPlanner = h.idToken('alice', planner, { may_act: { sub: planner.agentId } });
      await refuseRoot(executor, forPlanner, invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'));
      // The same token still works for the agent it is addressed to.
      await rootOk(planner, forPlanner);
    });

    test('an ID token addressed to the STS only (the old style) is refused', async () => {
      const oldStyle = h.idToken('alice', planner, { aud: PERSON_AUDIENCE });
      const { body } = await refuseRoot(planner, oldStyle, invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'));
      assert.match(body['error_description']!, /not addressed to the acting agent/);
      const noAud = h.idToken('alice', planner, { aud: undefined });
      await refuseRoot(planner, noAud, invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'));
    });

    test('an agent with no client id at the issuer cannot root a warrant with its ID tokens', async () => {
      await refuseRoot(
        stranger,
        h.idToken('alice', stranger, { aud: 'stranger-app' }),
        invalidGrant('WARRANT_AGENT_CLIENT_ID_MISSING'),
      );
    });

    test('azp: with several audiences it is required, must be one of them, and must be the agent', async () => {
      const mine = clientIdOf('planner');
      // Several audiences, azp = the planner's client id: accepted.
      await rootOk(planner, h.idToken('alice', planner, { aud: [mine, PERSON_AUDIENCE], azp: mine }));
      // Several audiences and no azp: whose token is it? Refused.
      await refuseRoot(
        planner,
        h.idToken('alice', planner, { aud: [mine, PERSON_AUDIENCE] }),
        invalidGrant('WARRANT_ASSERTION_AZP_INVALID'),
      );
      // An azp outside the audiences.
      await refuseRoot(
        planner,
        h.idToken('alice', planner, { aud: [mine, PERSON_AUDIENCE], azp: 'someone-else' }),
        invalidGrant('WARRANT_ASSERTION_AZP_INVALID'),
      );
      // The token was issued to another client that listed the planner as an audience.
      await refuseRoot(
        planner,
        h.idToken('alice', planner, { aud: [mine, clientIdOf('executor')], azp: clientIdOf('executor') }),
        invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'),
      );
      // One audience, an azp naming another client: refused as well.
      await refuseRoot(
        planner,
        h.idToken('alice', planner, { aud: mine, azp: clientIdOf('executor') }),
        invalidGrant('WARRANT_ASSERTION_AZP_INVALID'),
      );
      // One audience, azp the same client: accepted.
      await rootOk(planner, h.idToken('alice', planner, { aud: [mine], azp: mine }));
    });

    test('client ids are per issuer: the planner id at one issuer does not address it at another', async () => {
      const token = signedBy(ID_TOKEN_ONLY, { aud: clientIdOf('planner') });
      await refuseRoot(planner, token, invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'));
      await rootOk(planner, signedBy(ID_TOKEN_ONLY, { aud: 'planner-at-id-token-only' }));
    });

    // ─── ID-JAGs ───────────────────────────────────────────────────────────────────────────────────

    test('an ID-JAG roots a warrant through token exchange', async () => {
      const claims = await rootOk(planner, h.idJag('alice', planner), ID_JAG_TYPE);
      assert.equal(claims['sub'], 'alice');
      assert.equal(claims['sub_iss'], PERSON_ISSUER);
      assert.deepEqual(claims['act'], { sub: planner.agentId });
      assert.equal(claims['aud'], agentIdOf('executor'));
    });

    test('an ID-JAG roots a warrant through jwt-bearer, addressed to the resource', async () => {
      const response = await bearer(planner, h.idJag('alice', planner), { resource: agentIdOf('executor') });
      const body = (await response.json()) as Record<string, string>;
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.equal(body['issued_token_type'], TOKEN_TYPES.warrant);
      assert.equal(body['token_type'], 'DPoP');
      const claims = claimsOf(body['access_token']!);
      assert.deepEqual(claims['act'], { sub: planner.agentId });
      assert.equal(claims['aud'], agentIdOf('executor'));
      assert.deepEqual(claims['cnf'], { jkt: planner.key.kid });
      assert.equal(claims['depth'], 0);
      // Without the parameter, the ID-JAG's single resource is the recipient; its scope the grants.
      const fromClaims = await bearer(
        planner,
        h.idJag('alice', planner, { resource: TOOL, scope: 'crm:read' }),
        {},
        'none',
      );
      const second = (await fromClaims.json()) as Record<string, string>;
      assert.equal(fromClaims.status, 200, JSON.stringify(second));
      const c2 = claimsOf(second['access_token']!);
      assert.equal(c2['aud'], TOOL);
      assert.equal(c2['scope'], 'crm:read');
    });

    test('an ID-JAG is single use: a replay issues nothing, through either grant', async () => {
      const jag = h.idJag('alice', planner);
      await rootOk(planner, jag, ID_JAG_TYPE);
      await refuseRoot(planner, jag, invalidGrant('WARRANT_ASSERTION_REPLAYED'), ID_JAG_TYPE);
      await expectRejection(
        h,
        () => bearer(planner, jag, { resource: agentIdOf('executor') }),
        invalidGrant('WARRANT_ASSERTION_REPLAYED'),
      );
      const viaBearer = h.idJag('alice', planner);
      const first = await bearer(planner, viaBearer, { resource: agentIdOf('executor') });
      assert.equal(first.status, 200);
      await expectRejection(
        h,
        () => bearer(planner, viaBearer, { resource: agentIdOf('executor') }),
        invalidGrant('WARRANT_ASSERTION_REPLAYED'),
      );
    });

    test('a refused ID-JAG exchange does not spend the jti', async () => {
      const jag = h.idJag('alice', planner, { scope: 'crm:read' });
      // Grants beyond the ID-JAG's scope: refused after the ID-JAG verified, before anything is issued.
      await refuseRoot(
        planner,
        jag,
        { status: 400, error: 'invalid_scope', code: 'WARRANT_GRANT_NOT_HELD' },
        ID_JAG_TYPE,
        { authorization_details: details([{ action: 'crm:delete', resource: 'crm/*' }]) },
      );
      await rootOk(planner, jag, ID_JAG_TYPE);
    });

    test('an ID-JAG with a wrong aud is refused', async () => {
      for (const aud of [
        'https://other-sts.warrant.test',
        [h.url, 'https://other-sts.warrant.test'],
        PERSON_AUDIENCE,
      ]) {
        await refuseRoot(
          planner,
          h.idJag('alice', planner, { aud }),
          invalidGrant('WARRANT_AUDIENCE_MISMATCH'),
          ID_JAG_TYPE,
        );
      }
      await expectRejection(
        h,
        () =>
          bearer(planner, h.idJag('alice', planner, { aud: 'https://other-sts.warrant.test' }), {
            resource: agentIdOf('executor'),
          }),
        invalidGrant('WARRANT_AUDIENCE_MISMATCH'),
      );
      // An array holding exactly this STS is fine (draft §4.4.1).
      await rootOk(planner, h.idJag('alice', planner, { aud: [h.url] }), ID_JAG_TYPE);
    });

    test('an ID-JAG for another client is refused', async () => {
      const forPlanner = h.idJag('alice', planner);
      await refuseRoot(executor, forPlanner, invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'), ID_JAG_TYPE);
      await expectRejection(
        h,
        () => bearer(executor, forPlanner, { resource: TOOL }),
        invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'),
      );
      for (const client_id of [clientIdOf('planner'), undefined]) {
        await refuseRoot(
          planner,
          h.idJag('alice', planner, { client_id }),
          invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'),
          ID_JAG_TYPE,
        );
      }
    });

    test('a wrong typ is refused: ID-JAG and ID token are never taken for each other', async () => {
      // An ID-JAG without its typ.
      await refuseRoot(
        planner,
        h.idJag('alice', planner, {}, { typ: 'JWT' }),
        invalidGrant('WARRANT_TOKEN_TYPE_MISMATCH'),
        ID_JAG_TYPE,
      );
      // Presented to jwt-bearer without its typ, it is read as a workload token: not for the workload audience.
      await expectRejection(
        h,
        () =>
          bearer(planner, h.idJag('alice', planner, {}, { typ: 'JWT' }), {
            resource: agentIdOf('executor'),
          }),
        invalidGrant('WARRANT_SUBJECT_TOKEN_INVALID'),
      );
      // An ID-JAG presented as an ID token, and an ID token presented as an ID-JAG.
      const jagAddressedLikeIdToken = h.idJag('alice', planner, { aud: clientIdOf('planner') });
      await refuseRoot(planner, jagAddressedLikeIdToken, invalidGrant('WARRANT_TOKEN_TYPE_MISMATCH'));
      await refuseRoot(
        planner,
        h.idToken('alice', planner, { aud: h.url, client_id: planner.agentId, jti: 'x' }),
        invalidGrant('WARRANT_TOKEN_TYPE_MISMATCH'),
        ID_JAG_TYPE,
      );
      // Another explicit type (an access token).
      await refuseRoot(
        planner,
        h.idJag('alice', planner, {}, { typ: 'at+jwt' }),
        invalidGrant('WARRANT_TOKEN_TYPE_MISMATCH'),
        ID_JAG_TYPE,
      );
    });

    test('an ID-JAG without a jti is refused', async () => {
      await refuseRoot(
        planner,
        h.idJag('alice', planner, { jti: undefined }),
        invalidGrant('WARRANT_SUBJECT_TOKEN_INVALID'),
        ID_JAG_TYPE,
      );
    });

    test('an ID-JAG bounds the request: its resources, scope and authorization_details', async () => {
      await refuseRoot(
        planner,
        h.idJag('alice', planner, { resource: TOOL }),
        { status: 400, error: 'invalid_target', code: 'WARRANT_AUDIENCE_NOT_ALLOWED' },
        ID_JAG_TYPE,
      );
      await refuseRoot(
        planner,
        h.idJag('alice', planner, { scope: 'crm:write' }),
        { status: 400, error: 'invalid_scope', code: 'WARRANT_GRANT_NOT_HELD' },
        ID_JAG_TYPE,
      );
      await rootOk(
        planner,
        h.idJag('alice', planner, { resource: [TOOL, agentIdOf('executor')], scope: 'crm:*' }),
        ID_JAG_TYPE,
      );
      // authorization_details of type warrant_grant bound the grants, and are the grants when none are asked.
      const narrow = [{ type: 'warrant_grant', action: 'crm:read', resource: 'crm/accounts' }];
      await refuseRoot(
        planner,
        h.idJag('alice', planner, { authorization_details: narrow }),
        { status: 400, error: 'invalid_scope', code: 'WARRANT_GRANT_NOT_HELD' },
        ID_JAG_TYPE,
      );
      const fromDetails = await bearer(
        planner,
        h.idJag('alice', planner, { authorization_details: narrow }),
        { resource: agentIdOf('executor') },
        'none',
      );
      const issuedBody = (await fromDetails.json()) as { access_token: string };
      assert.equal(fromDetails.status, 200, JSON.stringify(issuedBody));
      assert.deepEqual(claimsOf(issuedBody.access_token)['grants'], [
        { action: 'crm:read', resource: 'crm/accounts' },
      ]);
      // Authority of a type Warrant cannot check is refused, not ignored.
      await refuseRoot(
        planner,
        h.idJag('alice', planner, { authorization_details: [{ type: 'chat_read', actions: ['read'] }] }),
        invalidGrant('WARRANT_SUBJECT_TOKEN_INVALID'),
        ID_JAG_TYPE,
      );
    });

    test('jwt-bearer with an ID-JAG needs client authentication by the agent and a recipient', async () => {
      await expectRejection(
        h,
        () =>
          raw(h, {
            client: planner,
            assertion: null,
            params: { grant_type: JWT_BEARER, assertion: h.idJag('alice', planner), resource: TOOL },
          }),
        { status: 401, error: 'invalid_client', code: 'WARRANT_CLIENT_AUTH_FAILED' },
      );
      await expectRejection(h, () => bearer(planner, h.idJag('alice', planner)), {
        status: 400,
        error: 'invalid_target',
        code: 'WARRANT_AUDIENCE_NOT_ALLOWED',
      });
      await expectRejection(
        h,
        () => bearer(planner, h.idJag('alice', planner), { audience: agentIdOf('executor') }),
        { status: 400, error: 'invalid_target', code: 'WARRANT_AUDIENCE_NOT_ALLOWED' },
      );
    });

    // ─── which issuer may send what, and how old ───────────────────────────────────────────────────

    test('an issuer not allowed to send that kind of assertion is refused', async () => {
      await refuseRoot(
        planner,
        signedBy(ID_TOKEN_ONLY, { aud: h.url, client_id: planner.agentId, jti: 'j1' }, ID_JAG_TYP),
        invalidGrant('WARRANT_ASSERTION_KIND_NOT_ALLOWED'),
        ID_JAG_TYPE,
      );
      await refuseRoot(
        planner,
        signedBy(ID_JAG_ONLY, { aud: 'planner-at-id-jag-only' }),
        invalidGrant('WARRANT_ASSERTION_KIND_NOT_ALLOWED'),
      );
      await rootOk(
        planner,
        signedBy(ID_JAG_ONLY, { aud: h.url, client_id: planner.agentId, jti: 'j2' }, ID_JAG_TYP),
        ID_JAG_TYPE,
      );
    });

    test('an assertion older than the issuer allows is refused (auth_time, else iat)', async () => {
      const now = nowSeconds();
      // Default bound (3600 s): the person logged in two hours ago.
      await refuseRoot(
        planner,
        h.idToken('alice', planner, { auth_time: now - 7200 }),
        invalidGrant('WARRANT_ASSERTION_TOO_OLD'),
      );
      await refuseRoot(
        planner,
        h.idJag('alice', planner, { auth_time: now - 7200 }),
        invalidGrant('WARRANT_ASSERTION_TOO_OLD'),
        ID_JAG_TYPE,
      );
      // No auth_time: iat counts. An ID token issued 70 minutes ago, still unexpired.
      await refuseRoot(
        planner,
        h.idToken('alice', planner, { iat: now - 4200, exp: now + 300 }),
        invalidGrant('WARRANT_ASSERTION_TOO_OLD'),
      );
      // A configured bound (600 s) is the issuer's own.
      await refuseRoot(
        planner,
        signedBy(ID_TOKEN_ONLY, { aud: 'planner-at-id-token-only', auth_time: now - 900 }),
        invalidGrant('WARRANT_ASSERTION_TOO_OLD'),
      );
      // Recent enough.
      await rootOk(planner, h.idToken('alice', planner, { auth_time: now - 100 }));
      await rootOk(
        planner,
        signedBy(ID_TOKEN_ONLY, { aud: 'planner-at-id-token-only', auth_time: now - 500 }),
      );
    });

    // ─── the admin API: client ids and issuers' assertion kinds ────────────────────────────────────

    test('client ids are registered, replaced and unique per issuer through the admin API', async () => {
      const register = (name: string, clientIds: unknown) =>
        h.admin('POST', '/agents', {
          name,
          owner: 'alice@example.org',
          publicJwk: generateSigningKey().jwk,
          clientIds,
        });
      const created = await register('reporter', { [PERSON_ISSUER]: 'reporter-app' });
      assert.equal(created.status, 201);
      assert.deepEqual(((await created.json()) as { clientIds: unknown }).clientIds, {
        [PERSON_ISSUER]: 'reporter-app',
      });
      // Another agent cannot take the same client id at the same issuer.
      const taken = await register('copycat', { [PERSON_ISSUER]: 'reporter-app' });
      assert.equal(taken.status, 400);
      assert.equal(((await taken.json()) as { code: string }).code, 'WARRANT_STORE_CONFLICT');
      assert.equal((await h.admin('GET', '/agents/copycat')).status, 404);
      for (const clientIds of [
        ['x'],
        { 'not a url': 'x' },
        { [PERSON_ISSUER]: '' },
        { [PERSON_ISSUER]: 5 },
      ]) {
        const bad = await register('malformed', clientIds);
        assert.equal(bad.status, 400);
        assert.equal(((await bad.json()) as { code: string }).code, 'WARRANT_REQUEST_MALFORMED');
      }
      // Replacing the client id moves the binding: the old ID token no longer addresses the agent.
      const reporter = await h.agent('reporter2', WIDE);
      const before = h.idToken('alice', reporter);
      const replaced = await h.admin('PUT', '/agents/reporter2/client-ids', {
        clientIds: { [PERSON_ISSUER]: 'reporter2-new-app' },
      });
      assert.equal(replaced.status, 200);
      await refuseRoot(reporter, before, invalidGrant('WARRANT_ASSERTION_NOT_FOR_AGENT'));
      await rootOk(reporter, h.idToken('alice', reporter, { aud: 'reporter2-new-app' }));
    });

    test('an issuer added through the admin API sends only the assertions it is given', async () => {
      const key = generateSigningKey('ES256');
      const issuer = 'https://runtime-idp.warrant.test';
      const put = await h.admin('PUT', '/issuers', {
        issuer,
        kind: 'oidc',
        audience: 'unused-for-persons',
        jwks: { keys: [{ ...key.jwk }] },
        assertions: ['id_jag'],
        maxAssertionAgeSeconds: 120,
      });
      assert.equal(put.status, 200, await put.clone().text());
      const sign = (claims: Record<string, unknown>, typ = 'JWT') =>
        signCompact(
          { typ },
          { iss: issuer, sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 60, ...claims },
          key,
        );
      await refuseRoot(
        planner,
        sign({ aud: 'planner-at-runtime' }),
        invalidGrant('WARRANT_ASSERTION_KIND_NOT_ALLOWED'),
      );
      const jag = (claims: Record<string, unknown> = {}) =>
        sign({ aud: h.url, client_id: planner.agentId, jti: `j-${Math.random()}`, ...claims }, ID_JAG_TYP);
      await refuseRoot(
        planner,
        jag({ auth_time: nowSeconds() - 300 }),
        invalidGrant('WARRANT_ASSERTION_TOO_OLD'),
        ID_JAG_TYPE,
      );
      await rootOk(planner, jag(), ID_JAG_TYPE);
      const bad = await h.admin('PUT', '/issuers', {
        issuer,
        kind: 'spiffe',
        audience: 'a',
        jwks: { keys: [] },
        assertions: ['id_token'],
      });
      assert.equal(bad.status, 400);
    });

    // ─── may_act (RFC 8693 §4.4) ───────────────────────────────────────────────────────────────────

    test('may_act at the root: the acting agent must be the party it names', async () => {
      const mismatch = invalidGrant('WARRANT_MAY_ACT_MISMATCH');
      for (const may_act of [
        { sub: executor.agentId },
        { sub: planner.agentId, iss: 'https://elsewhere.warrant.test' },
        { sub: clientIdOf('planner') }, // a client id without the issuer that scopes it
        { sub: clientIdOf('planner'), iss: ID_TOKEN_ONLY },
        'planner',
        { iss: h.url },
      ]) {
        await refuseRoot(planner, h.idToken('alice', planner, { may_act }), mismatch);
      }
      await refuseRoot(
        planner,
        h.idJag('alice', planner, { may_act: { sub: executor.agentId } }),
        mismatch,
        ID_JAG_TYPE,
      );
      // Matches: by agent id (with or without this STS as iss), or by client id at the assertion's issuer.
      await rootOk(planner, h.idToken('alice', planner, { may_act: { sub: planner.agentId } }));
      await rootOk(planner, h.idToken('alice', planner, { may_act: { sub: planner.agentId, iss: h.url } }));
      await rootOk(
        planner,
        h.idToken('alice', planner, { may_act: { sub: clientIdOf('planner'), iss: PERSON_ISSUER } }),
      );
      await rootOk(planner, h.idJag('alice', planner, { may_act: { sub: planner.agentId } }), ID_JAG_TYPE);
    });

    test('may_act at a hop: a warrant that names who may act on it is exchanged by that party only', async () => {
      const now = nowSeconds();
      const warrantFor = async (mayAct: { sub: string; iss?: string }) =>
        (
          await h.plane.sts.mintWarrant(
            {
              sub: 'alice',
              sub_iss: PERSON_ISSUER,
              act: { sub: planner.agentId },
              aud: executor.agentId,
              scope: 'crm:read',
              grants: [CRM_READ],
              txn: h.plane.sts.newTxn(),
              depth: 0,
              max_depth: 5,
              may_delegate: { aud: ['https://tools.warrant.test/*'] },
              cnf: { jkt: planner.key.kid },
              iat: now,
              exp: now + 300,
              may_act: mayAct,
            },
            null,
          )
        ).token;
      const hop = (parent: string) =>
        raw(h, { client: executor, params: exchangeParams(parent, TOKEN_TYPES.warrant, TOOL) });
      for (const mayAct of [{ sub: agentIdOf('third') }, { sub: executor.agentId, iss: 'https://x.test' }]) {
        const parent = await warrantFor(mayAct);
        await expectRejection(h, () => hop(parent), invalidGrant('WARRANT_MAY_ACT_MISMATCH'));
      }
      const allowed = await hop(await warrantFor({ sub: executor.agentId, iss: h.url }));
      assert.equal(allowed.status, 200, await allowed.clone().text());
      const child = claimsOf(((await allowed.json()) as { access_token: string }).access_token);
      assert.deepEqual(child['act'], { sub: executor.agentId, act: { sub: planner.agentId } });
    });
  });
}
