import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActionCatalog, type CallDescriptor } from './catalog.ts';
import { checkCall, describeCall, isSessionCall, resourceOf } from './check-call.ts';

const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const catalog = new ActionCatalog([
  { name: 'crm:search', match: { protocol: 'mcp', tool: 'search' }, ...low },
  { name: 'crm:tool', match: { protocol: 'mcp', tool: 'export' }, resource: 'tools/{tool}', ...low },
]);
const search: CallDescriptor = { protocol: 'mcp', rpcMethod: 'tools/call', tool: 'search' };
const exporter: CallDescriptor = { protocol: 'mcp', rpcMethod: 'tools/call', tool: 'export' };
const unknown: CallDescriptor = { protocol: 'mcp', rpcMethod: 'tools/call', tool: 'delete' };
const list: CallDescriptor = { protocol: 'mcp', rpcMethod: 'tools/list' };

function view(calls: CallDescriptor[], extra: Partial<Parameters<typeof checkCall>[0]> = {}) {
  return checkCall({
    catalog,
    calls,
    audience: 'https://tools.test/crm',
    caller: 'spiffe://t/agent/a',
    depth: 2,
    ...extra,
  });
}

test('each call resolved once: session calls, actions with their resource, the trust level read once', () => {
  let asked = 0;
  const v = view([list, search, exporter], {
    trustLevel: () => {
      asked++;
      return 3;
    },
  });
  assert.equal(v.verdict, 'pass');
  assert.deepEqual(v.reasons, []);
  assert.deepEqual(
    v.calls.map((c) => [c.kind, c.kind === 'action' ? c.resource : undefined]),
    [
      ['session', undefined],
      ['action', 'https://tools.test/crm'],
      ['action', 'tools/export'],
    ],
  );
  assert.equal(asked, 1);
  assert.deepEqual(v.risk, { depth: 2, trustLevel: 3 });
});

test('an unknown action is refused with its code and a reason; the others are still resolved', () => {
  const v = view([search, unknown]);
  assert.equal(v.verdict, 'refuse');
  assert.deepEqual(v.reasons, ['MCP tool delete is not in the action catalog']);
  const refused = v.calls[1]!;
  assert.equal(refused.kind, 'refused');
  assert.equal(refused.kind === 'refused' && refused.code, 'WARRANT_ACTION_UNKNOWN');
  assert.equal(v.calls[0]!.kind, 'action');
  assert.equal(view([search]).trustLevel, 0, 'no trust level source: level 0');
});

test('an action resolved earlier is not resolved again', () => {
  const early = catalog.actions[0]!;
  let resolved = 0;
  const v = view([search], {
    resolve: () => {
      resolved++;
      return early;
    },
  });
  assert.equal(resolved, 1);
  assert.equal(v.calls[0]!.kind === 'action' && v.calls[0]!.action, early);
});

test('session calls, resources and descriptions', () => {
  assert.ok(isSessionCall({ protocol: 'mcp', rpcMethod: 'notifications/initialized' }));
  assert.ok(!isSessionCall(search));
  assert.ok(!isSessionCall({ protocol: 'http', method: 'GET', path: '/' }));
  assert.equal(resourceOf(catalog.actions[0]!, { protocol: 'openai', model: 'gpt-x' }, 'aud'), 'model:gpt-x');
  assert.equal(
    describeCall({ protocol: 'a2a', rpcMethod: 'message/send', skill: 's' }),
    'A2A message/send skill s',
  );
});
