import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WarrantConfig } from '../config/types.ts';
import { exportPrivateJwk, generateSigningKey, importPrivateJwk, type SigningKey } from '../core/jose/jwk.ts';
import { Ledger, type LedgerOptions, type LedgerSigner } from './ledger.ts';
import type { LedgerStore } from './store/ports.ts';
import { openPostgresLedgerStore } from './store/postgres/postgres-ledger-store.ts';
import { openSqliteLedgerStore } from './store/sqlite/sqlite-ledger-store.ts';

export interface OpenLedgerOptions {
  /**
   * The Ed25519 key that signs checkpoints (the gateway's), with its note key name (default: the origin).
   * Default: `<dataDir>/ledger-key.jwk`, created (0600) on first use.
   */
  readonly signer?: SigningKey | LedgerSigner;
  /** Default `<trustDomain>/ledger`. */
  readonly origin?: string;
  /** Note verifier keys of earlier signers of this log (after a key rotation). */
  readonly trustedKeys?: readonly string[];
  /** PostgreSQL schema of the ledger tables (default `warrant_ledger`). */
  readonly schema?: string;
  /** SQLite durability (default `full`: fsync per batch); see `SqliteLedgerStoreOptions`. */
  readonly synchronous?: 'full' | 'normal';
  readonly verify?: LedgerOptions['verify'];
}

/**
 * Opens the ledger of the configuration: `<dataDir>/ledger.db` (SQLite, WAL, fsync per batch) or, with
 * `store.kind: postgres`, the `warrant_ledger` schema of `store.url`; checkpoints per
 * `ledger.checkpointEvery`. Verifies the stored log before it resolves (see `Ledger.open`).
 */
export async function openLedger(config: WarrantConfig, options: OpenLedgerOptions = {}): Promise<Ledger> {
  const origin = options.origin ?? `${config.trustDomain}/ledger`;
  const given = options.signer ?? loadOrCreateLedgerKey(config.dataDir);
  const signer: LedgerSigner = 'privateKey' in given ? { name: origin, key: given } : given;
  let store: LedgerStore;
  if (config.store.kind === 'postgres') {
    if (!config.store.url) throw new TypeError('store.url is required for a PostgreSQL ledger');
    store = await openPostgresLedgerStore({
      url: config.store.url,
      ...(options.schema ? { schema: options.schema } : {}),
    });
  } else {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    store = await openSqliteLedgerStore({
      path: join(config.dataDir, 'ledger.db'),
      synchronous: options.synchronous ?? 'full',
    });
  }
  try {
    return await Ledger.open(store, signer, {
      origin,
      checkpointEvery: config.ledger.checkpointEvery,
      ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
      ...(options.verify ? { verify: options.verify } : {}),
    });
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

/** The ledger signing key kept at `<dataDir>/ledger-key.jwk` (private JWK, 0600), created when missing. */
export function loadOrCreateLedgerKey(dataDir: string): SigningKey {
  const path = join(dataDir, 'ledger-key.jwk');
  if (existsSync(path)) return importPrivateJwk(JSON.parse(readFileSync(path, 'utf8')), 'EdDSA');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = generateSigningKey('EdDSA');
  try {
    writeFileSync(path, `${JSON.stringify(exportPrivateJwk(key))}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as { code?: string }).code === 'EEXIST') return loadOrCreateLedgerKey(dataDir);
    throw error;
  }
  chmodSync(path, 0o600);
  return key;
}
