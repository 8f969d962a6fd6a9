import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakeServices, HOST, presenting, ROUTE } from '../../../test/support/gateway-call.ts';
import type { WarrantConfig } from '../../config/types.ts';
import { definitionDigest, mcpToolDefinition } from '../../guard/pins/digest.ts';
import { type GuardRuntime, openGuardRuntime } from '../../guard/runtime.ts';
import { openGuardStore } from '../../guard/store/open-guard-store.ts';
import type { GatewayRoute } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';
import { authenticate } from './authenticate.ts';
import { checkHead } from './check-head.ts';
import { checkPins } from './check-pins.ts';
import { decide } from './decide.ts';
import { guard } from './guard.ts';
import { limitBody } from './limit-body.ts';
import { readCall } from './read-call.ts';
import { record } from './record.ts';

const CONFIG = { store: { kind: 'sqlite' }, dataDir: '/nonexistent' } as unknown as WarrantConfig;
const MCP_ROUTE: GatewayRoute = { ...ROUTE, protocol: 'mcp', tools: { pinning: 'approve' } };
const CATALOG = [
  {
    name: 'crm:search',
    match: { protocol: 'mcp' as const, tool: 'search' },
    impact: 'low' as const,
    dataClass: 'internal' as const,
    reversibility: 'reversible' as const,
    blastRadius: 1,
  },
];

async function runtime(): Promise<GuardRuntime> {
  const store = await openGuardStore(CONFIG, { path: ':memory:' });
  const rt = await openGuardRuntime(CONFIG, { store, pollMs: 0 });
  return {
    ...rt,
    close: async () => {
      await rt.close();
      await store.close();
    },
  };
}

/** Runs the steps up to check-pins for one JSON-RPC request on a pinning MCP route. */
async function throughPins(guardRuntime: GuardRuntime | undefined, rpc: unknown) {
  const body = JSON.stringify(rpc);
  const services = fakeServices({ guard: guardRuntime, route: () => MCP_ROUTE });
  const { call } = fakeCall({
    method: 'POST',
    url: '/crm',
    body,
    headers: {
      ...presenting('POST', '/crm'),
      host: HOST,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    catalog: CATALOG,
    services,
  });
  for (const step of [checkHead, authenticate, limitBody, readCall, guard]) await step.run(call);
  return { call, services, pins: async () => checkPins.run(call) };
}

const callSearch = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search', arguments: {} } };

test('a pinning route without a guard store fails closed on a tool call (and lets session calls pass)', async () => {
  const { pins } = await throughPins(undefined, callSearch);
  await assert.rejects(
    pins(),
    (e: unknown) =>
      e instanceof GatewayError && e.code === 'WARRANT_TOOL_PINS_UNAVAILABLE' && e.status === 503,
  );
  const list = await throughPins(undefined, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
  await list.pins();
  assert.equal(list.call.guard?.verdict, 'pass');
});

test('a guard store that cannot be read fails closed with WARRANT_TOOL_PINS_UNAVAILABLE', async () => {
  const rt = await runtime();
  await rt.close();
  const { pins } = await throughPins(rt, callSearch);
  await assert.rejects(
    pins(),
    (e: unknown) => e instanceof GatewayError && e.code === 'WARRANT_TOOL_PINS_UNAVAILABLE',
  );
});

test('an unapproved tool is refused as a recorded decision; an approved one passes to the policy', async () => {
  const rt = await runtime();
  try {
    const refused = await throughPins(rt, callSearch);
    await refused.pins();
    assert.equal(refused.call.guard?.verdict, 'refuse');
    await decide.run(refused.call);
    assert.equal(refused.call.verdict?.decision.code, 'WARRANT_TOOL_NOT_APPROVED');
    await assert.rejects(
      (async () => record.run(refused.call))(),
      (e: unknown) => e instanceof GatewayError && e.code === 'WARRANT_TOOL_NOT_APPROVED' && e.status === 403,
    );
    const [entry] = refused.services.log.records;
    assert.equal(entry?.decision, 'deny');
    assert.equal(entry?.code, 'WARRANT_TOOL_NOT_APPROVED');

    const definition = mcpToolDefinition({ name: 'search', description: 'Search' });
    const digest = definitionDigest(definition);
    await rt.pins.observe({
      route: '/crm',
      mode: 'approve',
      seen: [{ tool: 'search', definition, digest }],
      actor: 't',
      now: 1,
    });
    await rt.pins.approve({ route: '/crm', tool: 'search', digest, actor: 'admin', reason: 'ok', now: 2 });
    const allowed = await throughPins(rt, callSearch);
    await allowed.pins();
    assert.equal(allowed.call.guard?.verdict, 'pass');
  } finally {
    await rt.close();
  }
});
