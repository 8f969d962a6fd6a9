import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, ROUTE } from '../../../test/support/gateway-call.ts';
import { GatewayError } from '../gateway-error.ts';
import { readCall } from './read-call.ts';

function after(route = ROUTE, init: Parameters<typeof fakeCall>[0] = {}) {
  const { call } = fakeCall(init);
  call.route = route;
  call.url = new URL(`http://gateway.invalid${init.url ?? '/crm/x?limit=3'}`);
  if (init.body !== undefined) call.body = Buffer.from(init.body);
  return call;
}

test('http: one call, the method and the inbound path; parameters read from the query on demand', () => {
  const call = after(ROUTE, { method: 'GET', url: '/crm/contacts?limit=3' });
  readCall.run(call);
  assert.deepEqual(call.calls, [{ protocol: 'http', method: 'GET', path: '/crm/contacts' }]);
  assert.ok(call.parameters);
});

test('an MCP batch: one call per JSON-RPC request, tools by name', () => {
  const body = JSON.stringify([
    { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'search', arguments: { q: 'x' } } },
  ]);
  const call = after({ ...ROUTE, protocol: 'mcp' }, { method: 'POST', url: '/crm', body });
  readCall.run(call);
  assert.deepEqual(
    call.calls.map((c) => (c.protocol === 'mcp' ? [c.rpcMethod, c.tool] : [])),
    [
      ['tools/list', undefined],
      ['tools/call', 'search'],
    ],
  );
});

test('a body that is not JSON-RPC: 400 WARRANT_REQUEST_MALFORMED', () => {
  const call = after({ ...ROUTE, protocol: 'mcp' }, { method: 'POST', url: '/crm', body: 'not json' });
  assert.throws(
    () => readCall.run(call),
    (e: unknown) => e instanceof GatewayError && e.status === 400 && e.code === 'WARRANT_REQUEST_MALFORMED',
  );
});
