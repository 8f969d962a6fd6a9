/**
 * Helpers for the STS rejection tests: raw token requests (so a test controls every parameter, header,
 * client assertion and DPoP proof), and `expectRejection`, which checks that a rejection is a clean OAuth
 * error with a stable code, leaks nothing, and issued nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createDpopProof } from '../../src/core/dpop/index.ts';
import type { SigningKey } from '../../src/core/jose/jwk.ts';
import { signCompact } from '../../src/core/jose/jws.ts';
import { type AgentClient, TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { STATUS_LIST_ID } from '../../src/sts/sts.ts';
import type { Harness } from '../support/sts-harness.ts';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export { TOKEN_TYPES };

/** Anything that looks like a compact JWS (a token, an assertion, a proof). */
const JWS_LIKE = /eyJ[A-Za-z0-9_-]+\./;
/** A stack frame of our own source. */
const STACK_FRAME = /at .*\.ts:\d+/;
/** A JWK member (a key) in the body. */
const KEY_LIKE = /"(kty|crv|x|y|d)"\s*:/;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** What the STS has issued so far: live token rows and status-list slots (every warrant mint takes one). */
export async function issued(h: Harness): Promise<{ live: number; slots: number }> {
  const live = (await h.plane.store.tokens.listLive(0)).length;
  const slots = (await h.plane.store.statusLists.get(STATUS_LIST_ID))?.size ?? 0;
  return { live, slots };
}

/** A DPoP proof for the token endpoint with a current server nonce, unless told otherwise. */
export function dpopProof(
  h: Harness,
  key: SigningKey,
  options: { htm?: string; htu?: string; nonce?: string | null; jti?: string } = {},
): string {
  const nonce = options.nonce === undefined ? h.plane.sts.nonces.issue(h.plane.sts.clock()) : options.nonce;
  return createDpopProof({
    key,
    htm: options.htm ?? 'POST',
    htu: options.htu ?? h.plane.sts.tokenEndpoint,
    ...(nonce === null ? {} : { nonce }),
    ...(options.jti === undefined ? {} : { jti: options.jti }),
  });
}

/** A `private_key_jwt` client assertion with every claim overridable. */
export function clientAssertion(
  h: Harness,
  agentId: string,
  key: SigningKey,
  claims: Record<string, unknown> = {},
  options: { kid?: boolean } = {},
): string {
  const now = nowSeconds();
  return signCompact(
    { typ: 'JWT' },
    {
      iss: agentId,
      sub: agentId,
      aud: h.plane.sts.issuer,
      jti: randomUUID(),
      iat: now,
      exp: now + 60,
      ...claims,
    },
    key,
    options,
  );
}

export interface RawRequest {
  /** The form parameters (or a raw body string). */
  readonly params?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly contentType?: string | null;
  /** The client whose assertion and DPoP proof are added unless replaced or turned off. */
  readonly client?: AgentClient;
  /** A given assertion, or `null` for none. Default: a fresh one by `client`. */
  readonly assertion?: string | null;
  /** A given DPoP header, or `null` for none. Default: a fresh proof by `client` with a current nonce. */
  readonly dpop?: string | null;
  readonly path?: string;
  readonly method?: string;
}

/** One raw request to an STS endpoint (default POST /token). */
export function raw(h: Harness, request: RawRequest): Promise<Response> {
  const headers: Record<string, string> = {};
  const contentType =
    request.contentType === undefined ? 'application/x-www-form-urlencoded' : request.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  let body: string | Buffer | undefined = request.body;
  if (body === undefined && request.params !== undefined) {
    const form = new URLSearchParams(request.params);
    if (request.client && request.assertion !== null) {
      form.set('client_assertion_type', ASSERTION_TYPE);
      form.set('client_assertion', request.assertion ?? request.client.clientAssertion());
    } else if (request.assertion) {
      form.set('client_assertion_type', ASSERTION_TYPE);
      form.set('client_assertion', request.assertion);
    }
    body = form.toString();
  }
  const dpop =
    request.dpop === undefined ? (request.client ? dpopProof(h, request.client.key) : null) : request.dpop;
  if (dpop !== null) headers['dpop'] = dpop;
  return fetch(`${h.url}${request.path ?? '/token'}`, {
    method: request.method ?? 'POST',
    headers,
    ...(body === undefined ? {} : { body }),
  });
}

/** RFC 8693 exchange parameters. */
export function exchangeParams(
  subjectToken: string,
  subjectTokenType: string,
  audience: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: subjectTokenType,
    audience,
    requested_token_type: TOKEN_TYPES.warrant,
    ...extra,
  };
}

export interface Expected {
  readonly status: number;
  readonly error: string;
  readonly code: string;
}

/**
 * Sends a request that must be rejected: the status, `error` and `code` are the expected ones; the body is
 * exactly `{error, error_description, code}`; nothing in it looks like a token, a key or a stack trace; and
 * the STS issued nothing (no new token row, no new status-list slot).
 */
export async function expectRejection(
  h: Harness,
  send: () => Promise<Response>,
  expected: Expected,
): Promise<{ body: Record<string, string>; response: Response }> {
  const before = await issued(h);
  const response = await send();
  const text = await response.text();
  assert.equal(response.status, expected.status, `status (body: ${text})`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const body = JSON.parse(text) as Record<string, string>;
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'error_description']);
  assert.equal(body['error'], expected.error, `error (body: ${text})`);
  assert.equal(body['code'], expected.code, `code (body: ${text})`);
  assert.equal(typeof body['error_description'], 'string');
  assert.ok(body['error_description']!.length > 0);
  assert.doesNotMatch(text, JWS_LIKE, 'the body echoes something JWS-like');
  assert.doesNotMatch(text, STACK_FRAME, 'the body carries a stack trace');
  assert.doesNotMatch(text, KEY_LIKE, 'the body carries a key');
  assert.deepEqual(await issued(h), before, 'a rejected request issued something');
  return { body, response };
}

/** The claims of a compact JWS (no verification: for tests that look at what they were given). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
