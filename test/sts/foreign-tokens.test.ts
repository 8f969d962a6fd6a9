/**
 * Every JWT the STS reads goes through the one strict parser and the one set of clock rules (DESIGN §3,
 * issue 8 item 2): persons' ID tokens and ID-JAGs, workload tokens, client assertions and DPoP proofs. For
 * each kind, the genuine token is accepted, and three variants that a lenient decoder lets through are
 * refused with nothing issued: a space inside the signature segment, changed unused bits in the signature's
 * last base64url character (the same signature bytes, another token string), and `iat` in the future beyond
 * the skew.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDpopProof } from '../../src/core/dpop/index.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { GRANT_TYPE, TOKEN_TYPE } from '../../src/core/tokens/token-types.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { agentIdOf, type Harness, startHarness } from '../support/sts-harness.ts';
import {
  clientAssertion,
  dpopProof,
  type Expected,
  exchangeParams,
  expectRejection,
  nowSeconds,
  raw,
  TOKEN_TYPES,
} from './rejections-support.ts';

const ID_JAG_TYPE = TOKEN_TYPE.idJag;
const JWT_BEARER = GRANT_TYPE.jwtBearer;
const K8S = 'https://kubernetes.default.svc';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A space inside the signature segment (a lenient decoder skips it). */
function spaceInSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const at = dot + 1 + Math.floor((token.length - dot - 1) / 2);
  return `${token.slice(0, at)} ${token.slice(at)}`;
}

/**
 * The signature's last character with its lowest (unused) bit flipped: a 64-byte signature is 86 base64url
 * characters whose last 4 bits are padding, so a lenient decoder reads the same bytes from another string.
 */
function unusedBitsChanged(token: string): string {
  const last = token.at(-1)!;
  const flipped = ALPHABET[ALPHABET.indexOf(last) ^ 1]!;
  assert.equal(Buffer.from(flipped, 'base64url').length, Buffer.from(last, 'base64url').length);
  return `${token.slice(0, -1)}${flipped}`;
}

const dir = mkdtempSync(join(tmpdir(), 'warrant-foreign-'));
const k8sKey = generateSigningKey('ES256');
const k8sJwks = join(dir, 'k8s.json');
writeFileSync(k8sJwks, JSON.stringify({ keys: [{ ...k8sKey.jwk }] }));

describe('every foreign JWT goes through the strict parser and the shared clock rules', () => {
  let h: Harness;
  let planner: AgentClient;
  let worker: AgentClient;

  before(async () => {
    h = await startHarness({
      extraIssuers: [
        {
          issuer: K8S,
          jwksFile: k8sJwks,
          audience: 'warrant-sts',
          kind: 'kubernetes',
          mapping: {
            claim: 'sub',
            pattern: '^system:serviceaccount:agents:(?<name>[a-z0-9-]+)$',
            // The mapping rule's own `${name}` placeholder, not a template literal.
            agent: ['spiffe://warrant.test/agent/$', '{name}'].join(''),
          },
        },
      ],
    });
    planner = await h.agent('planner');
    await h.agent('executor');
    worker = await h.agent('worker');
  });
  after(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const subjectInvalid: Expected = {
    status: 400,
    error: 'invalid_grant',
    code: 'WARRANT_SUBJECT_TOKEN_INVALID',
  };

  /**
   * The genuine token is accepted; the three variants are refused (`future` is the expectation for the
   * future `iat`, when its code differs).
   */
  async function strictly(
    mint: (claims?: Record<string, unknown>) => string,
    send: (token: string) => Promise<Response>,
    expected: Expected,
    future: Expected = expected,
  ): Promise<void> {
    const genuine = await send(mint());
    assert.equal(genuine.status, 200, await genuine.text());
    const { body: space } = await expectRejection(h, () => send(spaceInSignature(mint())), expected);
    assert.match(space['error_description']!, /base64url/);
    const { body: bits } = await expectRejection(h, () => send(unusedBitsChanged(mint())), expected);
    assert.match(bits['error_description']!, /base64url/);
    const at = nowSeconds() + 600;
    await expectRejection(h, () => send(mint({ iat: at, exp: at + 300 })), future);
  }

  const exchange = (token: string, type: string) =>
    raw(h, {
      client: planner,
      params: exchangeParams(token, type, agentIdOf('executor'), {
        authorization_details: JSON.stringify([
          { type: 'warrant_grant', action: 'crm:read', resource: 'crm/*' },
        ]),
      }),
    });

  test('a person ID token', async () => {
    await strictly(
      (claims) => h.idToken('alice', planner, claims),
      (token) => exchange(token, TOKEN_TYPES.idToken),
      subjectInvalid,
    );
    const future = nowSeconds() + 600;
    const { body } = await expectRejection(
      h,
      () => exchange(h.idToken('alice', planner, { iat: future, exp: future + 60 }), TOKEN_TYPES.idToken),
      subjectInvalid,
    );
    assert.match(body['error_description']!, /issued in the future/);
  });

  test('an ID-JAG', async () => {
    await strictly(
      (claims) => h.idJag('alice', planner, claims),
      (token) => exchange(token, ID_JAG_TYPE),
      subjectInvalid,
    );
  });

  test('a workload token (Kubernetes service account, jwt-bearer)', async () => {
    const k8sToken = (claims: Record<string, unknown> = {}) =>
      signCompact(
        { typ: 'JWT' },
        {
          iss: K8S,
          sub: 'system:serviceaccount:agents:worker',
          aud: ['warrant-sts'],
          iat: nowSeconds(),
          exp: nowSeconds() + 600,
          ...claims,
        },
        k8sKey,
      );
    await strictly(
      k8sToken,
      (token) =>
        raw(h, {
          client: worker,
          assertion: null,
          params: { grant_type: JWT_BEARER, assertion: token },
        }),
      subjectInvalid,
    );
  });

  test('a client assertion (private_key_jwt)', async () => {
    const send = (assertion: string) =>
      raw(h, { client: planner, assertion, params: { grant_type: 'client_credentials' } });
    await strictly((claims) => clientAssertion(h, planner.agentId, planner.key, claims), send, {
      status: 401,
      error: 'invalid_client',
      code: 'WARRANT_CLIENT_AUTH_FAILED',
    });
    // Issued two minutes ahead and still inside its lifetime bound: only the iat rule refuses it.
    const { body } = await expectRejection(
      h,
      () =>
        send(
          clientAssertion(h, planner.agentId, planner.key, {
            iat: nowSeconds() + 120,
            exp: nowSeconds() + 240,
          }),
        ),
      { status: 401, error: 'invalid_client', code: 'WARRANT_CLIENT_AUTH_FAILED' },
    );
    assert.match(body['error_description']!, /issued in the future/);
  });

  test('a DPoP proof', async () => {
    const send = (proof: string) =>
      raw(h, { client: planner, dpop: proof, params: { grant_type: 'client_credentials' } });
    const proof = (claims: Record<string, unknown> = {}) =>
      claims['iat'] === undefined
        ? dpopProof(h, planner.key)
        : // A proof issued in the future: createDpopProof takes its iat from `now`.
          createDpopProof({
            key: planner.key,
            htm: 'POST',
            htu: h.plane.sts.tokenEndpoint,
            nonce: h.plane.sts.nonces.issue(h.plane.sts.clock()),
            now: claims['iat'] as number,
          });
    await strictly(
      proof,
      send,
      { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_INVALID' },
      { status: 400, error: 'invalid_dpop_proof', code: 'WARRANT_DPOP_STALE' },
    );
  });
});
