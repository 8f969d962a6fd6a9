/**
 * STS `/readyz` tells the truth about its store: a real query against it, so a PostgreSQL that is down
 * makes the STS not ready (503, `store: false`) within the probe timeout, while `/healthz` (the process
 * lives) stays 200. The PostgreSQL here is the test's own (test/support/own-postgres.ts), stopped by it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { type ControlPlane, startControlPlane } from '../../src/runtime/control-plane.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { Store } from '../../src/store/ports.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { OwnPostgres } from '../support/own-postgres.ts';
import { TRUST_DOMAIN } from '../support/sts-harness.ts';

test('/readyz: 200 while the PostgreSQL store answers; 503 with store false once it is stopped; /healthz stays 200', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-ready-'));
  const pg = await OwnPostgres.start();
  const lines: string[] = [];
  let store: Store | undefined;
  let plane: ControlPlane | undefined;
  try {
    store = await openStore({ kind: 'postgres', url: pg.url });
    plane = await startControlPlane(
      loadConfig(undefined, {
        trustDomain: TRUST_DOMAIN,
        dataDir: join(dir, 'data'),
        sts: { listen: { host: '127.0.0.1', port: 0 } },
      }),
      {
        store,
        logger: createLogger({ service: 'sts', destination: { write: (l: string) => void lines.push(l) } }),
      },
    );
    const ready = await fetch(`${plane.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, store: true, hotState: true });

    pg.stop();
    const started = Date.now();
    const down = await fetch(`${plane.url}/readyz`);
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { ready: false, store: false, hotState: true });
    assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
    const health = await fetch(`${plane.url}/healthz`);
    assert.equal(health.status, 200);
    const warned = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'not ready');
    assert.equal(warned?.level, 'warn');
    assert.equal(warned?.store, false);
  } finally {
    await plane?.close();
    await store?.close().catch(() => {});
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/readyz: 503 with store false while the store refuses writes (its WAL could not be synced), though reads answer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-ready-'));
  const lines: string[] = [];
  let store: Store | undefined;
  let plane: ControlPlane | undefined;
  // What the SQLite store reports after a failed fdatasync (src/store/sqlite/sqlite-store.test.ts shows it
  // there): every write refused until it is reopened, reads still answered.
  let writable = true;
  try {
    store = await openStore({ kind: 'sqlite', path: join(dir, 'sts.sqlite') });
    plane = await startControlPlane(
      loadConfig(undefined, {
        trustDomain: TRUST_DOMAIN,
        dataDir: join(dir, 'data'),
        sts: { listen: { host: '127.0.0.1', port: 0 } },
      }),
      {
        store: { ...store, writable: () => writable },
        logger: createLogger({ service: 'sts', destination: { write: (l: string) => void lines.push(l) } }),
      },
    );
    const ready = await fetch(`${plane.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, store: true, hotState: true });

    writable = false;
    const down = await fetch(`${plane.url}/readyz`);
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { ready: false, store: false, hotState: true });
    assert.equal((await fetch(`${plane.url}/healthz`)).status, 200);
    const warned = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'not ready');
    assert.equal(warned?.store, false);
  } finally {
    await plane?.close();
    await store?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});
