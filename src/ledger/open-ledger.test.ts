import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { POSTGRES_URL as PG_URL, requirePostgres } from '../../test/support/services.ts';
import { loadConfig } from '../config/load-config.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { verifyCheckpoint } from './checkpoint.ts';
import { openLedger } from './open-ledger.ts';

const root = mkdtempSync(join(tmpdir(), 'warrant-open-ledger-'));
const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
const schemas: string[] = [];
after(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  rmSync(root, { recursive: true, force: true });
});

const record = (n: number) => ({
  id: `d${n}`,
  kind: 'decision' as const,
  time: new Date(1_750_000_000_000 + n).toISOString(),
  gateway: 'gw',
  decision: 'allow' as const,
  txn: 'txn-1',
});

describe('openLedger', () => {
  test('SQLite: <dataDir>/ledger.db, a ledger key kept at <dataDir>/ledger-key.jwk, checkpoints per the config', async () => {
    const dataDir = join(root, 'data');
    const config = loadConfig(undefined, {
      dataDir,
      ledger: { checkpointEvery: { records: 2, ms: 60_000 } },
    });
    const ledger = await openLedger(config);
    assert.equal(ledger.origin, 'warrant.local/ledger');
    for (let n = 0; n < 5; n++) await ledger.append(record(n));
    assert.equal(ledger.latestCheckpoint()?.size, 4);
    const key = ledger.verifierKey;
    await ledger.close();
    assert.equal(statSync(join(dataDir, 'ledger.db')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'ledger-key.jwk')).mode & 0o777, 0o600);

    const again = await openLedger(config);
    assert.equal(again.verifierKey, key, 'the same key is used again');
    assert.equal(again.size, 5);
    assert.equal(verifyCheckpoint(again.latestCheckpoint()!.note, [key]).size, 5);
    await again.close();
  });

  test('a given signer is used, named after the origin', async () => {
    const dataDir = join(root, 'given');
    const config = loadConfig(undefined, { dataDir, trustDomain: 'example.org' });
    const ledger = await openLedger(config, { signer: generateSigningKey('EdDSA') });
    assert.equal(ledger.origin, 'example.org/ledger');
    assert.match(ledger.verifierKey, /^example\.org\/ledger\+[0-9a-f]{8}\+/);
    assert.ok(!existsSync(join(dataDir, 'ledger-key.jwk')));
    await ledger.close();
  });

  test('PostgreSQL: the ledger schema of store.url', async () => {
    await requirePostgres();
    const schema = `warrant_ledger_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const config = loadConfig(undefined, {
      dataDir: join(root, 'pg'),
      store: { kind: 'postgres', url: PG_URL },
    });
    const ledger = await openLedger(config, { schema });
    assert.equal(await ledger.append(record(0)), 0);
    await ledger.close();
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".ledger_records`);
    assert.equal(rows[0].n, 1);
  });
});
