import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { IssuerKeys } from './issuer-keys.ts';

const jwk = (kid: string) => ({
  ...(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as Record<string, unknown>),
  kid,
});

/** A fake JWKS endpoint: answers the current document, counts requests, can fail. */
function endpoint(initial: unknown) {
  const state = { document: initial as unknown, status: 200, raw: undefined as string | undefined, calls: 0 };
  const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    state.calls++;
    assert.equal(init?.redirect, 'error', 'redirects are never followed');
    assert.ok(init?.signal, 'every fetch has a timeout');
    return new Response(state.raw ?? JSON.stringify(state.document), { status: state.status });
  }) as typeof globalThis.fetch;
  return { state, fetch };
}

describe('IssuerKeys (a remote JWKS)', () => {
  test('fetches once and serves the cached keys', async () => {
    const { state, fetch } = endpoint({ keys: [jwk('a')] });
    const keys = IssuerKeys.remote('https://idp.example/jwks', { fetch });
    assert.deepEqual(
      (await keys.keys('a')).map((k) => k.kid),
      ['a'],
    );
    assert.deepEqual(
      (await keys.keys(undefined)).map((k) => k.kid),
      ['a'],
    );
    assert.equal(state.calls, 1);
  });

  test('an unknown kid refetches, but at most once per cooldown', async () => {
    const { state, fetch } = endpoint({ keys: [jwk('a')] });
    const slow = IssuerKeys.remote('https://idp.example/jwks', { fetch, cooldownMs: 60_000 });
    await slow.keys('a');
    state.document = { keys: [jwk('a'), jwk('b')] };
    assert.deepEqual(
      (await slow.keys('b')).map((k) => k.kid),
      ['a'],
      'within the cooldown: no fetch',
    );
    assert.equal(state.calls, 1);
    const eager = IssuerKeys.remote('https://idp.example/jwks', { fetch, cooldownMs: 0 });
    await eager.keys('a');
    state.document = { keys: [jwk('a'), jwk('c')] };
    assert.deepEqual(
      (await eager.keys('c')).map((k) => k.kid),
      ['a', 'c'],
      'rotated key found',
    );
  });

  test('a failed refresh keeps the keys already held; with none, it fails', async () => {
    const { state, fetch } = endpoint({ keys: [jwk('a')] });
    const keys = IssuerKeys.remote('https://idp.example/jwks', { fetch, maxAgeMs: 0 });
    await keys.keys('a');
    state.status = 503;
    assert.deepEqual(
      (await keys.keys('a')).map((k) => k.kid),
      ['a'],
    );
    assert.equal(state.calls, 2, 'the refresh was tried');
    const empty = IssuerKeys.remote('https://idp.example/jwks', { fetch });
    await assert.rejects(empty.keys('a'), /503/);
  });

  test('a JWKS with a duplicate member, or too large, is refused', async () => {
    const { state, fetch } = endpoint({});
    state.raw = `{"keys":[],"keys":[${JSON.stringify(jwk('evil'))}]}`;
    await assert.rejects(
      IssuerKeys.remote('https://idp.example/jwks', { fetch }).keys('evil'),
      /strict JSON/,
    );
    state.raw = `{"keys":[],"pad":"${'x'.repeat(300_000)}"}`;
    await assert.rejects(
      IssuerKeys.remote('https://idp.example/jwks', { fetch }).keys(undefined),
      /too large/,
    );
  });

  test('fixed keys are imported once and need no fetch', async () => {
    const keys = IssuerKeys.fixed({ keys: [jwk('a'), { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }] });
    assert.deepEqual(
      (await keys.keys('hmac')).map((k) => k.kid),
      ['a'],
      'a symmetric key is never a key',
    );
  });
});
