import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakeServices, HOST, LEAF, presenting, ROUTE } from '../../../test/support/gateway-call.ts';
import { WarrantError } from '../../core/errors.ts';
import { authenticate } from './authenticate.ts';
import { checkHead } from './check-head.ts';

async function authenticated(init: Parameters<typeof fakeCall>[0]) {
  const made = fakeCall(init);
  checkHead.run(made.call);
  await authenticate.run(made.call);
  return made;
}

test('a DPoP-bound warrant for the route: the presented warrant is set for the steps after', async () => {
  const { call } = await authenticated({
    url: '/crm/contacts?page=2',
    headers: presenting('GET', '/crm/contacts'),
  });
  assert.equal(call.presented?.token, LEAF);
  assert.equal(call.presented?.leaf.claims.aud, ROUTE.audience);
});

test('the proof must name this listener’s scheme, the checked Host and the path (no query)', async () => {
  // The request arrives over TLS, the proof names http://: another URI.
  await assert.rejects(
    authenticated({ url: '/crm/contacts', headers: presenting('GET', '/crm/contacts'), encrypted: true }),
    (e: unknown) => e instanceof WarrantError && e.code === 'WARRANT_DPOP_HTU_MISMATCH',
  );
});

test('the revocation view is asked for the presented warrant; stale fails closed', async () => {
  const services = fakeServices({
    revocation: { has: () => true, ensure: async () => {}, check: () => 'stale' },
  });
  await assert.rejects(
    authenticated({ url: '/crm/x', headers: presenting('GET', '/crm/x'), services }),
    (e: unknown) => e instanceof WarrantError && e.code === 'WARRANT_STATUS_STALE',
  );
});

test('no credentials: the bare kind of refusal, nothing verified', async () => {
  await assert.rejects(
    authenticated({ url: '/crm/x', headers: { host: HOST } }),
    (e: unknown) => e instanceof WarrantError && e.code === 'WARRANT_CREDENTIALS_MISSING',
  );
});
