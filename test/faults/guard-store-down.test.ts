/**
 * The gateway's `/readyz` tells the truth about its guard store (budgets, approvals and trust levels live
 * there): with the store on a PostgreSQL of the test's own (test/support/own-postgres.ts), stopping that
 * server makes the gateway not ready (503, `guardStore: false`) within the probe's bound, while `/healthz`
 * (the process lives) stays 200. The shared PostgreSQL is never touched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openGuardRuntime } from '../../src/guard/runtime.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { OwnPostgres } from '../support/own-postgres.ts';

test('gateway /readyz: 200 while its PostgreSQL guard store answers; 503 with guardStore false once it is stopped', async () => {
  const pg = await OwnPostgres.start();
  let h: GatewayHarness | undefined;
  try {
    h = await startGatewayHarness({
      upstreams: { echo: (_req, res) => res.end('ok') },
      routes: (u) => [
        {
          match: { pathPrefix: '/echo' },
          upstream: u['echo']!,
          audience: 'https://tools.example/echo',
          protocol: 'http',
        },
      ],
      catalog: [],
      openGuard: (config) =>
        openGuardRuntime({ ...config, store: { kind: 'postgres', url: pg.url } }, { pollMs: 0 }),
    });
    const url = `${h.gw.url}/readyz`;
    // Ready once the revocation feed is connected.
    const end = Date.now() + 5000;
    while ((await fetch(url)).status !== 200 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const ready = await fetch(url);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      ready: true,
      revocationFeed: true,
      hotState: true,
      ledger: true,
      guardStore: true,
    });

    pg.stop();
    const started = Date.now();
    const down = await fetch(url);
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), {
      ready: false,
      revocationFeed: true,
      hotState: true,
      ledger: true,
      guardStore: false,
    });
    assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
    assert.equal((await fetch(`${h.gw.url}/healthz`)).status, 200);
  } finally {
    await h?.close().catch(() => {});
    pg.destroy();
  }
});
