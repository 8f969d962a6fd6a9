/**
 * A large ledger written straight into a SQLite ledger store (no `Ledger`, no per-record signing): small
 * records, a signed checkpoint every `every` records. For tests that need an export too big to write in
 * one go (back-pressure, interrupted exports). The key is `<dataDir>/ledger-key.jwk`, as `warrant dev` keeps it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalRecord, recordLeafHash } from '../../src/ledger/canonical-record.ts';
import { noteVerifierKey, signCheckpoint } from '../../src/ledger/checkpoint.ts';
import { MerkleTree } from '../../src/ledger/merkle.ts';
import { loadOrCreateLedgerKey } from '../../src/ledger/open-ledger.ts';
import type { LedgerEntry } from '../../src/ledger/store/ports.ts';
import { openSqliteLedgerStore } from '../../src/ledger/store/sqlite/sqlite-ledger-store.ts';

export interface BulkLedger {
  readonly origin: string;
  readonly verifierKey: string;
  readonly size: number;
}

export async function writeBulkLedger(
  dataDir: string,
  { records, every, origin = 'warrant.local/ledger' }: { records: number; every: number; origin?: string },
): Promise<BulkLedger> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = loadOrCreateLedgerKey(dataDir);
  const signer = { name: origin, key };
  const store = await openSqliteLedgerStore({ path: join(dataDir, 'ledger.db'), synchronous: 'normal' });
  const tree = new MerkleTree();
  const t0 = Date.parse('2025-06-15T10:00:00.000Z');
  try {
    const BATCH = 5000;
    for (let from = 0; from < records; from += BATCH) {
      const batch: LedgerEntry[] = [];
      for (let i = from; i < Math.min(records, from + BATCH); i++) {
        const time = t0 + i;
        const canonical = canonicalRecord(
          { id: `d-${i}`, kind: 'decision', time: new Date(time).toISOString(), decision: 'allow' },
          i,
        );
        const leafHash = recordLeafHash(canonical);
        tree.append(leafHash);
        batch.push({
          index: i,
          leafHash,
          canonical,
          time,
          txn: null,
          person: null,
          caller: null,
          action: null,
          decision: 'allow',
        });
      }
      await store.appendBatch(batch);
    }
    for (let size = every; size <= records; size += every) {
      const root = tree.root(size);
      const note = signCheckpoint({ origin, size, root }, signer);
      await store.putCheckpoint({ size, root, note, time: t0 + size });
    }
  } finally {
    await store.close();
  }
  return { origin, verifierKey: noteVerifierKey(origin, key), size: records - (records % every) };
}
