import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../test/support/redis-server.ts';
import { loadConfig } from '../config/load-config.ts';
import type { WarrantConfig } from '../config/types.ts';
import { createLogger } from '../telemetry/index.ts';
import { devAdminToken, PartStartError, startDev } from './dev.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function devConfig(gatewayPort = 0, stsPort = 0): WarrantConfig {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-runtime-dev-'));
  dirs.push(dir);
  return loadConfig(undefined, {
    dataDir: join(dir, 'data'),
    sts: { listen: { host: '127.0.0.1', port: stsPort } },
    gateway: { listen: { host: '127.0.0.1', port: gatewayPort } },
  });
}

const quiet = () => createLogger({ service: 'sts', level: 'silent' });

/** Whether something accepts TCP connections at `url`. */
async function listening(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

describe('startDev', () => {
  test('starts the STS, the gateway trusting it and the ledger on free ports, and closes them all', async () => {
    const config = devConfig();
    const dev = await startDev(config, { adminToken: 'dev-admin-token-0123456789', logger: quiet() });
    const { controlPlane, dataPlane } = dev;
    try {
      assert.doesNotMatch(controlPlane.url, /:0$/);
      assert.doesNotMatch(dataPlane.url, /:0$/);
      assert.notEqual(controlPlane.url, dataPlane.url);
      for (const url of [controlPlane.url, dataPlane.url]) {
        const health = await fetch(`${url}/healthz`);
        assert.equal(health.status, 200, url);
      }
      // The gateway trusts this STS: its revocation feed connects, so it becomes ready.
      let ready = 0;
      for (let i = 0; i < 50 && ready !== 200; i++) {
        ready = (await fetch(`${dataPlane.url}/readyz`)).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(ready, 200);
      assert.equal((await fetch(`${controlPlane.url}/readyz`)).status, 200);
      // The admin API takes the given credential.
      const agents = await fetch(`${controlPlane.url}/admin/agents`, {
        headers: { authorization: 'Bearer dev-admin-token-0123456789' },
      });
      assert.equal(agents.status, 200);
      // The gateway owns the ledger (single writer), durable in <data>/ledger.db.
      assert.equal(dataPlane.ledger?.mode, 'single-writer');
      assert.equal(dataPlane.ledger?.sink, dataPlane.ledger?.ledger);
      assert.ok(existsSync(join(config.dataDir, 'ledger.db')));
      assert.equal(controlPlane.hotState.kind, 'memory');
      assert.equal(dataPlane.hotState.kind, 'memory');
      assert.deepEqual(dev.demoLines, []);
    } finally {
      await dev.close();
    }
    assert.equal(await listening(controlPlane.url), false, 'the STS is closed');
    assert.equal(await listening(dataPlane.url), false, 'the gateway is closed');
    await dev.close();
  });

  test('a gateway that cannot listen: PartStartError naming the gateway, and the STS is closed again', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const stsPort = await freePort();
      const config = devConfig(port, stsPort);
      const error = await startDev(config, { adminToken: 'x'.repeat(32), logger: quiet() }).then(
        () => assert.fail('started'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof PartStartError);
      assert.equal(error.part, 'gateway');
      assert.equal(error.port, port);
      assert.equal((error.cause as { code?: string }).code, 'EADDRINUSE');
      // The STS had started on its port; it is free again.
      const again = createServer();
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.listen(stsPort, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => again.close(() => resolve()));
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  test('without an admin token, one is created in <data>/admin-token (0600) and reused', () => {
    const config = devConfig();
    const notices: string[] = [];
    const first = devAdminToken(config.dataDir, (line) => notices.push(line));
    assert.match(first, /^[\w-]{43}$/);
    assert.equal(statSync(join(config.dataDir, 'admin-token')).mode & 0o777, 0o600);
    assert.equal(
      devAdminToken(config.dataDir, (line) => notices.push(line)),
      first,
    );
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /created an admin token in .*admin-token/);
  });
});
