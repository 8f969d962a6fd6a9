/**
 * Gateway refusals, authorization (DESIGN §5, §6, §7): a valid, well-proven warrant still gets nothing the
 * action catalog, its grants and the action policy do not all allow — 403 with `insufficient_scope` or
 * `access_denied` and a stable code, a durable deny record, and nothing forwarded. A JSON-RPC batch is
 * allowed only if every call in it is.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  answerOf,
  decisionsSince,
  expectDenyRecord,
  expectNoRecord,
  expectRefusal,
  hop,
  rootWarrant,
  sleep,
  TOOLS,
  toolCall,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const MCP = `${TOOLS}/mcp`;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const critical = {
  impact: 'critical',
  dataClass: 'internal',
  reversibility: 'irreversible',
  blastRadius: 1,
} as const;

const up = new Upstreams();
let h: GatewayHarness;
let executor: AgentClient;
/** executor → crm: every crm action. */
let crmAll: string;
/** executor → crm: read only. */
let crmRead: string;
/** executor → mcp: every mcp tool. */
let mcpAll: string;
/** executor → mcp: `mcp:search` only. */
let mcpSearch: string;

before(async () => {
  h = await startGatewayHarness({
    upstreams: { crm: up.handler('crm'), mcp: up.handler('mcp') },
    routes: (u) => [
      { match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' },
      { match: { pathPrefix: '/mcp' }, upstream: u['mcp']!, audience: MCP, protocol: 'mcp' },
    ],
    catalog: [
      {
        name: 'crm:contacts.read',
        match: { protocol: 'http', method: 'GET', path: '/crm/contacts*' },
        ...low,
      },
      {
        name: 'crm:contacts.delete',
        match: { protocol: 'http', method: 'DELETE', path: '/crm/contacts*' },
        ...critical,
      },
      { name: 'mcp:search', match: { protocol: 'mcp', tool: 'search' }, ...low },
      { name: 'mcp:send_mail', match: { protocol: 'mcp', tool: 'send_mail' }, ...low },
      { name: 'mcp:delete_all', match: { protocol: 'mcp', tool: 'delete_all' }, ...critical },
    ],
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'crm:*', resource: `${TOOLS}/*` },
    { action: 'mcp:*', resource: `${TOOLS}/*` },
  ]);
  crmAll = await hop(executor, root, CRM, [{ action: 'crm:*', resource: CRM }]);
  crmRead = await hop(executor, root, CRM, [{ action: 'crm:contacts.read', resource: CRM }]);
  mcpAll = await hop(executor, root, MCP, [{ action: 'mcp:*', resource: MCP }]);
  mcpSearch = await hop(executor, root, MCP, [{ action: 'mcp:search', resource: MCP }]);
});

after(() => h.close());

const rpc = (warrant: string, message: unknown) =>
  h.call(executor, warrant, '/mcp', { method: 'POST', body: JSON.stringify(message) });

/** Runs `fn` with the index of the next decision record, and asserts the upstream received nothing. */
async function forwardsNothing(fn: (from: number) => Promise<void>): Promise<void> {
  const hits = up.total;
  await fn(h.decisions.records.length);
  await sleep(20);
  assert.equal(up.total, hits, 'the upstream received nothing');
}

test('the happy path answers 200 (the fixture is sound)', async () => {
  const hits = up.total;
  const from = h.decisions.records.length;
  assert.equal((await h.call(executor, crmRead, '/crm/contacts/1')).status, 200);
  assert.equal((await rpc(mcpSearch, toolCall(1, 'search', { q: 'x' }))).status, 200);
  const batch = await rpc(mcpAll, [toolCall(1, 'search'), { jsonrpc: '2.0', method: 'notifications/x' }]);
  assert.equal(batch.status, 200);
  assert.equal(up.total, hits + 3);
  assert.deepEqual(
    decisionsSince(h, from).map((r) => r.decision),
    ['allow', 'allow', 'allow'],
  );
});

test('a tool name not in the catalog: 403 access_denied WARRANT_ACTION_UNKNOWN, deny recorded', async () => {
  await forwardsNothing(async (from) => {
    const r = await rpc(mcpAll, toolCall(7, 'exfiltrate', { to: 'attacker@example.com' }));
    await expectRefusal(r, {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_ACTION_UNKNOWN',
      secrets: [mcpAll],
    });
    const record = expectDenyRecord(h, from, 'WARRANT_ACTION_UNKNOWN');
    assert.equal(record.action, undefined);
    assert.match(record.reasons!.join(' '), /exfiltrate/);
  });
});

test('a tool name differing only in case is not in the catalog: 403 WARRANT_ACTION_UNKNOWN', async () => {
  await forwardsNothing(async (from) => {
    const r = await rpc(mcpAll, toolCall(8, 'Delete_All'));
    await expectRefusal(r, { status: 403, error: 'access_denied', code: 'WARRANT_ACTION_UNKNOWN' });
    expectDenyRecord(h, from, 'WARRANT_ACTION_UNKNOWN');
  });
});

test('a GET route action not in the catalog: 403 access_denied WARRANT_ACTION_UNKNOWN, deny recorded', async () => {
  await forwardsNothing(async (from) => {
    const r = await h.call(executor, crmAll, '/crm/reports/export');
    await expectRefusal(r, {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_ACTION_UNKNOWN',
      secrets: [crmAll],
    });
    expectDenyRecord(h, from, 'WARRANT_ACTION_UNKNOWN');
  });
});

test('a grant not covering the action: 403 insufficient_scope WARRANT_GRANT_NOT_HELD with a challenge (on MCP a JSON-RPC error)', async () => {
  await forwardsNothing(async (from) => {
    // HTTP: a read-only warrant used to delete.
    const r = await h.call(executor, crmRead, '/crm/contacts/42', { method: 'DELETE' });
    await expectRefusal(r, {
      status: 403,
      error: 'insufficient_scope',
      code: 'WARRANT_GRANT_NOT_HELD',
      secrets: [crmRead],
    });
    const record = expectDenyRecord(h, from, 'WARRANT_GRANT_NOT_HELD');
    assert.equal(record.action, 'crm:contacts.delete');
  });
  await forwardsNothing(async (from) => {
    // MCP: a search-only warrant used to send mail.
    const r = await rpc(mcpSearch, toolCall(2, 'send_mail', { to: 'bob@example.org' }));
    await expectRefusal(r, {
      status: 403,
      error: 'insufficient_scope',
      code: 'WARRANT_GRANT_NOT_HELD',
      secrets: [mcpSearch],
    });
    assert.equal(expectDenyRecord(h, from, 'WARRANT_GRANT_NOT_HELD').action, 'mcp:send_mail');
  });
});

// The shipped policy no longer refuses high risk for ever: above the agent's bound a call needs a person's
// approval (guard.autonomy.bounds; the approval flow end to end is test/gateway/approvals.test.ts).
test('an action above the bound: 403 access_denied WARRANT_APPROVAL_REQUIRED, recorded as approval_required', async () => {
  await forwardsNothing(async (from) => {
    // Granted (crm:*), but critical without approval.
    const r = await h.call(executor, crmAll, '/crm/contacts/42', { method: 'DELETE' });
    await expectRefusal(r, {
      status: 403,
      error: 'access_denied',
      code: 'WARRANT_APPROVAL_REQUIRED',
      secrets: [crmAll],
    });
    const record = expectApprovalRecord(from);
    assert.equal(record.action, 'crm:contacts.delete');
    assert.deepEqual(record.used, { action: 'crm:*', resource: CRM });
  });
});

/** The one decision since `from`, an approval_required one. */
function expectApprovalRecord(from: number): DecisionRecord {
  const records = decisionsSince(h, from);
  assert.equal(records.length, 1, 'one decision recorded');
  assert.equal(records[0]!.decision, 'approval_required');
  assert.equal(records[0]!.code, 'WARRANT_APPROVAL_REQUIRED');
  return records[0]!;
}

test('a JSON-RPC batch that hides a call needing approval among allowed ones: 403, nothing of it forwarded', async () => {
  const batch = [
    { jsonrpc: '2.0', id: 0, method: 'initialize', params: {} },
    toolCall(1, 'search', { q: 'a' }),
    toolCall(2, 'search', { q: 'b' }),
    toolCall(3, 'delete_all', { confirm: true }),
    toolCall(4, 'search', { q: 'c' }),
    { jsonrpc: '2.0', method: 'notifications/progress', params: {} },
  ];
  await forwardsNothing(async (from) => {
    // Every call is granted (mcp:*), but one is above the bound: a JSON-RPC error response says so.
    const r = await rpc(mcpAll, batch);
    const a = await answerOf(r);
    assert.equal(a.status, 403);
    const answer = JSON.parse(a.body) as { jsonrpc: string; id: unknown; error: { data: { code: string } } };
    assert.equal(answer.jsonrpc, '2.0');
    assert.equal(answer.id, null);
    assert.equal(answer.error.data.code, 'WARRANT_APPROVAL_REQUIRED');
    assert.ok(!a.body.includes(mcpAll.split('.')[1]!), 'no token in the answer');
    assert.equal(expectApprovalRecord(from).action, 'mcp:delete_all');
  });
  await forwardsNothing(async (from) => {
    // One call is not granted: the search-only warrant with a mail hidden in the middle.
    const r = await rpc(mcpSearch, [toolCall(1, 'search'), toolCall(2, 'send_mail'), toolCall(3, 'search')]);
    await expectRefusal(r, { status: 403, error: 'insufficient_scope', code: 'WARRANT_GRANT_NOT_HELD' });
    assert.equal(expectDenyRecord(h, from, 'WARRANT_GRANT_NOT_HELD').action, 'mcp:send_mail');
  });
  await forwardsNothing(async (from) => {
    // One call is not in the catalog, last in the batch.
    const r = await rpc(mcpAll, [toolCall(1, 'search'), toolCall(2, 'search'), toolCall(3, 'shell_exec')]);
    await expectRefusal(r, { status: 403, error: 'access_denied', code: 'WARRANT_ACTION_UNKNOWN' });
    expectDenyRecord(h, from, 'WARRANT_ACTION_UNKNOWN');
  });
});

test('malformed JSON-RPC: 400 invalid_request WARRANT_REQUEST_MALFORMED, nothing forwarded', async () => {
  const bodies = [
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}', // truncated
    '[]', // empty batch
    JSON.stringify(Array.from({ length: 33 }, (_, i) => toolCall(i, 'search'))), // oversized batch
    JSON.stringify({ id: 1, method: 'tools/call', params: { name: 'search' } }), // no jsonrpc
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }), // no tool name
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['delete_all'] }), // positional
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 42 } }), // not a name
    JSON.stringify([toolCall(1, 'search'), 'delete_all']), // a non-object in a batch
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 7 }), // method not a string
  ];
  for (const body of bodies) {
    await forwardsNothing(async (from) => {
      const r = await h.call(executor, mcpAll, '/mcp', { method: 'POST', body });
      await expectRefusal(r, {
        status: 400,
        error: 'invalid_request',
        code: 'WARRANT_REQUEST_MALFORMED',
        secrets: [mcpAll],
      });
      expectNoRecord(h, from);
    });
  }
});
