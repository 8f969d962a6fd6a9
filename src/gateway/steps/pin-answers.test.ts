import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, fakeServices, ROUTE } from '../../../test/support/gateway-call.ts';
import type { WarrantConfig } from '../../config/types.ts';
import { type GuardRuntime, openGuardRuntime } from '../../guard/runtime.ts';
import { openGuardStore } from '../../guard/store/open-guard-store.ts';
import type { GatewayRoute } from '../context.ts';
import { listChangedWatcher, pinAgentCard, pinnedTools } from './pin-answers.ts';

const CONFIG = { store: { kind: 'sqlite' }, dataDir: '/nonexistent' } as unknown as WarrantConfig;

async function withRuntime(run: (rt: GuardRuntime) => Promise<void>): Promise<void> {
  const store = await openGuardStore(CONFIG, { path: ':memory:' });
  const rt = await openGuardRuntime(CONFIG, { store, pollMs: 0 });
  try {
    await run(rt);
  } finally {
    await rt.close();
    await store.close();
  }
}

function callOn(route: GatewayRoute, guard: GuardRuntime | undefined, path = '/crm') {
  const { call } = fakeCall({ services: fakeServices({ guard }) });
  call.route = route;
  call.url = new URL(path, 'http://gw.invalid');
  return call;
}

const LIST = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  result: { tools: [{ name: 'search', description: 'Search', inputSchema: { type: 'object' } }] },
});

test('tools/list under tofu: JSON and SSE answers pin their tools; a store that fails hides them all', async () => {
  await withRuntime(async (rt) => {
    const route: GatewayRoute = { ...ROUTE, protocol: 'mcp', tools: { pinning: 'tofu' } };
    assert.deepEqual([...(await pinnedTools(callOn(route, rt), LIST, 'application/json'))], ['search']);
    const sse = `event: message\ndata: ${LIST}\n\n`;
    assert.deepEqual([...(await pinnedTools(callOn(route, rt), sse, 'text/event-stream'))], ['search']);
    assert.equal((await rt.pins.pin('/crm', 'search'))?.status, 'approved');
    // No guard store: nothing is shown.
    assert.deepEqual([...(await pinnedTools(callOn(route, undefined), LIST, 'application/json'))], []);
  });
  await withRuntime(async (rt) => {
    await rt.store.close();
    const route: GatewayRoute = { ...ROUTE, protocol: 'mcp', tools: { pinning: 'tofu' } };
    assert.deepEqual([...(await pinnedTools(callOn(route, rt), LIST, 'application/json'))], []);
  });
});

test('agent card: unapproved skills removed; a signed card passes unchanged; a non-JSON card as it is', async () => {
  await withRuntime(async (rt) => {
    const route: GatewayRoute = { ...ROUTE, protocol: 'a2a', tools: { pinning: 'approve' } };
    const card = { name: 'R', skills: [{ id: 'research', name: 'Research', description: 'x', tags: [] }] };
    const path = '/crm/.well-known/agent-card.json';
    assert.deepEqual(
      JSON.parse(await pinAgentCard(callOn(route, rt, path), JSON.stringify(card))).skills,
      [],
    );
    assert.equal((await rt.pins.pin('/crm', 'research'))?.status, 'pending');
    const signed = JSON.stringify({ ...card, signatures: [{ protected: 'e30', signature: 'AA' }] });
    assert.equal(await pinAgentCard(callOn(route, rt, path), signed), signed);
    assert.equal(await pinAgentCard(callOn(route, rt, path), 'not json'), 'not json');
  });
});

test('list_changed is noticed across a chunk boundary, and only on pinning MCP routes', async () => {
  await withRuntime(async (rt) => {
    const route: GatewayRoute = { ...ROUTE, protocol: 'mcp', tools: { pinning: 'tofu' } };
    await pinnedTools(callOn(route, rt), LIST, 'application/json');
    const watch = listChangedWatcher(callOn(route, rt));
    assert.ok(watch);
    watch(Buffer.from('data: {"jsonrpc":"2.0","method":"notifications/tools/'));
    watch(Buffer.from('list_changed"}\n\n'));
    for (let i = 0; i < 100 && !(await rt.pins.pin('/crm', 'search'))?.recheck; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal((await rt.pins.pin('/crm', 'search'))?.recheck, true);
    assert.equal(listChangedWatcher(callOn({ ...route, tools: { pinning: 'off' } }, rt)), undefined);
    assert.equal(listChangedWatcher(callOn({ ...route, protocol: 'a2a' }, rt)), undefined);
  });
});
