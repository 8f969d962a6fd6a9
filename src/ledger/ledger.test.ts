import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { POSTGRES_URL as PG_URL, requirePostgres } from '../../test/support/services.ts';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { verifyCheckpoint } from './checkpoint.ts';
import type { DecisionRecord } from './decision-log.ts';
import { canonicalJson } from './jcs.ts';
import { Ledger, type LedgerOptions, type LedgerSigner } from './ledger.ts';
import { leafHash, MerkleTree, verifyConsistency, verifyInclusion } from './merkle.ts';
import { MemoryLedgerStore } from './store/memory-ledger-store.ts';
import type { LedgerStore } from './store/ports.ts';
import { openPostgresLedgerStore } from './store/postgres/postgres-ledger-store.ts';
import { openSqliteLedgerStore } from './store/sqlite/sqlite-ledger-store.ts';

const root = mkdtempSync(join(tmpdir(), 'warrant-ledger-'));
const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
const schemas = new Set<string>();
after(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  rmSync(root, { recursive: true, force: true });
});
let files = 0;
const freshPath = () => join(root, `l-${++files}`, 'ledger.db');
const freshSchema = () => {
  const schema = `warrant_ledger_test_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
};

const signer: LedgerSigner = { name: 'warrant.local/ledger', key: generateSigningKey('EdDSA') };
const encoder = new TextEncoder();

function record(n: number, fields: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    id: `dec-${n}`,
    kind: 'decision',
    time: new Date(1_750_000_000_000 + n * 1000).toISOString(),
    gateway: 'gw-test',
    decision: n % 5 === 0 ? 'deny' : 'allow',
    reasons: ['policy:p1'],
    person: { sub: `person-${n % 3}`, iss: 'https://idp.example' },
    caller: `spiffe://warrant.local/agent/a${n % 4}`,
    recipient: 'https://tool.example',
    action: 'tools/call:search',
    txn: `txn-${n % 7}`,
    chain: [{ hash: `h${n}`, actor: 'spiffe://warrant.local/agent/a0' }],
    ...fields,
  };
}

/** Every kind of store the ledger runs on, each fresh; `reopen` gives a new store on the same data. */
const backends: {
  name: string;
  open(): Promise<{ store: LedgerStore; reopen(): Promise<LedgerStore> }>;
}[] = [
  {
    name: 'memory',
    async open() {
      const store = new MemoryLedgerStore();
      return { store, reopen: async () => store };
    },
  },
  {
    name: 'sqlite',
    async open() {
      const path = freshPath();
      return {
        store: await openSqliteLedgerStore({ path }),
        reopen: () => openSqliteLedgerStore({ path }),
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      await requirePostgres();
      const schema = freshSchema();
      return {
        store: await openPostgresLedgerStore({ url: PG_URL, schema }),
        reopen: () => openPostgresLedgerStore({ url: PG_URL, schema }),
      };
    },
  },
];

/** `store` with some methods replaced (the others bound to it). */
function wrap(store: LedgerStore, overrides: Partial<LedgerStore>): LedgerStore {
  return new Proxy(store, {
    get: (target, prop) => {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof LedgerStore];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The memory store closes for good; for reopen tests it is wrapped so `close` leaves the data. */
function keepOpen(store: LedgerStore): LedgerStore {
  return wrap(store, { close: async () => {} });
}

for (const backend of backends) {
  describe(`Ledger on ${backend.name}`, () => {
    test('10,000 concurrent appends: all acknowledged, group-committed, provable, reopened identical', async () => {
      const opened = await backend.open();
      const options: LedgerOptions = { checkpointEvery: { records: 1000, ms: 60_000 } };
      const store = backend.name === 'memory' ? keepOpen(opened.store) : opened.store;
      const ledger = await Ledger.open(store, signer, options);
      const N = 10_000;
      const indices = await Promise.all(Array.from({ length: N }, (_, n) => ledger.append(record(n))));
      assert.deepEqual(
        [...indices].sort((a, b) => a - b),
        Array.from({ length: N }, (_, i) => i),
      );
      assert.equal(ledger.size, N);
      assert.ok(ledger.batches < N / 10, `${ledger.batches} batches: appends were not grouped`);

      // The stored leaves rebuild the same tree, and each leaf is the hash of its stored text.
      const rows = await opened.store.entries(0, N);
      const rebuilt = MerkleTree.from(rows.map((r) => r.leafHash));
      const cp = (await ledger.checkpoint())!;
      assert.equal(cp.size, N);
      assert.deepEqual(rebuilt.root(), cp.root);
      for (const r of rows.filter((_, i) => i % 997 === 0)) {
        assert.deepEqual(leafHash(encoder.encode(r.canonical)), r.leafHash);
        assert.equal(
          r.canonical,
          canonicalJson({ ...record(Number(JSON.parse(r.canonical).id.slice(4))), index: r.index }),
        );
      }

      // Every stored checkpoint verifies, and consecutive ones are consistent.
      const checkpoints = await ledger.checkpoints({ limit: 1000 });
      const sizes = checkpoints.map((c) => c.size);
      assert.ok(sizes.length >= 2, `checkpoints at ${sizes}`);
      assert.equal(sizes.at(-1), N);
      let previous: { size: number; root: Uint8Array } | null = null;
      for (const c of checkpoints) {
        const signed = verifyCheckpoint(c.note, [ledger.verifierKey], {});
        assert.equal(signed.origin, 'warrant.local/ledger');
        assert.equal(signed.size, c.size);
        assert.deepEqual(signed.root, c.root);
        if (previous) {
          const { proof } = ledger.consistencyProof(previous.size, c.size);
          assert.ok(verifyConsistency(previous.size, c.size, previous.root, c.root, proof));
        }
        previous = signed;
      }

      // Inclusion proofs for random records verify against the latest signed checkpoint.
      for (let k = 0; k < 50; k++) {
        const i = Math.floor(Math.random() * N);
        const p = await ledger.inclusionProof(i);
        const signed = verifyCheckpoint(p.checkpoint, [ledger.verifierKey], {});
        assert.equal(p.size, signed.size);
        assert.ok(verifyInclusion(p.leafHash, i, p.size, p.proof, signed.root));
        assert.deepEqual(p.leafHash, rows[i]!.leafHash);
      }

      const rootBefore = cp.root;
      await ledger.close();
      const again = await Ledger.open(await opened.reopen(), signer, options);
      assert.equal(again.size, N);
      assert.deepEqual(again.latestCheckpoint()!.root, rootBefore);
      assert.equal(await again.append(record(N)), N);
      await again.close();
    });

    test('records are stored as given plus their index, and found by txn, person and time', async () => {
      const { store } = await backend.open();
      const ledger = await Ledger.open(store, signer);
      for (let n = 0; n < 30; n++) assert.equal(await ledger.append(record(n)), n);
      const got = (await ledger.getRecord(7))!;
      assert.deepEqual(got.record, { ...record(7), index: 7 });
      assert.equal(got.canonical, canonicalJson({ ...record(7), index: 7 }));
      assert.equal(await ledger.getRecord(30), null);
      const byTxn = await ledger.query({ txn: 'txn-3', limit: 100 });
      assert.deepEqual(
        byTxn.items.map((r) => r.index),
        [3, 10, 17, 24],
      );
      const byPerson = await ledger.query({ person: 'person-1', decision: 'deny', limit: 100 });
      assert.deepEqual(
        byPerson.items.map((r) => r.index),
        [10, 25],
      );
      const t0 = Date.parse(record(5).time);
      const byTime = await ledger.query({ since: t0, until: t0 + 3000, limit: 100 });
      assert.deepEqual(
        byTime.items.map((r) => r.index),
        [5, 6, 7],
      );
      await ledger.close();
    });
  });
}

describe('Ledger', () => {
  test('bad records are refused alone; the others are appended', async () => {
    const ledger = await Ledger.open(new MemoryLedgerStore(), signer);
    const results = await Promise.allSettled([
      ledger.append(record(0)),
      ledger.append(null as never),
      ledger.append({ ...record(1), index: 5 } as never),
      ledger.append({ ...record(2), time: 'yesterday' }),
      ledger.append({ ...record(3), risk: { score: 10n, factors: [] } } as never),
      ledger.append(record(4)),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason.name)),
      [0, 'TypeError', 'TypeError', 'TypeError', 'TypeError', 1],
    );
    await ledger.close();
    await assert.rejects(ledger.append(record(5)), { code: 'WARRANT_LEDGER_CLOSED' });
  });

  test('a checkpoint follows every N records', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await Ledger.open(store, signer, { checkpointEvery: { records: 10, ms: 60_000 } });
    for (let n = 0; n < 35; n++) await ledger.append(record(n));
    await ledger.checkpoint().then(() => {});
    const sizes = (await store.checkpoints({ limit: 100 })).map((c) => c.size);
    assert.deepEqual(sizes.slice(0, 3), [10, 20, 30]);
    await ledger.close();
  });

  test('a checkpoint follows within T ms of a write, and close writes a final one', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await Ledger.open(keepOpen(store), signer, { checkpointEvery: { records: 1000, ms: 20 } });
    await ledger.append(record(0));
    await ledger.append(record(1));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal((await store.latestCheckpoint())?.size, 2);
    await ledger.append(record(2));
    await ledger.close();
    assert.equal((await store.latestCheckpoint())?.size, 3);
  });

  test('an inclusion proof for a record not yet checkpointed writes the checkpoint first', async () => {
    const ledger = await Ledger.open(new MemoryLedgerStore(), signer, {
      checkpointEvery: { records: 1000, ms: 60_000 },
    });
    for (let n = 0; n < 5; n++) await ledger.append(record(n));
    assert.equal(ledger.latestCheckpoint(), null);
    const p = await ledger.inclusionProof(4);
    assert.equal(p.size, 5);
    const signed = verifyCheckpoint(p.checkpoint, [ledger.verifierKey], {});
    assert.ok(verifyInclusion(p.leafHash, 4, 5, p.proof, signed.root));
    await assert.rejects(ledger.inclusionProof(5), RangeError);
    await assert.rejects(ledger.inclusionProof(1, 3), RangeError);
    assert.throws(() => ledger.consistencyProof(0, 5), RangeError);
    assert.throws(() => ledger.consistencyProof(2, 6), RangeError);
    await ledger.close();
  });

  test('records stored after the last checkpoint (a crash) are covered at open', async () => {
    const store = keepOpen(new MemoryLedgerStore());
    const first = await Ledger.open(store, signer, { checkpointEvery: { records: 4, ms: 60_000 } });
    for (let n = 0; n < 6; n++) await first.append(record(n));
    assert.equal(first.latestCheckpoint()?.size, 4);
    // No close: as if the process died.
    const second = await Ledger.open(store, signer);
    assert.equal(second.latestCheckpoint()?.size, 6);
    assert.equal(await second.append(record(6)), 6);
    await second.close();
  });

  test('a store failure rejects the batch; the ledger carries on once the store is back', async () => {
    const inner = new MemoryLedgerStore();
    let failNext = false;
    let commitThenFail = false;
    const flaky = wrap(inner, {
      appendBatch: async (entries) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        await inner.appendBatch(entries);
        if (commitThenFail) {
          commitThenFail = false;
          throw new Error('connection lost after commit');
        }
      },
    });
    const ledger = await Ledger.open(flaky, signer);
    assert.equal(await ledger.append(record(0)), 0);
    failNext = true;
    await assert.rejects(ledger.append(record(1)), { code: 'WARRANT_LEDGER_WRITE_FAILED' });
    assert.equal(await ledger.append(record(2)), 1);
    commitThenFail = true;
    await assert.rejects(ledger.append(record(3)), { code: 'WARRANT_LEDGER_WRITE_FAILED' });
    // The batch whose reply was lost is in the store: the ledger reads it back and numbers on after it.
    assert.equal(await ledger.append(record(4)), 3);
    assert.equal(ledger.size, 4);
    const cp = (await ledger.checkpoint())!;
    assert.deepEqual(MerkleTree.from(await inner.leafHashes(0, 4)).root(), cp.root);
    await ledger.close();
  });

  test('two ledgers writing one store keep a single sequence', async () => {
    const store = keepOpen(new MemoryLedgerStore());
    const a = await Ledger.open(store, signer);
    const b = await Ledger.open(store, signer);
    const got = await Promise.all(Array.from({ length: 200 }, (_, n) => (n % 2 ? a : b).append(record(n))));
    assert.equal(new Set(got).size, 200);
    await a.close();
    await b.close();
    const c = await Ledger.open(store, signer);
    assert.equal(c.size, 200);
    await c.close();
  });

  test('options are checked at open', async () => {
    const store = new MemoryLedgerStore();
    await assert.rejects(Ledger.open(store, { name: 'x', key: generateSigningKey('ES256') }), TypeError);
    await assert.rejects(Ledger.open(store, signer, { checkpointEvery: { records: 0, ms: 1 } }), TypeError);
    await assert.rejects(Ledger.open(store, signer, { origin: 'a\nb' }), TypeError);
  });
});

describe('Ledger open refuses a tampered store', () => {
  async function written(n: number, every = 10): Promise<string> {
    const path = freshPath();
    const ledger = await Ledger.open(await openSqliteLedgerStore({ path, synchronous: 'normal' }), signer, {
      checkpointEvery: { records: every, ms: 60_000 },
    });
    for (let i = 0; i < n; i++) await ledger.append(record(i));
    await ledger.close();
    return path;
  }
  const edit = (path: string, sql: string, ...values: (string | number | Uint8Array)[]) => {
    const db = new DatabaseSync(path);
    db.prepare(sql).run(...values);
    db.close();
  };
  const reopen = async (path: string, options: LedgerOptions = {}) =>
    (await Ledger.open(await openSqliteLedgerStore({ path }), signer, options)).close();

  test('an edited record text is named by its index', async () => {
    const path = await written(50);
    edit(path, "UPDATE ledger_records SET canonical = replace(canonical, 'allow', 'deny') WHERE idx = 23");
    await assert.rejects(reopen(path), { code: 'WARRANT_LEDGER_CORRUPT', index: 23 });
  });

  test('verify=tree opens past an edited record text, and reading that record names it', async () => {
    const path = await written(20);
    edit(path, "UPDATE ledger_records SET canonical = replace(canonical, 'allow', 'deny') WHERE idx = 6");
    const ledger = await Ledger.open(await openSqliteLedgerStore({ path }), signer, { verify: 'tree' });
    assert.equal((await ledger.getRecord(5))?.index, 5);
    await assert.rejects(ledger.getRecord(6), { code: 'WARRANT_LEDGER_CORRUPT', index: 6 });
    await assert.rejects(ledger.query({ limit: 100 }), { code: 'WARRANT_LEDGER_CORRUPT', index: 6 });
    await ledger.close();
  });

  test('an edited record with a recomputed leaf hash breaks the signed root: the range start is named', async () => {
    const path = await written(50);
    const db = new DatabaseSync(path);
    const row = db.prepare('SELECT canonical FROM ledger_records WHERE idx = 23').get()!;
    const forged = String(row['canonical']).replace('"allow"', '"deny"');
    db.prepare('UPDATE ledger_records SET canonical = ?, leaf_hash = ? WHERE idx = 23').run(
      forged,
      leafHash(encoder.encode(forged)),
    );
    db.close();
    await assert.rejects(reopen(path), { code: 'WARRANT_LEDGER_CORRUPT', index: 20 });
    await assert.rejects(reopen(path, { verify: 'tree' }), { code: 'WARRANT_LEDGER_CORRUPT', index: 20 });
  });

  test('a deleted record is named by its index', async () => {
    const path = await written(50);
    edit(path, 'DELETE FROM ledger_records WHERE idx = 7');
    await assert.rejects(reopen(path), { code: 'WARRANT_LEDGER_CORRUPT', index: 7 });
  });

  test('records lost from the end, under a checkpoint, are named', async () => {
    const path = await written(50);
    edit(path, 'DELETE FROM ledger_records WHERE idx >= 45');
    await assert.rejects(reopen(path), { code: 'WARRANT_LEDGER_CORRUPT', index: 45 });
  });

  test('a checkpoint signed by an unknown key is refused, one signed by a trusted earlier key accepted', async () => {
    const path = await written(50);
    const other = { name: signer.name, key: generateSigningKey('EdDSA') };
    await assert.rejects(Ledger.open(await openSqliteLedgerStore({ path }), other), {
      code: 'WARRANT_LEDGER_CORRUPT',
    });
    const probe = await Ledger.open(new MemoryLedgerStore(), signer);
    const ledger = await Ledger.open(await openSqliteLedgerStore({ path }), other, {
      trustedKeys: [probe.verifierKey],
    });
    assert.equal(ledger.size, 50);
    await ledger.close();
    await probe.close();
  });
});

describe('Ledger.note', () => {
  test('a noted record rides with the next durable append, and is written on close when none follows', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await Ledger.open(
      store,
      { name: 'test/ledger', key: generateSigningKey() },
      { origin: 'test/ledger' },
    );
    const time = new Date().toISOString();
    ledger.note({ id: 'o1', kind: 'outcome', time, gateway: 'gw' });
    const index = await ledger.append({ id: 'd1', kind: 'decision', time, gateway: 'gw', decision: 'allow' });
    assert.equal(index, 1, 'the noted outcome went first, in the same batch');
    ledger.note({ id: 'o2', kind: 'outcome', time, gateway: 'gw' });
    await ledger.close();
    assert.equal(ledger.size, 3, 'the last noted record was written on close');
  });
});
