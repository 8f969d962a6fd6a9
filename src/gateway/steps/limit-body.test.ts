import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, HOST, ROUTE } from '../../../test/support/gateway-call.ts';
import type { GatewayRoute } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';
import { limitBody } from './limit-body.ts';

const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

function call(init: Parameters<typeof fakeCall>[0], route: GatewayRoute = ROUTE) {
  const made = fakeCall({ url: '/crm/x', ...init, headers: { host: HOST, ...init?.headers } });
  made.call.host = HOST;
  made.call.url = new URL(`http://gateway.invalid${made.req.url}`);
  made.call.route = route;
  return made;
}

test('a declared body over the limit is refused (413) before a byte is read or 100 Continue sent', async () => {
  const {
    call: c,
    req,
    res,
  } = call({
    method: 'POST',
    body: 'x'.repeat(2000),
    headers: { 'content-length': '2000', expect: '100-continue' },
  });
  await assert.rejects(
    async () => limitBody.run(c),
    (e: unknown) => e instanceof GatewayError && e.status === 413 && e.code === 'WARRANT_BODY_TOO_LARGE',
  );
  assert.equal(req.pulled(), 0);
  assert.equal(res.written.continued, 0);
});

test('plain HTTP streams through: the body is not read here', async () => {
  const { call: c, req } = call({ method: 'POST', body: '{"a":1}' });
  await limitBody.run(c);
  assert.equal(c.body, undefined);
  assert.equal(req.pulled(), 0);
});

test('a JSON-RPC POST is read whole, with 100 Continue once the body is wanted', async () => {
  const { call: c, res } = call(
    { method: 'POST', body: '{"jsonrpc":"2.0"}', headers: { expect: '100-continue' } },
    { ...ROUTE, protocol: 'mcp' },
  );
  await limitBody.run(c);
  assert.equal(c.body?.toString(), '{"jsonrpc":"2.0"}');
  assert.equal(res.written.continued, 1);
});

test('an http action that reads a parameter from the body: read whole, and its action kept for the guard', async () => {
  const catalog = [
    {
      name: 'crm:pay',
      match: { protocol: 'http', method: 'POST', path: '/crm/*' },
      parameters: { amount: { in: 'body', pointer: '/amount' } },
      ...low,
    } as const,
  ];
  const { call: c } = call({ method: 'POST', body: '{"amount":5}', catalog });
  await limitBody.run(c);
  assert.equal(c.body?.toString(), '{"amount":5}');
  assert.equal(c.httpAction?.action?.name, 'crm:pay');
});
