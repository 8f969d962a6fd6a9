/**
 * Who writes the ledger (DESIGN §8). Writing has two jobs:
 *
 * - making a decision record durable before the call is forwarded (the acknowledged entry): every gateway
 *   replica does this for its own decisions — a {@link DecisionSink};
 * - sequencing the durable entries into the Merkle tree (assigning indices, extending the tree, signing
 *   checkpoints): exactly one process at a time does this — the {@link Integrator}.
 *
 * Today one role exists, `single-writer`: the gateway process owns an in-process `Ledger` that does both in
 * one transaction per batch (an entry is integrated as it becomes durable). That is `warrant dev` and a
 * single `warrant gateway`. Several gateway replicas need the split of Tessera, which this seam leaves room
 * for (docs/architecture.md, "Several replicas"): each replica's sink appends acknowledged entries to a
 * PostgreSQL table, and the holder of a lease in PostgreSQL runs the integrator (in the control plane, or
 * any replica that wins the lease). The lease and the replica sink are not built yet.
 */
import type { WarrantConfig } from '../config/types.ts';
import type { DecisionLog } from '../ledger/decision-log.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { type OpenLedgerOptions, openLedger } from '../ledger/open-ledger.ts';
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
   * latest checkpoint (`null` while the log is empty). Rejects when the store refuses it.
   */
  integrate(): Promise<StoredCheckpoint | null>;
  /** The number of records in the tree. */
  readonly size: number;
}

/** The ledger jobs this process does. */
export interface LedgerRole {
  /** `single-writer`: this process makes its entries durable and integrates them itself. */
  readonly mode: 'single-writer';
  readonly sink: DecisionSink;
  readonly integrator: Integrator;
  /** The ledger for reads and proofs (the audit commands, later the dashboard API). */
  readonly ledger: Ledger;
  /** Waits for accepted appends, writes a final checkpoint, closes the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens this process's ledger role under `config`: today always `single-writer` over the configured
 * ledger store (`<dataDir>/ledger.db`, or the `warrant_ledger` schema of the PostgreSQL store), verified
 * before it resolves.
 */
export async function openLedgerRole(
  config: WarrantConfig,
  options: OpenLedgerOptions = {},
): Promise<LedgerRole> {
  return singleWriter(await openLedger(config, options));
}

/** The single-writer role over an open `Ledger` (which it then owns). */
export function singleWriter(ledger: Ledger): LedgerRole {
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
