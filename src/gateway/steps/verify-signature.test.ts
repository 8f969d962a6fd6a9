import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fakeCall,
  fakeServices,
  fixture,
  HOST,
  presenting,
  ROUTE,
} from '../../../test/support/gateway-call.ts';
import { WarrantError } from '../../core/errors.ts';
import { signRequest } from '../../core/http-signatures/message-signature.ts';
import type { GatewayRoute } from '../context.ts';
import { authenticate } from './authenticate.ts';
import { checkHead } from './check-head.ts';
import { limitBody } from './limit-body.ts';
import { verifySignature } from './verify-signature.ts';

const signed: GatewayRoute = { ...ROUTE, signedBodies: true };
const body = '{"amount":5}';

async function upToSignature(headers: Record<string, string>, route = signed) {
  const services = fakeServices({
    route: () => route,
  });
  const { call } = fakeCall({ method: 'POST', url: '/crm/pay', body, services, headers });
  checkHead.run(call);
  await authenticate.run(call);
  await limitBody.run(call);
  return call;
}

test('a route without signedBodies: nothing is required', async () => {
  const call = await upToSignature(presenting('POST', '/crm/pay'), ROUTE);
  verifySignature.run(call);
});

test('signedBodies: a signature by the presenter key over method, target, body digest and warrant hash', async () => {
  const headers = presenting('POST', '/crm/pay');
  const hash = (await upToSignature(presenting('POST', '/crm/pay'))).presented!.leaf.hash;
  const signature = signRequest({
    method: 'POST',
    url: `http://${HOST}/crm/pay`,
    body: Buffer.from(body),
    warrantHash: hash,
    key: fixture.agents[2]!.key,
    now: fixture.now,
  });
  verifySignature.run(await upToSignature({ ...headers, ...signature }));
});

test('signedBodies without a signature, or over another body: WARRANT_SIGNATURE_INVALID', async () => {
  const call = await upToSignature(presenting('POST', '/crm/pay'));
  assert.throws(
    () => verifySignature.run(call),
    (e: unknown) => e instanceof WarrantError && e.code === 'WARRANT_SIGNATURE_INVALID',
  );
  const signature = signRequest({
    method: 'POST',
    url: `http://${HOST}/crm/pay`,
    body: Buffer.from('{"amount":5000}'),
    warrantHash: call.presented!.leaf.hash,
    key: fixture.agents[2]!.key,
    now: fixture.now,
  });
  const other = await upToSignature({ ...presenting('POST', '/crm/pay'), ...signature });
  assert.throws(
    () => verifySignature.run(other),
    (e: unknown) => e instanceof WarrantError && e.code === 'WARRANT_SIGNATURE_INVALID',
  );
});
