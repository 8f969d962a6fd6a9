/**
 * Hot reload of routes, catalog and action policy (DESIGN §7; SIGHUP in `warrant gateway`): a request in
 * flight finishes with the configuration it started with; the next request sees the new one; a policy
 * reload changes decisions at once and empties the decision cache.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { GatewayRoute } from '../../src/gateway/gateway.ts';
import { ActionCatalog, type CatalogAction } from '../../src/guard/catalog.ts';
import { DEFAULT_POLICY_FILES, DEFAULT_SCHEMA_FILE, loadPolicySet } from '../../src/policy/index.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  decisionsSince,
  expectRefusal,
  hop,
  rootWarrant,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const SLOW = `${TOOLS}/slow`;
const FAST = `${TOOLS}/fast`;
const SLOW_MS = 500;
const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;
const CATALOG: CatalogAction[] = [
  { name: 'tools:slow', match: { protocol: 'http', method: 'GET', path: '/slow*' }, ...low },
  { name: 'tools:fast.read', match: { protocol: 'http', method: 'GET', path: '/fast/read*' }, ...low },
];
const NEW_ACTION: CatalogAction = {
  name: 'tools:fast.report',
  match: { protocol: 'http', method: 'GET', path: '/fast/report*' },
  ...low,
};

const up = new Upstreams();
/** Resolves when the slow upstream has received a request. */
let slowArrived: () => void = () => {};
let h: GatewayHarness;
let routes: Record<string, string>;
let executor: AgentClient;
const leaf: Record<string, string> = {};

before(async () => {
  h = await startGatewayHarness({
    upstreams: {
      slow: up.handler('slow', (_req, res) => {
        slowArrived();
        const timer = setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"slow":true}');
        }, SLOW_MS);
        res.on('close', () => clearTimeout(timer));
      }),
      fast: up.handler('fast'),
    },
    routes: (u) => {
      routes = u;
      return [
        { match: { pathPrefix: '/slow' }, upstream: u['slow']!, audience: SLOW, protocol: 'http' },
        { match: { pathPrefix: '/fast' }, upstream: u['fast']!, audience: FAST, protocol: 'http' },
      ];
    },
    catalog: CATALOG,
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'tools:*', resource: `${TOOLS}/*` },
  ]);
  for (const audience of [SLOW, FAST]) leaf[audience] = await hop(executor, root, audience);
});

after(() => h?.close());

const get = (path: string, audience: string) => h.call(executor, leaf[audience]!, path);
const fastOnly = (): GatewayRoute[] => [
  { match: { pathPrefix: '/fast' }, upstream: routes['fast']!, audience: FAST, protocol: 'http' },
];

test('a route removed while a request is in flight: that request completes 200, the next one is 404', async () => {
  const arrived = new Promise<void>((resolve) => {
    slowArrived = resolve;
  });
  const started = Date.now();
  const inFlight = get('/slow/work', SLOW);
  await arrived;
  h.gw.gateway.reload({ routes: fastOnly() });
  assert.deepEqual(
    h.gw.gateway.routes.map((r) => r.match.pathPrefix),
    ['/fast'],
  );

  // A new request to the removed route is unknown at once, while the old one is still running.
  const from = h.decisions.records.length;
  await expectRefusal(await get('/slow/work', SLOW), {
    status: 404,
    error: 'not_found',
    code: 'WARRANT_ROUTE_UNKNOWN',
  });
  assert.deepEqual(decisionsSince(h, from), [], 'an unknown route decides nothing');

  const response = await inFlight;
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { slow: true });
  assert.ok(Date.now() - started >= SLOW_MS - 50, 'the answer came from the slow upstream');
  assert.equal(up.hits['slow'], 1, 'only the in-flight request reached the removed upstream');
  // The remaining route still works.
  assert.equal((await get('/fast/read/1', FAST)).status, 200);
});

test('a catalog reload makes a previously unknown action known (and allowed)', async () => {
  let from = h.decisions.records.length;
  await expectRefusal(await get('/fast/report/q3', FAST), {
    status: 403,
    error: 'access_denied',
    code: 'WARRANT_ACTION_UNKNOWN',
  });
  assert.equal(decisionsSince(h, from)[0]?.decision, 'deny');

  h.gw.gateway.reload({ catalog: new ActionCatalog([...CATALOG, NEW_ACTION]) });
  from = h.decisions.records.length;
  const r = await get('/fast/report/q3', FAST);
  assert.equal(r.status, 200, await r.clone().text());
  const [record] = decisionsSince(h, from);
  assert.equal(record?.decision, 'allow');
  assert.equal(record?.action, 'tools:fast.report');
});

test('a policy reload changes decisions at once and clears the decision cache', async () => {
  const original = DEFAULT_POLICY_FILES.map((f) => readFileSync(f, 'utf8')).join('\n');
  const schema = readFileSync(DEFAULT_SCHEMA_FILE, 'utf8');
  const forbidReports = loadPolicySet({
    name: 'action',
    schema,
    policies: `${original}
@id("no-reports")
forbid (principal, action == Warrant::Action::"call", resource)
when { context.action == "tools:fast.report" };
`,
  });
  const back = loadPolicySet({ name: 'action', schema, policies: original });

  // Repeated calls are answered from the decision cache.
  assert.equal((await get('/fast/report/q3', FAST)).status, 200);
  const hits = h.gw.gateway.callCache.hits;
  assert.equal((await get('/fast/report/q3', FAST)).status, 200);
  assert.ok(h.gw.gateway.callCache.hits > hits, 'the second call was a cache hit');

  h.gw.gateway.reload({ policy: forbidReports });
  const before = h.gw.gateway.callCache.misses;
  assert.equal(h.gw.gateway.decisionCache.size, 0, 'the reload emptied the decision cache');

  let from = h.decisions.records.length;
  await expectRefusal(await get('/fast/report/q3', FAST), {
    status: 403,
    error: 'access_denied',
    code: 'WARRANT_CALL_DENIED',
  });
  assert.ok(h.gw.gateway.callCache.misses > before, 'after the reload the call was decided afresh');
  const [denied] = decisionsSince(h, from);
  assert.equal(denied?.policyVersion, forbidReports.version);
  assert.match((denied?.reasons ?? []).join(' '), /no-reports/);
  // Other actions are still allowed under the new policy.
  assert.equal((await get('/fast/read/2', FAST)).status, 200);

  h.gw.gateway.reload({ policy: back });
  from = h.decisions.records.length;
  assert.equal((await get('/fast/report/q3', FAST)).status, 200);
  assert.equal(decisionsSince(h, from)[0]?.policyVersion, back.version);
});
