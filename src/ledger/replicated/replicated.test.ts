import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import type pg from 'pg';
import { postgresSchemas } from '../../../test/support/postgres-schemas.ts';
import { POSTGRES_URL, requirePostgres } from '../../../test/support/services.ts';
import { generateSigningKey } from '../../core/jose/jwk.ts';
import { exportJsonLines } from '../audit/export.ts';
import { verifyExport } from '../audit/verify-export.ts';
import { cosign, noteVerifierKey, parseCheckpoint, verifyCheckpoint } from '../checkpoint.ts';
import type { DecisionRecord } from '../decision-log.ts';
import { Ledger } from '../ledger.ts';
import { verifyConsistency, verifyInclusion } from '../merkle.ts';
import { openVerified } from '../open-verify.ts';
import { openPostgresLedgerStore } from '../store/postgres/postgres-ledger-store.ts';
import { TILE_WIDTH } from '../tiles/tile-edge.ts';
import { formatTilePath } from '../tiles/tile-path.ts';
import { TileNodes, tileInclusionProof } from '../tiles/tile-proofs.ts';
import { TileIntegrator } from './integrator.ts';
import { leaseHolder } from './lease.ts';
import { openLedgerPool } from './open-replicated.ts';
import { PendingSink } from './pending-sink.ts';
import { tlogHttp } from './tlog-http.ts';

await requirePostgres();
const schemas = postgresSchemas('warrant_ledger_repl');
const pools: pg.Pool[] = [];
after(async () => {
  for (const p of pools) await p.end().catch(() => {});
  await schemas.dropAll();
});

const ORIGIN = 'test.example/ledger';
const signer = { name: ORIGIN, key: generateSigningKey('EdDSA') };

async function pool(schema: string): Promise<pg.Pool> {
  const p = await openLedgerPool({ url: POSTGRES_URL, schema });
  pools.push(p);
  return p;
}

function integrator(p: pg.Pool, holder: string, extra: { leaseMs?: number; integrateMs?: number } = {}) {
  return new TileIntegrator(p, { holder, signer, origin: ORIGIN, integrateMs: 50, leaseMs: 400, ...extra });
}

let next = 0;
function record(kind: DecisionRecord['kind'] = 'decision', gateway = 'gw-a'): DecisionRecord {
  return {
    id: `r${next++}`,
    kind,
    time: new Date(1_700_000_000_000 + next).toISOString(),
    gateway,
    decision: 'allow',
  };
}

/** Every record id in the log, counted. */
async function idsInLog(p: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await p.query<{ canonical: string }>('SELECT canonical FROM ledger_records ORDER BY idx');
  const ids = new Map<string, number>();
  for (const r of rows) {
    const id = (JSON.parse(r.canonical) as { id: string }).id;
    ids.set(id, (ids.get(id) ?? 0) + 1);
  }
  return ids;
}

/** Integrates until nothing is pending (bounded). */
async function drain(i: TileIntegrator, p: pg.Pool): Promise<void> {
  for (let round = 0; round < 200; round++) {
    await i.integrate();
    const { rows } = await p.query<{ n: number }>('SELECT count(*)::bigint AS n FROM ledger_pending');
    if (Number(rows[0]!.n) === 0) return;
  }
  assert.fail('pending entries were never integrated');
}

describe('replicated ledger (PostgreSQL)', () => {
  test('two gateway replicas under concurrent load: no refusal, every acknowledged record and outcome once', async () => {
    const schema = schemas.fresh();
    const [pa, pb, pc] = [await pool(schema), await pool(schema), await pool(schema)];
    const sinks = [new PendingSink(pa, { replica: 'gw-a' }), new PendingSink(pb, { replica: 'gw-b' })];
    const integ = integrator(pc, 'cp-1').start();
    const acknowledged: string[] = [];
    const noted: string[] = [];
    let refused = 0;
    await Promise.all(
      sinks.map(async (sink, s) => {
        for (let wave = 0; wave < 20; wave++) {
          await Promise.all(
            Array.from({ length: 40 }, async () => {
              const r = record('decision', `gw-${s}`);
              try {
                await sink.append(r);
                acknowledged.push(r.id);
                const o = {
                  ...record('outcome', `gw-${s}`),
                  decisionId: r.id,
                  outcome: 'forwarded' as const,
                };
                sink.note(o);
                noted.push(o.id);
              } catch {
                refused++;
              }
            }),
          );
        }
      }),
    );
    for (const s of sinks) await s.close();
    await integ.stop();
    const again = integrator(pc, 'cp-1');
    await drain(again, pc);
    assert.equal(refused, 0);
    assert.equal(acknowledged.length, 2 * 20 * 40);
    const ids = await idsInLog(pc);
    for (const id of [...acknowledged, ...noted]) assert.equal(ids.get(id), 1, `record ${id} exactly once`);
    assert.equal(ids.size, acknowledged.length + noted.length);
    // The whole log verifies as the audit commands read it: every record re-hashed, tree = checkpoint.
    const store = await openPostgresLedgerStore({ url: POSTGRES_URL, schema });
    const { tree, latest } = await openVerified(store, 'full', ORIGIN, [again.verifierKey]);
    assert.equal(tree.size, ids.size);
    assert.equal(latest?.size, tree.size);
    await store.close();
  });

  test('lease takeover: the holder dies, another integrates after the expiry, no fork from a saved checkpoint', async () => {
    const schema = schemas.fresh();
    const [pg1, pg2, gw] = [await pool(schema), await pool(schema), await pool(schema)];
    const sink = new PendingSink(gw, { replica: 'gw' });
    const a = integrator(pg1, 'cp-a');
    const b = integrator(pg2, 'cp-b');
    for (let i = 0; i < 300; i++) await sink.append(record());
    const saved = await a.integrate();
    assert.ok(saved && saved.size === 300);
    assert.equal(await b.integrate(), null, 'b does not hold the lease while a does');
    await a.abandon(); // dies holding the lease: no release
    for (let i = 0; i < 500; i++) void sink.append(record());
    await sink.idle();
    let latest = null;
    for (let round = 0; round < 400 && !latest; round++) {
      latest = await b.integrate();
      if (!latest) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(latest, 'b takes the lease once it expired');
    assert.equal((await leaseHolder(pg2))?.holder, 'cp-b');
    assert.equal(latest.size, 800);
    const store = await openPostgresLedgerStore({ url: POSTGRES_URL, schema });
    const { tree } = await openVerified(store, 'full', ORIGIN, [b.verifierKey]);
    const proof = tree.consistencyProof(saved.size, latest.size);
    assert.ok(verifyConsistency(saved.size, latest.size, saved.root, latest.root, proof));
    await store.close();
    // a, back from its pause, finds the lease taken and writes nothing.
    const a2 = integrator(pg1, 'cp-a');
    await sink.append(record());
    assert.equal(await a2.integrate(), null);
    await sink.close();
    await b.stop();
  });

  test('memory: the integrator holds O(log n) hashes after many appends', async () => {
    const schema = schemas.fresh();
    const [p, gw] = [await pool(schema), await pool(schema)];
    const sink = new PendingSink(gw, { replica: 'gw' });
    const i = integrator(p, 'cp');
    let most = 0;
    for (let wave = 0; wave < 10; wave++) {
      await Promise.all(Array.from({ length: 1000 }, () => sink.append(record())));
      await i.integrate();
      most = Math.max(most, i.edge!.heldHashes);
    }
    assert.equal(i.size, 10_000);
    assert.equal(i.edge!.tileLevels, 2);
    assert.ok(most <= 2 * (TILE_WIDTH - 1), `held ${most} hashes`);
    await sink.close();
    await i.stop();
  });

  test('tiles over HTTP (C2SP tlog-tiles): an inclusion proof from fetched tiles verifies; witness co-signatures', async () => {
    const schema = schemas.fresh();
    const [p, gw] = [await pool(schema), await pool(schema)];
    const sink = new PendingSink(gw, { replica: 'gw' });
    const i = integrator(p, 'cp');
    for (let k = 0; k < 3; k++) {
      await Promise.all(Array.from({ length: 250 }, () => sink.append(record())));
      await i.integrate();
    }
    const witness = { name: 'witness.example', key: generateSigningKey('EdDSA') };
    const witnessKey = noteVerifierKey(witness.name, witness.key);
    const handler = tlogHttp(p, { origin: ORIGIN, witnessKeys: [witnessKey] });
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      handler(req, res, url)
        .then((done) => {
          if (!done) res.writeHead(404).end();
        })
        .catch((e: { code?: string }) => {
          res.writeHead(e.code === 'WARRANT_LEDGER_TILE_NOT_FOUND' ? 404 : 400).end(String(e.code));
        });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ledger`;
    try {
      const note = await (await fetch(`${base}/checkpoint`)).text();
      const cp = verifyCheckpoint(note, [i.verifierKey], { origin: ORIGIN });
      assert.equal(cp.size, 750);
      const fetched: string[] = [];
      const nodes = new TileNodes(async (level, index) => {
        // The width a client derives from the checkpoint's size (tlog-tiles).
        const all = Math.floor(cp.size / TILE_WIDTH ** level);
        const width = Math.min(TILE_WIDTH, all - index * TILE_WIDTH);
        const path = formatTilePath({ level, index, width });
        fetched.push(path);
        const res = await fetch(`${base}/tile/${path}`);
        return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : null;
      });
      const bundle = new Uint8Array(await (await fetch(`${base}/tile/entries/001`)).arrayBuffer());
      const len = (bundle[0]! << 8) | bundle[1]!;
      const first = new TextDecoder().decode(bundle.subarray(2, 2 + len));
      const { leafHash } = await import('../merkle.ts');
      const leaf = leafHash(new TextEncoder().encode(first));
      const proof = await tileInclusionProof(nodes, 256, cp.size);
      assert.ok(verifyInclusion(leaf, 256, cp.size, proof, cp.root));
      assert.ok(fetched.includes('0/002.p/238'));
      // The JSON proof endpoint agrees.
      const json = (await (await fetch(`${base}/proof/inclusion?index=256`)).json()) as { proof: string[] };
      assert.deepEqual(
        json.proof,
        proof.map((h) => Buffer.from(h).toString('base64')),
      );
      // Malformed and missing tiles, bad queries.
      for (const bad of ['tile/0/1', 'tile/0/000.p/0', 'tile/99/000', 'tile/0/009', 'tile/entries/003'])
        assert.equal((await fetch(`${base}/${bad}`)).status, 404, bad);
      assert.equal((await fetch(`${base}/proof/inclusion?index=abc`)).status, 400);
      assert.equal((await fetch(`${base}/proof/inclusion?index=9999`)).status, 400);
      // A witness co-signs the checkpoint: stored, served, and verifiable with the witness key alone.
      const cosigned = cosign(note, witness);
      const posted = await fetch(`${base}/cosignature`, { method: 'POST', body: cosigned });
      assert.equal(posted.status, 200);
      assert.deepEqual(await posted.json(), { size: 750, added: [witnessKey] });
      const served = await (await fetch(`${base}/checkpoint`)).text();
      assert.deepEqual(verifyCheckpoint(served, [witnessKey]).verifiedBy, [witnessKey]);
      // Refused: a stranger's signature, a checkpoint the log never signed, garbage.
      const stranger = { name: 'witness.example', key: generateSigningKey('EdDSA') };
      assert.equal(
        (await fetch(`${base}/cosignature`, { method: 'POST', body: cosign(note, stranger) })).status,
        400,
      );
      const forged = note.replace(/\n\d+\n/, '\n751\n');
      assert.equal(
        (await fetch(`${base}/cosignature`, { method: 'POST', body: cosign(forged, witness) })).status,
        400,
      );
      assert.equal((await fetch(`${base}/cosignature`, { method: 'POST', body: 'nope' })).status, 400);
      assert.equal(parseCheckpoint(served).signatures.length, 2);
      // The audit path (warrant audit export / verify --witness-key) reads the replicated log and the
      // stored co-signature: anchored by the witness alone, no log key pinned.
      const store = await openPostgresLedgerStore({ url: POSTGRES_URL, schema });
      let text = '';
      await exportJsonLines(
        store,
        (t) => {
          text += t;
        },
        { verifierKeys: [i.verifierKey] },
      );
      await store.close();
      const audit = await verifyExport(Readable.from([text]), { witnessKeys: [witnessKey] });
      assert.ok(audit.ok, JSON.stringify(audit.problems));
      assert.equal(audit.records, 750);
      assert.deepEqual(audit.witnessedSizes, [750]);
      assert.deepEqual(audit.anchoredBy, ['witness']);
    } finally {
      server.close();
      await sink.close();
      await i.stop();
    }
  });

  test('a log written by the single writer gets its tiles on takeover; a tampered store is refused, not extended', async () => {
    const schema = schemas.fresh();
    const single = await Ledger.open(await openPostgresLedgerStore({ url: POSTGRES_URL, schema }), signer, {
      origin: ORIGIN,
    });
    for (let k = 0; k < 600; k++) void single.append(record());
    await single.close();
    const [p, gw] = [await pool(schema), await pool(schema)];
    const sink = new PendingSink(gw, { replica: 'gw' });
    await sink.append(record());
    const i = integrator(p, 'cp');
    const cp = await i.integrate();
    assert.equal(cp?.size, 601);
    const tiles = await p.query<{ level: number; idx: number; width: number }>(
      'SELECT level, idx, width FROM ledger_tiles ORDER BY level, idx',
    );
    assert.deepEqual(
      tiles.rows.map((t) => [Number(t.level), Number(t.idx), Number(t.width)]),
      [
        [0, 0, 256],
        [0, 1, 256],
        [0, 2, 89],
        [1, 0, 2],
      ],
    );
    await i.stop();
    // A stored tile altered: its root is not the signed checkpoint's, so the next holder refuses to extend.
    await p.query(
      "UPDATE ledger_tiles SET hashes = overlay(hashes placing '\\x00' from 1 for 1) WHERE level = 0 AND idx = 2",
    );
    await sink.append(record());
    const next = integrator(p, 'cp-2');
    await assert.rejects(next.integrate(), { code: 'WARRANT_LEDGER_CORRUPT' });
    assert.equal(
      await leaseHolder(p).then((l) => (l && l.expires > 0 ? l.holder : null)),
      null,
      'the lease is given up',
    );
    const pending = await p.query<{ n: number }>('SELECT count(*)::bigint AS n FROM ledger_pending');
    assert.equal(Number(pending.rows[0]!.n), 1, 'the acknowledged record waits, it is not lost');
    await sink.close();
  });

  test('a sink whose store is down refuses the append (the call is not forwarded)', async () => {
    const schema = schemas.fresh();
    const p = await openLedgerPool({ url: POSTGRES_URL, schema });
    const sink = new PendingSink(p, { replica: 'gw' });
    await p.end();
    await assert.rejects(sink.append(record()), { code: 'WARRANT_LEDGER_WRITE_FAILED' });
    await assert.rejects(sink.append({ ...record(), time: 'x' }), TypeError);
    await sink.close();
    await assert.rejects(sink.append(record()), { code: 'WARRANT_LEDGER_CLOSED' });
  });
});
