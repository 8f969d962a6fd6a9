/**
 * Read access to the ledger for containment. The control plane does not write the ledger (the gateway's
 * ledger role does, src/runtime/ledger-role.ts): it opens its own connection to the same store — the SQLite
 * file in WAL mode (a reader beside the writer) or the PostgreSQL schema — and only reads. Opened on first
 * use and kept; a missing SQLite ledger means nothing was recorded yet (an empty log, never created here).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WarrantConfig } from '../../config/types.ts';
import type { AuditSource } from '../../ledger/audit/source.ts';
import type { LedgerStore } from '../../ledger/store/ports.ts';

export interface LedgerReader {
  /** The ledger's read side (`null`: no ledger exists yet, so nothing was recorded). */
  source(): Promise<AuditSource | null>;
  close(): Promise<void>;
}

export function configuredLedgerReader(config: Pick<WarrantConfig, 'store' | 'dataDir'>): LedgerReader {
  let opening: Promise<LedgerStore | null> | undefined;
  const open = async (): Promise<LedgerStore | null> => {
    if (config.store.kind === 'postgres') {
      if (!config.store.url) throw new TypeError('store.url is required for a PostgreSQL ledger');
      const { openPostgresLedgerStore } = await import(
        '../../ledger/store/postgres/postgres-ledger-store.ts'
      );
      return openPostgresLedgerStore({ url: config.store.url });
    }
    const path = join(config.dataDir, 'ledger.db');
    if (!existsSync(path)) return null;
    const { openSqliteLedgerStore } = await import('../../ledger/store/sqlite/sqlite-ledger-store.ts');
    return openSqliteLedgerStore({ path });
  };
  return {
    async source() {
      opening ??= open().then((store) => {
        // Not there yet: look again next time (the gateway creates it on its first start).
        if (store === null) opening = undefined;
        return store;
      });
      try {
        return await opening;
      } catch (error) {
        opening = undefined;
        throw error;
      }
    },
    async close() {
      const store = await opening?.catch(() => null);
      await store?.close();
    },
  };
}
