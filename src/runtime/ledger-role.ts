/**
 * Who writes the ledger (DESIGN §8). Writing has two jobs:
 *
 * - making a decision record durable before the call is forwarded (the acknowledged entry): every gateway
 *   replica does this for its own decisions — a {@link DecisionSink};
 * - sequencing the durable entries into the Merkle tree (assigning indices, extending the tree, signing
 *   checkpoints): exactly one process at a time does this — the {@link Integrator}.
 *
 * `ledger.mode: single-writer` (default; SQLite or PostgreSQL): the gateway process owns an in-process
 * `Ledger` that does both in one transaction per batch. That is `warrant dev` and a single `warrant gateway`.
 *
 * `ledger.mode: replicated` (PostgreSQL; Tessera's split, docs/architecture.md "Several replicas"): each
 * gateway replica's role is `replica` — its sink inserts pending entries (src/ledger/replicated/
 * pending-sink.ts), no index, no contention — and the control plane runs {@link startLedgerIntegrator}: the
 * holder of the lease row integrates them (integrator.ts), stores tiles and checkpoints, and serves the log
 * as C2SP tlog-tiles under `/ledger/` with witness co-signatures.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { WarrantConfig } from '../config/types.ts';
import type { DecisionLog } from '../ledger/decision-log.ts';
import type { Ledger, LedgerSigner } from '../ledger/ledger.ts';
import { loadOrCreateLedgerKey, type OpenLedgerOptions, openLedger } from '../ledger/open-ledger.ts';
import { TileIntegrator } from '../ledger/replicated/integrator.ts';
import { openLedgerPool } from '../ledger/replicated/open-replicated.ts';
import { PendingSink } from '../ledger/replicated/pending-sink.ts';
import { tlogHttp } from '../ledger/replicated/tlog-http.ts';
import type { StoredCheckpoint } from '../ledger/store/ports.ts';

/**
 * What a gateway replica needs from the ledger: `append` resolves once the record is durable (a failure
 * to record is a failure of the decision: nothing is forwarded); `note` for what nothing waits for.
 */
export type DecisionSink = DecisionLog;

/** What the one writer of the tree runs (the lease holder, once there are several replicas). */
export interface Integrator {
  /**
   * Integrates every durable entry not yet in the tree and signs a checkpoint over the tree; resolves the
   * latest checkpoint (`null` while the log is empty, or — replicated — while another process holds the
   * lease). Rejects when the store refuses it.
   */
  integrate(): Promise<StoredCheckpoint | null>;
  /** The number of records in the tree. */
  readonly size: number;
}

/** `single-writer`: this process makes its entries durable and integrates them itself. */
export interface SingleWriterRole {
  readonly mode: 'single-writer';
  readonly sink: DecisionSink;
  readonly integrator: Integrator;
  /** The ledger for reads and proofs (the audit commands, later the dashboard API). */
  readonly ledger: Ledger;
  /** Waits for accepted appends, writes a final checkpoint, closes the store. Idempotent. */
  close(): Promise<void>;
}

/** `replica` (ledger.mode replicated): this gateway replica makes its entries durable; it integrates nothing. */
export interface ReplicaRole {
  readonly mode: 'replica';
  readonly sink: PendingSink;
  /** Writes the queued records, then closes its pool. Idempotent. */
  close(): Promise<void>;
}

/** The ledger jobs of a gateway replica. */
export type LedgerRole = SingleWriterRole | ReplicaRole;

/** The single-writer role of a gateway replica's `LedgerRole` (tests, tools); throws for a replica. */
export function singleWriterOf(role: LedgerRole | undefined): SingleWriterRole {
  if (role?.mode !== 'single-writer')
    throw new TypeError('this process is not the single writer of the ledger');
  return role;
}

export interface LedgerRoleOptions extends OpenLedgerOptions {
  /** This replica's name in its pending entries (default `gateway.id`, else the host name and pid). */
  readonly replica?: string;
}

/**
 * Opens this gateway replica's ledger role under `config`: `single-writer` over the configured ledger store
 * (`<dataDir>/ledger.db`, or the `warrant_ledger` schema of the PostgreSQL store), verified before it
 * resolves; with `ledger.mode: replicated`, a `replica` sink on the PostgreSQL ledger schema.
 */
export async function openLedgerRole(
  config: WarrantConfig,
  options: LedgerRoleOptions = {},
): Promise<LedgerRole> {
  if (config.ledger.mode === 'replicated') {
    const pool = await openLedgerPool({
      url: storeUrl(config),
      ...(options.schema ? { schema: options.schema } : {}),
    });
    const replica = options.replica ?? config.gateway.id ?? `${hostname()}:${process.pid}`;
    const sink = new PendingSink(pool, { replica });
    let closing: Promise<void> | undefined;
    return {
      mode: 'replica',
      sink,
      close() {
        closing ??= sink.close().finally(() => pool.end());
        return closing;
      },
    };
  }
  return singleWriter(await openLedger(config, options));
}

/** The single-writer role over an open `Ledger` (which it then owns). */
export function singleWriter(ledger: Ledger): SingleWriterRole {
  return {
    mode: 'single-writer',
    sink: ledger,
    integrator: {
      integrate: () => ledger.checkpoint(),
      get size() {
        return ledger.size;
      },
    },
    ledger,
    close: () => ledger.close(),
  };
}

/** The control plane's part of the replicated ledger: the integrator (under the lease) and the log's endpoints. */
export interface LedgerIntegratorRole {
  readonly integrator: TileIntegrator;
  /** The STS route extension serving `/ledger/checkpoint`, `/ledger/tile/…`, `/ledger/cosignature`, … */
  readonly routes: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
  readonly pool: pg.Pool;
  /** Stops integrating, releases the lease, closes the pool. Idempotent. */
  close(): Promise<void>;
}

export interface LedgerIntegratorOptions {
  /** Default: `<dataDir>/ledger-key.jwk` under the origin's name — every control plane must share it. */
  readonly signer?: LedgerSigner;
  /** Default `<trustDomain>/ledger`. */
  readonly origin?: string;
  /** Note verifier keys of earlier signers of this log (after a key rotation). */
  readonly trustedKeys?: readonly string[];
  readonly schema?: string;
  /** This process's name in the lease (default host name, pid and a random suffix). */
  readonly holder?: string;
  /** Told about a failed integration round (the next round retries). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Starts the control plane's integrator (`ledger.mode: replicated`): it competes for the lease every
 * `ledger.integrateMs` and, while holding it, integrates the pending entries. Also returns the read-only
 * tlog-tiles routes for the STS listener.
 */
export async function startLedgerIntegrator(
  config: WarrantConfig,
  options: LedgerIntegratorOptions = {},
): Promise<LedgerIntegratorRole> {
  if (config.ledger.mode !== 'replicated')
    throw new TypeError('the integrator runs with ledger.mode replicated');
  const origin = options.origin ?? `${config.trustDomain}/ledger`;
  const signer = options.signer ?? { name: origin, key: loadOrCreateLedgerKey(config.dataDir) };
  const pool = await openLedgerPool({
    url: storeUrl(config),
    ...(options.schema ? { schema: options.schema } : {}),
  });
  const integrator = new TileIntegrator(pool, {
    holder: options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    signer,
    origin,
    integrateMs: config.ledger.integrateMs,
    leaseMs: config.ledger.leaseMs,
    ...(options.trustedKeys ? { trustedKeys: options.trustedKeys } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  }).start();
  const routes = tlogHttp(pool, { origin, witnessKeys: config.ledger.witnesses });
  let closing: Promise<void> | undefined;
  return {
    integrator,
    routes,
    pool,
    close() {
      closing ??= integrator.stop().finally(() => pool.end());
      return closing;
    },
  };
}

function storeUrl(config: WarrantConfig): string {
  if (config.store.kind !== 'postgres' || !config.store.url)
    throw new TypeError('the replicated ledger needs store.kind postgres and store.url');
  return config.store.url;
}
