import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, HOST, ROUTE } from '../../../test/support/gateway-call.ts';
import { GatewayError } from '../gateway-error.ts';
import { checkHead } from './check-head.ts';

function refusal(init: Parameters<typeof fakeCall>[0]): GatewayError {
  const { call } = fakeCall(init);
  try {
    checkHead.run(call);
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error;
  }
  assert.fail('expected a refusal');
}

test('a good head: the Host, the URL and the route are set for the steps after', () => {
  const { call } = fakeCall({ url: '/crm/contacts?x=1', headers: { host: HOST } });
  checkHead.run(call);
  assert.equal(call.host, HOST);
  assert.equal(call.url?.pathname, '/crm/contacts');
  assert.equal(call.route, ROUTE);
  assert.equal(call.answered, false);
});

test('an absolute-form target, a missing or repeated Host: 400 before any route is looked up', () => {
  const absolute = refusal({ url: 'http://other/crm', headers: { host: HOST } });
  assert.deepEqual([absolute.status, absolute.code], [400, 'WARRANT_TARGET_INVALID']);
  assert.equal(refusal({ url: '/crm' }).code, 'WARRANT_HOST_INVALID');
  assert.equal(refusal({ url: '/crm', headers: { host: [HOST, HOST] } }).code, 'WARRANT_HOST_INVALID');
});

test('no route: 404; a Host the route does not answer: 421; a foreign Origin: 403', () => {
  const none = refusal({ url: '/nowhere', headers: { host: HOST } });
  assert.deepEqual([none.status, none.code], [404, 'WARRANT_ROUTE_UNKNOWN']);
  const host = refusal({ url: '/crm', headers: { host: 'evil.example' } });
  assert.deepEqual([host.status, host.code], [421, 'WARRANT_HOST_NOT_ALLOWED']);
  const origin = refusal({ url: '/crm', headers: { host: HOST, origin: 'https://evil.example' } });
  assert.deepEqual([origin.status, origin.code], [403, 'WARRANT_ORIGIN_NOT_ALLOWED']);
});

test('the RFC 9728 metadata path is answered here and ends the request', () => {
  const { call, res } = fakeCall({
    url: '/.well-known/oauth-protected-resource/crm',
    headers: { host: HOST },
  });
  checkHead.run(call);
  assert.equal(call.answered, true);
  assert.equal(call.route, undefined);
  assert.equal(res.written.body, '{"metadata":true}');
});
