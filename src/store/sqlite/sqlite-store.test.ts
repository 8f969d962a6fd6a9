import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { migrateSqlite } from '../../sql/migrate-sqlite.ts';
import { storeContract } from '../contract.ts';
import { SQLITE_MIGRATIONS } from '../migrations.ts';
import { openStore } from '../open-store.ts';
import { assertUpgradedFromV1 } from '../upgrade-contract.ts';

const root = mkdtempSync(join(tmpdir(), 'warrant-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(root, `db-${++files}`, 'sts.sqlite');

storeContract(
  'sqlite :memory:',
  (clock) => openStore({ kind: 'sqlite', path: ':memory:', clock }),
  (store) => store.close(),
);

storeContract(
  'sqlite file (WAL)',
  (clock) => openStore({ kind: 'sqlite', path: freshPath(), clock }),
  (store) => store.close(),
);

describe('SQLite store', () => {
  test('writes that never pause keep the WAL within its bound (the checkpointer thread alone never catches up)', async () => {
    const path = freshPath();
    const { openSqliteStore } = await import('./sqlite-store.ts');
    const store = await openSqliteStore({ path, walBoundPages: 1024 });
    const grants = JSON.stringify([{ action: 'read', resource: `https://tool.example/${'x'.repeat(400)}` }]);
    let n = 0;
    const writer = async () => {
      while (n < 2400) {
        const i = n++;
        await store.tokens.record({
          hash: `h-${i}-${'y'.repeat(40)}`,
          jti: `jti-${i}`,
          kind: 'warrant',
          parentHash: `p-${i % 97}`,
          rootHash: null,
          txn: `txn-${i % 89}`,
          sub: `person-${i % 83}@example.org`,
          actors: ['spiffe://example.org/agent/a', `spiffe://example.org/agent/b${i % 7}`],
          audience: 'spiffe://example.org/tool',
          grantsJson: grants,
          policyVersion: 'v1',
          statusList: null,
          statusIdx: null,
          iat: 1_750_000_000 + i,
          exp: 1_750_000_300 + i,
          revokedAt: null,
          revokeReason: null,
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    // ~2,400 tokens of ~1 KiB with six indexes and actor rows: tens of MiB of WAL without a bound.
    const frame = 4096 + 24;
    assert.ok(
      statSync(`${path}-wal`).size <= 1536 * frame,
      `WAL of ${statSync(`${path}-wal`).size} bytes is past its bound of 1,024 pages (plus one group's)`,
    );
    assert.equal((await store.tokens.listByTxn('txn-0')).length, Math.ceil(2400 / 89));
    await store.close();
  });

  test('a WAL bound that is not a positive integer is refused before anything is opened', async () => {
    const { openSqliteStore } = await import('./sqlite-store.ts');
    for (const walBoundPages of [0, -1, 1.5])
      await assert.rejects(openSqliteStore({ path: freshPath(), walBoundPages }), TypeError);
  });

  test('the file is created 0600 in a 0700 directory, in WAL mode', async () => {
    const path = freshPath();
    const store = await openStore({ kind: 'sqlite', path });
    await store.agents.create({
      id: 'spiffe://example.org/agent/a',
      name: 'a',
      owner: 'o',
      tier: 't',
      trustLevel: 0,
      allowedAudiences: [],
      maxDepth: 1,
      publicJwk: {},
      jkt: 'j',
    });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    await store.close();
    const db = new DatabaseSync(path);
    assert.equal(db.prepare('PRAGMA journal_mode').get()!['journal_mode'], 'wal');
    db.close();
  });

  test('opening twice applies each migration once and records its version', async () => {
    const path = freshPath();
    await (await openStore({ kind: 'sqlite', path, clock: () => 1000 })).close();
    const second = await openStore({ kind: 'sqlite', path, clock: () => 2000 });
    await second.close();
    const db = new DatabaseSync(path);
    assert.deepEqual(
      db
        .prepare('SELECT version, name, applied_at FROM schema_migrations')
        .all()
        .map((r) => ({ ...r })),
      [
        { version: 1, name: '001_initial', applied_at: 1000 },
        { version: 2, name: '002_agent_client_ids', applied_at: 1000 },
        { version: 3, name: '003_tokens_rowid', applied_at: 1000 },
        { version: 4, name: '004_tokens_fillfactor', applied_at: 1000 },
      ],
    );
    assert.deepEqual(migrateSqlite(db, SQLITE_MIGRATIONS, 3000), []);
    db.close();
  });

  test('a database at version 1 is upgraded: its agents get no client ids, its issuers the defaults', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new DatabaseSync(path);
    migrateSqlite(db, SQLITE_MIGRATIONS.slice(0, 1), 1000);
    db.exec(
      `INSERT INTO agents VALUES ('spiffe://e/agent/a', 'a', 'o', 't', 0, '[]', 1, 'active', '{}', 'j', '[]', 1, 1);
       INSERT INTO issuers VALUES ('https://idp', 'oidc', 'aud', 'https://idp/jwks', NULL, NULL);`,
    );
    db.close();
    await assertUpgradedFromV1(await openStore({ kind: 'sqlite', path }));
  });

  test('a database at version 2 keeps its tokens when the tokens table becomes a rowid table (003)', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new DatabaseSync(path);
    migrateSqlite(db, SQLITE_MIGRATIONS.slice(0, 2), 1000);
    db.exec(
      `INSERT INTO tokens VALUES ('h-root', 'j1', 'warrant', NULL, 'h-root', 'tx', 'alice', '["a"]', 'aud', '[]', 'p1', 'l1', 0, 10, 99, NULL, NULL);
       INSERT INTO tokens VALUES ('h-kid', 'j2', 'warrant', 'h-root', 'h-root', 'tx', 'alice', '["a","b"]', 'aud2', NULL, NULL, 'l1', 1, 11, 98, 50, 'gone');
       INSERT INTO token_actors VALUES ('a', 'h-root'), ('a', 'h-kid'), ('b', 'h-kid');`,
    );
    db.close();
    const store = await openStore({ kind: 'sqlite', path });
    try {
      const kid = await store.tokens.get('h-kid');
      assert.deepEqual(
        { ...kid, actors: [...(kid?.actors ?? [])] },
        {
          hash: 'h-kid',
          jti: 'j2',
          kind: 'warrant',
          parentHash: 'h-root',
          rootHash: 'h-root',
          txn: 'tx',
          sub: 'alice',
          actors: ['a', 'b'],
          audience: 'aud2',
          grantsJson: null,
          policyVersion: null,
          statusList: 'l1',
          statusIdx: 1,
          iat: 11,
          exp: 98,
          revokedAt: 50,
          revokeReason: 'gone',
        },
      );
      assert.deepEqual(
        (await store.tokens.descendants('h-root')).map((t) => t.hash),
        ['h-kid'],
      );
      assert.equal((await store.tokens.getByJti('j1'))?.hash, 'h-root');
      await assert.rejects(store.tokens.record({ ...(await store.tokens.get('h-root'))!, jti: 'j9' }), {
        code: 'WARRANT_STORE_CONFLICT',
      });
    } finally {
      await store.close();
    }
    const after = new DatabaseSync(path);
    const sql = after.prepare("SELECT sql FROM sqlite_master WHERE name = 'tokens'").get()!['sql'] as string;
    assert.doesNotMatch(sql, /WITHOUT ROWID/);
    const indexes = after
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens' ORDER BY name")
      .all()
      .map((r) => r['name']);
    assert.deepEqual(indexes, [
      'sqlite_autoindex_tokens_1',
      'sqlite_autoindex_tokens_2',
      'tokens_exp',
      'tokens_parent',
      'tokens_sub',
      'tokens_txn',
    ]);
    after.close();
  });

  test('a database written by a newer Warrant is refused', async () => {
    const path = freshPath();
    await (await openStore({ kind: 'sqlite', path })).close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run(
      '999_future',
    );
    db.close();
    await assert.rejects(openStore({ kind: 'sqlite', path }), { code: 'WARRANT_STORE_SCHEMA_UNSUPPORTED' });
  });

  test('a failing migration leaves nothing applied', () => {
    const db = new DatabaseSync(':memory:');
    const broken = [...SQLITE_MIGRATIONS, { version: 2, name: '002_broken', sql: 'CREATE TABLE agents (x)' }];
    assert.throws(() => migrateSqlite(db, broken, 1));
    assert.equal(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'agents'").get()!['n'], 0);
    db.close();
  });

  test('signing-key material never reaches the console', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    const secret = 'SECRET-MATERIAL-0123456789';
    const seen: string[] = [];
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const saved = methods.map((m) => console[m]);
    for (const m of methods) console[m] = (...args: unknown[]) => void seen.push(args.map(String).join(' '));
    try {
      const key = {
        kid: 'k',
        alg: 'EdDSA',
        material: secret,
        state: 'current',
        createdAt: 1,
        retireAt: null,
      } as const;
      await store.keys.save(key);
      await store.keys.list();
      await store.keys.save(key).catch((error: Error) => seen.push(String(error), String(error.cause)));
    } finally {
      methods.forEach((m, i) => {
        console[m] = saved[i]!;
      });
      await store.close();
    }
    assert.ok(seen.every((line) => !line.includes(secret)));
  });

  test('a WAL that can no longer be synced: every write is refused, reads still answer, the store says it is not writable', async () => {
    const path = freshPath();
    const store = await openStore({ kind: 'sqlite', path });
    const token = (n: number) => ({
      hash: `h${n}`,
      jti: `j${n}`,
      kind: 'warrant' as const,
      parentHash: null,
      rootHash: null,
      txn: 'tx',
      sub: 'alice',
      actors: ['a'],
      audience: 'aud',
      grantsJson: null,
      policyVersion: null,
      statusList: null,
      statusIdx: null,
      iat: 10,
      exp: 99,
      revokedAt: null,
      revokeReason: null,
    });
    try {
      assert.equal(store.writable?.(), true);
      // The WAL vanishes under the store (an operator's mistake, a failing disk): its next sync fails.
      rmSync(`${path}-wal`);
      await assert.rejects(store.tokens.record(token(1)), {
        message: 'the store could not make its log durable (fdatasync failed)',
      });
      assert.equal(store.writable?.(), false);
      await assert.rejects(store.tokens.record(token(2)), { message: /fdatasync failed/ }, 'no retry');
      assert.equal(await store.agents.get('nobody'), null, 'reads still answer');
    } finally {
      await store.close();
    }
  });

  test('close is idempotent', async () => {
    const store = await openStore({ kind: 'sqlite', path: ':memory:' });
    await store.close();
    await store.close();
  });
});
