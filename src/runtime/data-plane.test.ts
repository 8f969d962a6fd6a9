import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../test/support/redis-server.ts';
import { loadConfig } from '../config/load-config.ts';
import type { ConfigOverrides, WarrantConfig } from '../config/types.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { KeySet } from '../core/jose/key-set.ts';
import { CatalogError } from '../guard/catalog.ts';
import { MemoryDecisionLog } from '../ledger/decision-log.ts';
import { startDataPlane } from './data-plane.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function gatewayConfig(overrides: ConfigOverrides = {}): { config: WarrantConfig; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-runtime-dp-'));
  dirs.push(dir);
  const config = loadConfig(undefined, {
    dataDir: join(dir, 'data'),
    ...overrides,
    gateway: { listen: { host: '127.0.0.1', port: 0 }, ...overrides.gateway },
  });
  return { config, dir };
}

// In-process keys: the gateway contacts the issuer only for status lists and its feed.
const key = generateSigningKey('EdDSA');
const keys = () => new KeySet([key]).resolve;

describe('startDataPlane', () => {
  test('no issuer: a TypeError before anything is opened', async () => {
    const { config } = gatewayConfig();
    await assert.rejects(startDataPlane(config), TypeError);
    assert.equal(existsSync(config.dataDir), false, 'no ledger was created');
  });

  test('a bad action catalog is named before Redis or the ledger is touched', async () => {
    const { dir } = gatewayConfig();
    const catalog = join(dir, 'catalog.yaml');
    writeFileSync(catalog, 'actions:\n  - name: x\n');
    const { config } = gatewayConfig({
      guard: { catalog },
      redis: { url: `redis://127.0.0.1:${await freePort()}` },
      gateway: { replayCache: 'redis', issuer: 'http://127.0.0.1:9' },
    });
    await assert.rejects(startDataPlane(config, { keys }), CatalogError);
    assert.equal(existsSync(join(config.dataDir, 'ledger.db')), false);
  });

  test('Redis for the replay cache unreachable: fails fast with WARRANT_HOT_STATE_UNAVAILABLE, no ledger opened', async () => {
    const { config } = gatewayConfig({
      redis: { url: `redis://127.0.0.1:${await freePort()}` },
      gateway: { replayCache: 'redis', issuer: 'http://127.0.0.1:9' },
    });
    const started = Date.now();
    await assert.rejects(startDataPlane(config, { keys }), { code: 'WARRANT_HOT_STATE_UNAVAILABLE' });
    assert.ok(Date.now() - started < 2000);
    assert.equal(existsSync(join(config.dataDir, 'ledger.db')), false);
  });

  test('a caller-given decision sink replaces the ledger role; reload applies new routes; close is idempotent', async () => {
    const { config } = gatewayConfig({ gateway: { issuer: 'http://127.0.0.1:9' } });
    const decisions = new MemoryDecisionLog();
    const plane = await startDataPlane(config, { keys, decisions });
    try {
      assert.equal(plane.ledger, undefined);
      assert.equal(plane.hotState.kind, 'memory');
      assert.equal(existsSync(join(config.dataDir, 'ledger.db')), false, 'the given sink is used, no ledger');
      assert.equal((await fetch(`${plane.url}/healthz`)).status, 200);
      plane.reload(
        loadConfig(undefined, {
          gateway: {
            routes: [
              {
                match: { pathPrefix: '/crm' },
                upstream: 'http://127.0.0.1:9',
                audience: 'https://crm',
                protocol: 'http',
                signedBodies: false,
              },
            ],
          },
        }),
      );
      assert.equal(plane.replica.gateway.routes.length, 1);
    } finally {
      await plane.close();
      await plane.close();
    }
  });
});
