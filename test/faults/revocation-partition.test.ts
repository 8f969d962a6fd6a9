/**
 * Fault: the link between a gateway and its STS is black-holed silently (connections stay open, nothing
 * arrives) just after a feed heartbeat, and a warrant is revoked during the partition. The staleness bound
 * must hold: the gateway counts its revocation data fresh only from what it received (the last heartbeat's
 * time, the status list's `iat`), so once the bound has passed since then it fails closed (503
 * WARRANT_STATUS_STALE) — not 20 s later because the connection still looks open. When the link heals, the
 * revocation arrives and the warrant is refused as revoked; a live warrant is accepted again.
 *
 * Times are measured from what the gateway received (`RevocationView.asOf`), not asserted tightly on the
 * wall clock: the bound is 2 s, and the refusal must come within the bound plus 1.5 s.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tokenHash } from '../../src/core/jose/hash.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { claimsOf, hop, rootWarrant, sleep, TOOLS, Upstreams, WIDE } from '../gateway/rejections-support.ts';
import { CRM_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

const CRM = `${TOOLS}/crm`;
const BOUND_S = 2;
const BOUND_MS = BOUND_S * 1000;
/** How late after the bound the refusal may come (a poll interval, a loaded machine). */
const MARGIN_MS = 1500;

const up = new Upstreams();
let proxy: TcpProxy;
let h: GatewayHarness;
let executor: AgentClient;
let revoked: string;
let live: string;

before(async () => {
  proxy = await TcpProxy.start();
  h = await startGatewayHarness({
    // The STS's public issuer is the proxy: warrants, status lists and the feed all name it.
    sts: { overrides: { sts: { issuer: proxy.url } } },
    issuer: (sts) => {
      proxy.target = { host: '127.0.0.1', port: Number(new URL(sts.url).port) };
      return proxy.url;
    },
    overrides: { gateway: { statusStalenessSeconds: BOUND_S } },
    upstreams: { crm: up.handler('crm') },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [CRM_READ],
  });
  const planner = await h.sts.agent('planner');
  executor = await h.sts.agent('executor', WIDE);
  const root = await rootWarrant(h, planner, agentIdOf('executor'), [
    { action: 'tools:*', resource: `${TOOLS}/*` },
  ]);
  revoked = await hop(executor, root, CRM);
  live = await hop(executor, root, CRM);
});

after(async () => {
  await h?.close();
  await proxy?.close();
});

const codeOf = async (r: Response): Promise<string | undefined> =>
  ((await r.json().catch(() => ({}))) as { code?: string }).code;

/** Polls `probe` every 50 ms until it holds or `ms` pass; returns whether it held. */
async function eventually(probe: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > end) return false;
    await sleep(50);
  }
}

test('a silent partition: a warrant revoked behind it is refused (503 stale) within the bound of the last heartbeat', async (t) => {
  const view = h.gw.revocation;
  const uri = (claimsOf(revoked)['status'] as { uri: string }).uri;
  assert.equal(
    new URL(uri).origin,
    new URL(proxy.url).origin,
    'the status list is fetched through the proxy',
  );
  assert.equal(view.heartbeatMs, 500, 'the gateway asks for a heartbeat every quarter bound');

  // Steady state: the feed vouches for the list, the warrant is accepted.
  assert.equal((await h.call(executor, revoked, '/crm/contacts')).status, 200);
  assert.ok(
    await eventually(() => view.feedConnected && Date.now() - view.asOf(uri) < 1000, 5000),
    'the feed keeps the status list fresh',
  );

  // Black-hole the link just after a heartbeat arrived.
  const beats = view.heartbeats;
  assert.ok(await eventually(() => view.heartbeats > beats, 2000), 'a heartbeat arrives');
  proxy.partition();
  await sleep(50);
  const asOf = view.asOf(uri);
  const deadline = asOf + BOUND_MS;
  t.diagnostic(`partitioned ${Date.now() - asOf} ms after the data the gateway holds was current`);

  await h.sts.plane.sts.revoke({ hash: tokenHash(revoked) }, 'revoked behind a partition');
  const hitsBefore = up.hits['crm']!;

  const accepted: number[] = [];
  let refusedAt: number | undefined;
  while (Date.now() < deadline + MARGIN_MS + 1500) {
    const sent = Date.now();
    const r = await h.call(executor, revoked, '/crm/contacts');
    if (r.status === 200) {
      await r.body?.cancel();
      accepted.push(sent);
      assert.equal(refusedAt, undefined, 'never accepted again once refused');
    } else {
      assert.equal(r.status, 503);
      assert.equal(await codeOf(r), 'WARRANT_STATUS_STALE');
      refusedAt ??= Date.now();
      if (Date.now() > refusedAt + 300) break;
    }
    await sleep(100);
  }
  t.diagnostic(
    `accepted ${accepted.length} calls, the last ${accepted.length ? accepted.at(-1)! - asOf : 0} ms after ` +
      `the data was current; refused (stale) ${refusedAt === undefined ? 'never' : `${refusedAt - asOf} ms after it`}`,
  );
  assert.ok(refusedAt !== undefined, 'the gateway failed closed');
  assert.ok(
    refusedAt - asOf <= BOUND_MS + MARGIN_MS,
    `refused ${refusedAt - asOf} ms after the data was current`,
  );
  // Every call accepted was sent while the data was within the bound (the gateway checks at arrival).
  for (const sent of accepted) assert.ok(sent <= deadline, `accepted a call sent ${sent - asOf} ms after`);
  assert.equal(up.hits['crm']! - hitsBefore, accepted.length, 'a refused call reaches no upstream');
  assert.equal(view.asOf(uri), asOf, 'nothing arrived through the partition');

  // The link heals: the revocation arrives; the revoked warrant is refused as revoked, a live one accepted.
  proxy.heal();
  let last: { status: number; code: string | undefined } | undefined;
  assert.ok(
    await eventually(async () => {
      const r = await h.call(executor, revoked, '/crm/contacts');
      last = { status: r.status, code: await codeOf(r) };
      assert.notEqual(r.status, 200, 'a revoked warrant is never accepted after the heal');
      return r.status === 401 && last.code === 'WARRANT_TOKEN_REVOKED';
    }, 8000),
    `refused as revoked after the heal (last: ${JSON.stringify(last)})`,
  );
  assert.ok(
    await eventually(async () => {
      const r = await h.call(executor, live, '/crm/contacts');
      await r.body?.cancel();
      return r.status === 200;
    }, 8000),
    'a live warrant is accepted again',
  );
});
