/**
 * The gateway's step timer (`GatewayOptions.stepTimer`, used by `BENCH_GW_STEPS=1`): each request tells
 * the timer every step it ran, in order, with its wall time; a refused request stops at the step that
 * refused it, which is timed too. Real STS, gateway and upstream over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GATEWAY_STEPS } from '../../src/gateway/steps/index.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { CRM_CONTACTS_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { hop, rootWarrant, TOOLS, WIDE } from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const told: [string, number][] = [];
let h: GatewayHarness;
let executor: AgentClient;
let leaf: string;

before(async () => {
  h = await startGatewayHarness({
    upstreams: {
      crm: (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
    },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [CRM_CONTACTS_READ],
    stepTimer: (step, micros) => told.push([step, micros]),
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'crm:*', resource: `${TOOLS}/*` },
  ]);
  leaf = await hop(executor, root, CRM);
});

after(() => h.close());

test('an allowed call tells the timer every step, in order, with a wall time', async () => {
  told.length = 0;
  const r = await h.call(executor, leaf, '/crm/contacts/42');
  assert.equal(r.status, 200, await r.text());
  assert.deepEqual(
    told.map(([step]) => step),
    GATEWAY_STEPS.map((s) => s.name),
  );
  for (const [step, micros] of told) assert.ok(Number.isFinite(micros) && micros >= 0, step);
  // The forward step waited for the upstream's answer over loopback: it cannot take no time at all.
  assert.ok(told.at(-1)![1] > 0);
});

test('a refused call stops at the step that refused it, and that step is timed', async () => {
  told.length = 0;
  const r = await fetch(`${h.gw.url}/crm/contacts/42`, { headers: { authorization: `DPoP ${leaf}` } });
  assert.equal(r.status, 401);
  await r.body?.cancel();
  const names = told.map(([step]) => step);
  assert.equal(names.at(-1), 'authenticate', 'no DPoP proof: refused by authenticate');
  assert.deepEqual(names, GATEWAY_STEPS.map((s) => s.name).slice(0, names.length));
});
