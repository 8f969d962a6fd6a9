/**
 * Real clients and peers against the running STS, on both stores: `openid-client` (RFC 8414 discovery,
 * `private_key_jwt`, DPoP with server nonces, RFC 8693 token exchange, RFC 7662 introspection, RFC 7009
 * revocation) as the agents; `oidc-provider` as the person's OpenID Provider whose genuine ID tokens are the
 * subject tokens; `jose`'s `createRemoteJWKSet` verifying what the STS issues.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import * as client from 'openid-client';
import { GRANT_TYPE, TOKEN_TYPE } from '../../src/core/tokens/token-types.ts';
import { type OidcIdp, startOidcIdp } from '../support/oidc-idp.ts';
import { agentIdOf, type Harness, startHarness } from '../support/sts-harness.ts';
import { issued } from './rejections-support.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = GRANT_TYPE.jwtBearer;
const ID_JAG_TYPE = TOKEN_TYPE.idJag;
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const WARRANT_TYPE = 'urn:warrant:params:oauth:token-type:warrant';
const TOOL = 'https://tools.warrant.test/crm';

/** An agent driven only by openid-client, with a WebCrypto key pair registered as its identity key. */
interface RealAgent {
  readonly id: string;
  readonly jkt: string;
  readonly config: client.Configuration;
  readonly dpop: client.DPoPHandle;
  /** Responses from the STS that asked for a DPoP nonce (`use_dpop_nonce`). */
  readonly nonceChallenges: () => number;
}

type KeyKind = 'ES256' | 'Ed25519';

async function realAgent(
  h: Harness,
  name: string,
  kind: KeyKind,
  metadata: Record<string, unknown> = {},
): Promise<RealAgent> {
  // A WebCrypto key pair (non-extractable private key): its public JWK is what the admin API registers.
  const keyPair = await generateKeyPair(kind);
  const exported = await exportJWK(keyPair.publicKey);
  const publicJwk: JWK =
    exported.kty === 'EC'
      ? { kty: 'EC', crv: exported.crv!, x: exported.x!, y: exported.y! }
      : { kty: 'OKP', crv: exported.crv!, x: exported.x! };
  const jkt = await calculateJwkThumbprint(publicJwk);
  const response = await h.admin('POST', '/agents', {
    name,
    owner: 'alice@example.org',
    tier: 'planner',
    publicJwk,
    ...metadata,
  });
  assert.equal(response.status, 201, await response.text());

  let challenges = 0;
  const countingFetch: client.CustomFetch = async (url, options) => {
    const answer = await fetch(url, options as RequestInit);
    if (answer.status === 400 && answer.headers.has('dpop-nonce')) {
      const body = (await answer.clone().json()) as { error?: string };
      if (body.error === 'use_dpop_nonce') challenges++;
    }
    return answer;
  };
  const config = await client.discovery(
    new URL(h.url),
    agentIdOf(name),
    undefined,
    client.PrivateKeyJwt({ key: keyPair.privateKey, kid: jkt }),
    { algorithm: 'oauth2', execute: [client.allowInsecureRequests], [client.customFetch]: countingFetch },
  );
  return {
    id: agentIdOf(name),
    jkt,
    config,
    dpop: client.getDPoPHandle(config, keyPair),
    nonceChallenges: () => challenges,
  };
}

/** The OAuth error body of a failed openid-client request (ResponseBodyError keeps it as `cause`). */
async function oauthError(promise: Promise<unknown>): Promise<{ error?: string; code?: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof client.ResponseBodyError, `unexpected failure: ${String(error)}`);
    return error.cause as { error?: string; code?: string };
  }
  assert.fail('the request succeeded');
}

const sha256 = (token: string) => createHash('sha256').update(token, 'ascii').digest('base64url');

let idp: OidcIdp;
before(async () => {
  idp = await startOidcIdp([{ sub: 'alice', email: 'alice@example.org' }]);
});
after(async () => {
  await idp.close();
});

for (const store of ['sqlite', 'postgres'] as const) {
  describe(`real clients against the running STS (${store})`, () => {
    let h: Harness;
    let planner: RealAgent;
    let executor: RealAgent;
    let outsider: RealAgent;
    let stsKeys: ReturnType<typeof createRemoteJWKSet>;
    let root: string;
    let hop: string;

    before(async () => {
      h = await startHarness({
        store,
        overrides: {
          sts: {
            // The harness's `sts` overrides replace its own block, so the loopback listener is restated.
            listen: { host: '127.0.0.1', port: 0 },
            trustedIssuers: [idp.trustedIssuer],
          },
        },
      });
      // The planner is the relying party the person logs in to: its client id at the IdP is the ID token's aud.
      planner = await realAgent(h, 'planner', 'ES256', { clientIds: { [idp.issuer]: idp.clientId } });
      executor = await realAgent(h, 'executor', 'Ed25519', {
        tier: 'executor',
        allowedAudiences: ['https://tools.warrant.test/*', `spiffe://warrant.test/*`],
      });
      // Another relying party of the same IdP: its client id there is its own.
      outsider = await realAgent(h, 'outsider', 'ES256', { clientIds: { [idp.issuer]: 'outsider-app' } });
      stsKeys = createRemoteJWKSet(new URL(`${h.url}/jwks`));
    });
    after(async () => {
      await h?.close();
    });

    test('openid-client discovers the STS through RFC 8414 metadata', () => {
      const metadata = planner.config.serverMetadata();
      assert.equal(metadata.issuer, h.url);
      assert.equal(metadata.token_endpoint, `${h.url}/token`);
      assert.equal(metadata.jwks_uri, `${h.url}/jwks`);
      assert.equal(metadata.introspection_endpoint, `${h.url}/introspect`);
      assert.equal(metadata.revocation_endpoint, `${h.url}/revoke`);
      assert.ok(metadata.grant_types_supported?.includes(TOKEN_EXCHANGE));
      assert.ok(metadata.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
    });

    test('client credentials with private_key_jwt and DPoP (nonce round trip) → identity token', async () => {
      assert.equal(planner.nonceChallenges(), 0);
      const response = await client.clientCredentialsGrant(planner.config, {}, { DPoP: planner.dpop });
      // The first proof carried no nonce: the STS answered use_dpop_nonce and openid-client retried.
      assert.equal(planner.nonceChallenges(), 1);
      assert.equal(response.token_type, 'dpop');
      assert.equal(response.issued_token_type, 'urn:warrant:params:oauth:token-type:identity');
      const { payload, protectedHeader } = await jwtVerify(response.access_token, stsKeys, {
        issuer: h.url,
        audience: h.url,
        typ: 'wi+jwt',
      });
      assert.equal(payload.sub, planner.id);
      assert.deepEqual(payload['cnf'], { jkt: planner.jkt });
      assert.ok(['EdDSA', 'ES256'].includes(protectedHeader.alg));
      assert.ok(payload.exp! - payload.iat! <= 900);

      // The nonce is now cached: a second request needs no further round trip.
      await client.clientCredentialsGrant(planner.config, {}, { DPoP: planner.dpop });
      assert.equal(planner.nonceChallenges(), 1);
    });

    test('an oidc-provider ID token is exchanged (DPoP-bound) for a root warrant', async () => {
      const idToken = await idp.loginAndGetIdToken('alice');
      const person = decodeJwt(idToken);
      assert.equal(person.iss, idp.issuer);
      assert.equal(person.aud, idp.clientId);
      assert.equal(decodeProtectedHeader(idToken).alg, 'ES256');
      const response = await client.genericGrantRequest(
        planner.config,
        TOKEN_EXCHANGE,
        {
          subject_token: idToken,
          subject_token_type: ID_TOKEN_TYPE,
          audience: executor.id,
          authorization_details: JSON.stringify([
            { type: 'warrant_grant', action: 'crm:read', resource: 'crm/*', constraints: { max_rows: 100 } },
          ]),
          requested_token_type: WARRANT_TYPE,
          task: 'quarterly report',
        },
        { DPoP: planner.dpop },
      );
      assert.equal(response.token_type, 'dpop');
      assert.equal(response.issued_token_type, WARRANT_TYPE);
      root = response.access_token;
      const { payload } = await jwtVerify(root, stsKeys, {
        issuer: h.url,
        audience: executor.id,
        typ: 'warrant+jwt',
      });
      const claims = payload as JWTPayload & Record<string, unknown>;
      assert.equal(claims.sub, 'alice');
      assert.equal(claims['sub_iss'], idp.issuer);
      assert.deepEqual(claims['act'], { sub: planner.id });
      assert.deepEqual(claims['cnf'], { jkt: planner.jkt });
      assert.equal(claims['depth'], 0);
      assert.equal(claims['prev'], undefined);
      assert.equal(claims['scope'], 'crm:read');
      assert.deepEqual(claims['grants'], [
        { action: 'crm:read', resource: 'crm/*', constraints: { max_rows: 100 } },
      ]);
    });

    test('the recipient agent exchanges the warrant for a hop bound to its own key', async () => {
      const response = await client.genericGrantRequest(
        executor.config,
        TOKEN_EXCHANGE,
        {
          subject_token: root,
          subject_token_type: WARRANT_TYPE,
          audience: TOOL,
          authorization_details: JSON.stringify([
            {
              type: 'warrant_grant',
              action: 'crm:read',
              resource: 'crm/accounts',
              constraints: { max_rows: 50 },
            },
          ]),
          requested_token_type: WARRANT_TYPE,
        },
        { DPoP: executor.dpop },
      );
      // The executor's own DPoP handle met the nonce challenge on its first proof too.
      assert.equal(executor.nonceChallenges(), 1);
      hop = response.access_token;
      const { payload } = await jwtVerify(hop, stsKeys, {
        issuer: h.url,
        audience: TOOL,
        typ: 'warrant+jwt',
      });
      const claims = payload as JWTPayload & Record<string, unknown>;
      const rootClaims = (await jwtVerify(root, stsKeys, { issuer: h.url, typ: 'warrant+jwt' })).payload;
      assert.deepEqual(claims['cnf'], { jkt: executor.jkt });
      assert.equal(claims['prev'], sha256(root));
      assert.equal(claims['root'], sha256(root));
      assert.equal(claims['depth'], 1);
      assert.equal(claims['txn'], rootClaims['txn']);
      assert.equal(claims.sub, 'alice');
      assert.deepEqual(claims['act'], { sub: executor.id, act: { sub: planner.id } });
      assert.ok(claims.exp! <= rootClaims.exp!);
      assert.deepEqual(claims['grants'], [
        { action: 'crm:read', resource: 'crm/accounts', constraints: { max_rows: 50 } },
      ]);
    });

    test('introspection answers active for the agents involved, inactive for others', async () => {
      const byPlanner = await client.tokenIntrospection(planner.config, root);
      assert.equal(byPlanner.active, true);
      assert.equal(byPlanner.sub, 'alice');
      assert.equal(byPlanner['token_hash'], sha256(root));
      assert.equal(byPlanner['typ'], 'warrant+jwt');
      const byRecipient = await client.tokenIntrospection(executor.config, root);
      assert.equal(byRecipient.active, true);
      const hopByExecutor = await client.tokenIntrospection(executor.config, hop);
      assert.equal(hopByExecutor.active, true);
      assert.equal(hopByExecutor.aud, TOOL);
      const byOutsider = await client.tokenIntrospection(outsider.config, root);
      assert.deepEqual({ ...byOutsider }, { active: false });
    });

    test('revocation kills the warrant and, by cascade, its hop; a further exchange is refused', async () => {
      // RFC 7009: an outsider's revocation is answered 200 and changes nothing.
      await client.tokenRevocation(outsider.config, root);
      assert.equal((await client.tokenIntrospection(planner.config, root)).active, true);

      await client.tokenRevocation(planner.config, root);
      assert.equal((await client.tokenIntrospection(planner.config, root)).active, false);
      assert.equal((await client.tokenIntrospection(executor.config, root)).active, false);
      assert.equal((await client.tokenIntrospection(executor.config, hop)).active, false);

      const refused = await oauthError(
        client.genericGrantRequest(
          executor.config,
          TOKEN_EXCHANGE,
          {
            subject_token: root,
            subject_token_type: WARRANT_TYPE,
            audience: TOOL,
            scope: 'crm:read',
            requested_token_type: WARRANT_TYPE,
          },
          { DPoP: executor.dpop },
        ),
      );
      assert.equal(refused.error, 'invalid_grant');
      assert.equal(refused.code, 'WARRANT_PARENT_REVOKED');
    });

    test('an ID token for the planner roots nothing for another relying party (openid-client)', async () => {
      const idToken = await idp.loginAndGetIdToken('alice');
      const before = await issued(h);
      const refused = await oauthError(
        client.genericGrantRequest(
          outsider.config,
          TOKEN_EXCHANGE,
          {
            subject_token: idToken,
            subject_token_type: ID_TOKEN_TYPE,
            audience: executor.id,
            scope: 'crm:read',
            requested_token_type: WARRANT_TYPE,
          },
          { DPoP: outsider.dpop },
        ),
      );
      assert.equal(refused.error, 'invalid_grant');
      assert.equal(refused.code, 'WARRANT_ASSERTION_NOT_FOR_AGENT');
      assert.deepEqual(await issued(h), before, 'nothing was issued');
    });

    test('an ID-JAG from the IdP roots a warrant through jwt-bearer (openid-client, DPoP)', async () => {
      const jag = await idp.issueIdJag('alice', { aud: h.url, client_id: planner.id, scope: 'crm:read' });
      const response = await client.genericGrantRequest(
        planner.config,
        JWT_BEARER,
        { assertion: jag, resource: executor.id },
        { DPoP: planner.dpop },
      );
      assert.equal(response.token_type, 'dpop');
      assert.equal(response.issued_token_type, WARRANT_TYPE);
      const { payload } = await jwtVerify(response.access_token, stsKeys, {
        issuer: h.url,
        audience: executor.id,
        typ: 'warrant+jwt',
      });
      const claims = payload as JWTPayload & Record<string, unknown>;
      assert.equal(claims.sub, 'alice');
      assert.equal(claims['sub_iss'], idp.issuer);
      assert.deepEqual(claims['act'], { sub: planner.id });
      assert.deepEqual(claims['cnf'], { jkt: planner.jkt });
      assert.equal(claims['scope'], 'crm:read');

      // The same ID-JAG again: single use, through either grant, and nothing issued.
      const before = await issued(h);
      const replayed = await oauthError(
        client.genericGrantRequest(
          planner.config,
          JWT_BEARER,
          { assertion: jag, resource: executor.id },
          { DPoP: planner.dpop },
        ),
      );
      assert.equal(replayed.error, 'invalid_grant');
      assert.equal(replayed.code, 'WARRANT_ASSERTION_REPLAYED');
      const viaExchange = await oauthError(
        client.genericGrantRequest(
          planner.config,
          TOKEN_EXCHANGE,
          { subject_token: jag, subject_token_type: ID_JAG_TYPE, audience: executor.id },
          { DPoP: planner.dpop },
        ),
      );
      assert.equal(viaExchange.code, 'WARRANT_ASSERTION_REPLAYED');
      assert.deepEqual(await issued(h), before, 'nothing was issued');
    });

    test('an ID-JAG from the IdP roots a warrant through token exchange, for its client only (openid-client)', async () => {
      const forPlanner = () => idp.issueIdJag('alice', { aud: h.url, client_id: planner.id });
      const before = await issued(h);
      const refused = await oauthError(
        client.genericGrantRequest(
          outsider.config,
          TOKEN_EXCHANGE,
          {
            subject_token: await forPlanner(),
            subject_token_type: ID_JAG_TYPE,
            audience: executor.id,
            scope: 'crm:read',
          },
          { DPoP: outsider.dpop },
        ),
      );
      assert.equal(refused.error, 'invalid_grant');
      assert.equal(refused.code, 'WARRANT_ASSERTION_NOT_FOR_AGENT');
      const viaBearer = await oauthError(
        client.genericGrantRequest(
          outsider.config,
          JWT_BEARER,
          { assertion: await forPlanner(), resource: executor.id, scope: 'crm:read' },
          { DPoP: outsider.dpop },
        ),
      );
      assert.equal(viaBearer.code, 'WARRANT_ASSERTION_NOT_FOR_AGENT');
      assert.deepEqual(await issued(h), before, 'nothing was issued');

      const response = await client.genericGrantRequest(
        planner.config,
        TOKEN_EXCHANGE,
        {
          subject_token: await forPlanner(),
          subject_token_type: ID_JAG_TYPE,
          audience: executor.id,
          scope: 'crm:read',
          requested_token_type: WARRANT_TYPE,
        },
        { DPoP: planner.dpop },
      );
      const { payload } = await jwtVerify(response.access_token, stsKeys, {
        issuer: h.url,
        audience: executor.id,
        typ: 'warrant+jwt',
      });
      assert.deepEqual(payload['act'], { sub: planner.id });
      assert.equal(payload['sub_iss'], idp.issuer);
    });
  });
}
