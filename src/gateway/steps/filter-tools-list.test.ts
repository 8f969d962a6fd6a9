import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakePolicy, fixture } from '../../../test/support/gateway-call.ts';
import { ActionCatalog, type CallDescriptor } from '../../guard/catalog.ts';
import { checkCall } from '../../guard/check-call.ts';
import type { GatewayRoute } from '../context.ts';
import { filterToolsList, listsTools } from './filter-tools-list.ts';

const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const catalog = new ActionCatalog([
  { name: 'crm:search', match: { protocol: 'mcp', tool: 'search' }, resource: 'crm/search', ...low },
  { name: 'payments:refund', match: { protocol: 'mcp', tool: 'refund' }, resource: 'payments/1', ...low },
]);
const route: GatewayRoute = {
  match: { pathPrefix: '/mcp' },
  upstream: 'http://u',
  audience: 'aud',
  protocol: 'mcp',
};
const list: CallDescriptor = { protocol: 'mcp', rpcMethod: 'tools/list' };

/** A tools/list call by the fixture's leaf holding only crm:* grants, through the guard. */
function listing() {
  const made = fakeCall({ catalog, policy: fakePolicy() });
  const leaf = { ...fixture.claims[2]!, grants: [{ action: 'crm:*', resource: 'crm/*' }] };
  made.call.route = route;
  made.call.presented = { leaf: { claims: leaf } } as never;
  made.call.calls = [list];
  made.call.guard = checkCall({
    catalog,
    calls: [list],
    audience: 'aud',
    caller: leaf.act.sub,
    depth: 2,
    trustLevel: made.services.trustLevel,
  });
  return made;
}

const answer = (id: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    result: { tools: [{ name: 'search' }, { name: 'refund' }, { name: 'other' }] },
  });

test('only the tools the caller could call are listed; the trust level is the guard’s (not read again)', () => {
  const { call, services } = listing();
  assert.ok(listsTools(call));
  const asked = services.trustAsked;
  const out = JSON.parse(filterToolsList(call, answer(1), 'application/json'));
  assert.deepEqual(
    out.result.tools.map((t: { name: string }) => t.name),
    ['search'],
  );
  assert.equal(services.trustAsked, asked);
});

test('SSE: an event whose data spans several lines is filtered whole', () => {
  const { call } = listing();
  const text = answer(2);
  // Split between two JSON tokens: the lines joined by a newline are the message again.
  const half = text.indexOf(',"result"');
  const sse = `event: message\ndata: ${text.slice(0, half)}\ndata: ${text.slice(half)}\n\n`;
  const out = filterToolsList(call, sse, 'text/event-stream');
  assert.doesNotMatch(out, /refund/);
  assert.match(out, /search/);
});

test('an answer that mentions tools but cannot be read is replaced by a JSON-RPC error', () => {
  const { call } = listing();
  const out = JSON.parse(filterToolsList(call, '{"tools": [', 'application/json'));
  assert.equal(out.error.code, -32603);
  assert.equal(filterToolsList(call, 'not json', 'application/json'), 'not json');
});
