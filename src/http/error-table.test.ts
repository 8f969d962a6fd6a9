/**
 * The one Warrant error → HTTP table: every code has a row, and the answers the gateway and the STS rely
 * on are what the table says (the DPoP codes, hot state, stale revocation status, grants).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES, type ErrorCode, WarrantError } from '../core/errors.ts';
import { fromWarrantError } from '../sts/oauth-error.ts';
import { HTTP_ERRORS, resourceError, tokenError } from './error-table.ts';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

test('every error code has a row, and nothing else does', () => {
  assert.deepEqual(Object.keys(HTTP_ERRORS).sort(), [...codes].sort());
  for (const code of codes) {
    const { resource, token } = HTTP_ERRORS[code];
    assert.ok(Number.isInteger(resource.status) && resource.status >= 400 && resource.status < 600, code);
    assert.match(resource.error, /^[a-z_]+$/, code);
    if (token) assert.ok(token.status >= 400 && token.status < 600, code);
  }
});

test('a resource answers credentials 401, a proof invalid_dpop_proof, and fails closed with 503', () => {
  for (const code of codes.filter(
    (c) => c.startsWith('WARRANT_DPOP_') && c !== 'WARRANT_DPOP_NONCE_REQUIRED',
  ))
    assert.deepEqual(resourceError(code), { status: 401, error: 'invalid_dpop_proof' }, code);
  assert.deepEqual(resourceError('WARRANT_REPLAY_STATE_LOST'), { status: 401, error: 'invalid_dpop_proof' });
  assert.deepEqual(resourceError('WARRANT_DPOP_NONCE_REQUIRED'), { status: 401, error: 'use_dpop_nonce' });
  for (const code of [
    'WARRANT_CREDENTIALS_MISSING',
    'WARRANT_TOKEN_EXPIRED',
    'WARRANT_CHAIN_LINK_BROKEN',
  ] as const)
    assert.deepEqual(resourceError(code), { status: 401, error: 'invalid_token' }, code);
  for (const code of [
    'WARRANT_HOT_STATE_UNAVAILABLE',
    'WARRANT_STATUS_STALE',
    'WARRANT_DECISION_NOT_RECORDED',
  ] as const)
    assert.deepEqual(resourceError(code), { status: 503, error: 'unavailable' }, code);
  assert.deepEqual(resourceError('WARRANT_GRANT_NOT_HELD'), { status: 403, error: 'insufficient_scope' });
  assert.deepEqual(resourceError('WARRANT_CALL_DENIED'), { status: 403, error: 'access_denied' });
});

test('the token endpoint: DPoP 400 invalid_dpop_proof, grants invalid_scope, hot state 503; else the context', () => {
  assert.deepEqual(tokenError('WARRANT_DPOP_REPLAYED'), { status: 400, error: 'invalid_dpop_proof' });
  assert.deepEqual(tokenError('WARRANT_REPLAY_STATE_LOST'), { status: 400, error: 'invalid_dpop_proof' });
  assert.deepEqual(tokenError('WARRANT_DPOP_NONCE_REQUIRED'), { status: 400, error: 'use_dpop_nonce' });
  assert.deepEqual(tokenError('WARRANT_GRANT_NOT_HELD'), { status: 400, error: 'invalid_scope' });
  assert.deepEqual(tokenError('WARRANT_HOT_STATE_UNAVAILABLE'), {
    status: 503,
    error: 'temporarily_unavailable',
  });
  assert.equal(tokenError('WARRANT_TOKEN_EXPIRED'), undefined);
});

test('the STS maps through the table: the code decides where it can, the endpoint otherwise', () => {
  const hot = fromWarrantError(new WarrantError('WARRANT_HOT_STATE_UNAVAILABLE'));
  assert.equal(hot.status, 503);
  assert.equal(hot.error, 'temporarily_unavailable');
  assert.equal(hot.headers['retry-after'], '1');
  const proof = fromWarrantError(new WarrantError('WARRANT_DPOP_HTU_MISMATCH'));
  assert.deepEqual(
    [proof.status, proof.error, proof.code],
    [400, 'invalid_dpop_proof', 'WARRANT_DPOP_HTU_MISMATCH'],
  );
  const expired = fromWarrantError(new WarrantError('WARRANT_TOKEN_EXPIRED'), 'invalid_client');
  assert.deepEqual([expired.status, expired.error], [401, 'invalid_client']);
  const grant = fromWarrantError(new WarrantError('WARRANT_TOKEN_EXPIRED'));
  assert.deepEqual([grant.status, grant.error], [400, 'invalid_grant']);
});
