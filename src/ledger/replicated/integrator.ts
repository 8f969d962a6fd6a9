/**
 * The integrator of the replicated ledger (DESIGN §8, Tessera's split): whoever holds the lease (lease.ts)
 * moves the pending entries the gateway replicas made durable (pending-sink.ts) into the log. One
 * transaction per round, all or nothing:
 *
 *   1. re-check the lease under `FOR UPDATE` (the fence: a holder that lost it writes nothing);
 *   2. read up to `maxBatch` pending rows by sequence, number them from the tree's size, extend the right
 *      edge (tile-edge.ts, O(log n) in memory);
 *   3. insert the records (the insert only succeeds when it continues the stored log), upsert the tiles
 *      that changed, store a signed checkpoint of the new size, delete the pending rows, renew the lease.
 *
 * So an entry is integrated exactly once whatever crashes (its pending row goes in the same commit as its
 * record), a new holder resumes from what is stored (tile-state.ts checks it against the latest signed
 * checkpoint) and the log never forks. Gateways never wait for this: it runs every `integrateMs`, which
 * bounds how long a record waits for its inclusion proof.
 */
import type pg from 'pg';
import { noteVerifierKey, signCheckpoint } from '../checkpoint.ts';
import type { LedgerSigner } from '../checkpointer.ts';
import type { DecisionRecord } from '../decision-log.ts';
import { LedgerConflictError } from '../errors.ts';
import { toEntry } from '../records.ts';
import type { LedgerEntry, StoredCheckpoint } from '../store/ports.ts';
import { RECORDS } from '../store/rows.ts';
import type { TileEdge } from '../tiles/tile-edge.ts';
import { acquireLease, CHECK_LEASE, RENEW_IN_TX, releaseLease } from './lease.ts';
import { loadState, putTiles } from './tile-state.ts';

export interface TileIntegratorOptions {
  /** This process's name in the lease (unique per process). */
  readonly holder: string;
  readonly signer: LedgerSigner;
  readonly origin: string;
  /** Note verifier keys of earlier (or other replicas') signers accepted on the stored checkpoints. */
  readonly trustedKeys?: readonly string[];
  /** How often a round runs (default 500 ms): the bound on how long a record waits for its index. */
  readonly integrateMs?: number;
  /** The lease's length (default 10 000 ms); must be more than twice `integrateMs`. */
  readonly leaseMs?: number;
  /** The most pending rows per transaction (default 4096). */
  readonly maxBatch?: number;
  /** Told about a failed round (the next round retries); default: ignored. */
  readonly onError?: (error: unknown) => void;
}

const APPEND = `INSERT INTO ledger_records (${RECORDS.columns})
   SELECT * FROM unnest($2::bigint[], $3::bytea[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
   WHERE (SELECT coalesce(max(idx) + 1, 0) FROM ledger_records) = $1`;

export class TileIntegrator {
  readonly origin: string;
  readonly verifierKey: string;
  readonly #pool: pg.Pool;
  readonly #options: TileIntegratorOptions;
  readonly #keys: string[];
  readonly #integrateMs: number;
  readonly #leaseMs: number;
  readonly #maxBatch: number;
  #edge: TileEdge | null = null;
  #latest: StoredCheckpoint | null = null;
  #holding = false;
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;
  #stopped = false;
  /** Rounds that integrated something, and records integrated, by this process. */
  rounds = 0;
  integrated = 0;

  /** Integrates the ledger schema `pool` points at (the caller closes the pool). Call `start()` to run. */
  constructor(pool: pg.Pool, options: TileIntegratorOptions) {
    this.#pool = pool;
    this.#options = options;
    this.origin = options.origin;
    this.verifierKey = noteVerifierKey(options.signer.name, options.signer.key);
    this.#keys = [this.verifierKey, ...(options.trustedKeys ?? [])];
    this.#integrateMs = options.integrateMs ?? 500;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#maxBatch = options.maxBatch ?? 4096;
    if (!(this.#leaseMs > 2 * this.#integrateMs))
      throw new RangeError('leaseMs must be more than twice integrateMs (the lease is renewed every round)');
  }

  /** True while this process holds the lease (as of its last round). */
  get holding(): boolean {
    return this.#holding;
  }

  /** Records in the tree as this process last saw it (0 before it first held the lease). */
  get size(): number {
    return this.#edge?.size ?? 0;
  }

  /** The in-memory right edge (for the O(log n) bound; `null` before the lease). */
  get edge(): TileEdge | null {
    return this.#edge;
  }

  /** The latest checkpoint this process stored or loaded. */
  latestCheckpoint(): StoredCheckpoint | null {
    return this.#latest;
  }

  /** Runs a round every `integrateMs` until `stop()`. */
  start(): this {
    const tick = () => {
      this.#timer = null;
      if (this.#stopped) return;
      void this.#runRound().finally(() => {
        if (!this.#stopped) {
          this.#timer = setTimeout(tick, this.#integrateMs);
          this.#timer.unref();
        }
      });
    };
    tick();
    return this;
  }

  /**
   * One round now (after the one in flight): takes or renews the lease, then integrates every pending entry
   * (in transactions of `maxBatch`). Resolves the latest checkpoint; `null` when this process does not hold
   * the lease or the log is empty. Rejects when the store fails.
   */
  async integrate(): Promise<StoredCheckpoint | null> {
    while (this.#round) await this.#round.catch(() => {});
    const round = this.#round1();
    this.#round = round.then(
      () => {},
      () => {},
    );
    try {
      await round;
    } finally {
      this.#round = null;
    }
    return this.#holding ? this.#latest : null;
  }

  async #runRound(): Promise<void> {
    try {
      await this.integrate();
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  async #round1(): Promise<void> {
    const held = await acquireLease(this.#pool, this.#options.holder, this.#leaseMs);
    if (!held) {
      this.#holding = false;
      this.#edge = null;
      return;
    }
    if (!this.#holding || !this.#edge) {
      // Newly the holder: the log may have grown under another holder since this process last saw it.
      let state: Awaited<ReturnType<typeof loadState>>;
      try {
        state = await loadState(this.#pool, this.#keys, this.origin);
      } catch (error) {
        // This process cannot extend the stored log (it does not verify with its keys, or the store
        // failed): give the lease up at once, so a control plane that can is not kept out.
        await releaseLease(this.#pool, this.#options.holder).catch(() => {});
        throw error;
      }
      this.#edge = state.edge;
      this.#latest = state.latest;
      this.#holding = true;
    }
    for (;;) {
      const n = await this.#transaction();
      if (n < this.#maxBatch) break;
    }
  }

  /** One integration transaction; resolves how many pending rows it integrated. */
  async #transaction(): Promise<number> {
    const client = await this.#pool.connect();
    let ok = false;
    try {
      await client.query('BEGIN');
      const lease = await client.query(CHECK_LEASE, [this.#options.holder]);
      if (lease.rowCount !== 1) {
        await client.query('ROLLBACK');
        ok = true;
        this.#holding = false;
        this.#edge = null;
        return 0;
      }
      const { rows } = await client.query<{ seq: number; record: string; time: number }>(
        'SELECT seq, record, time FROM ledger_pending ORDER BY seq LIMIT $1',
        [this.#maxBatch],
      );
      const edge = this.#edge!.clone();
      const entries: LedgerEntry[] = rows.map((r, i) =>
        toEntry(edge.size + i, JSON.parse(r.record) as DecisionRecord, Number(r.time)),
      );
      const base = edge.size;
      for (const e of entries) edge.append(e.leafHash);
      if (entries.length > 0) {
        const values = entries.map(RECORDS.values);
        const columns = values[0]!.map((_, c) => values.map((row) => row[c]));
        const inserted = await client.query(APPEND, [base, ...columns]);
        if (inserted.rowCount !== entries.length)
          throw new LedgerConflictError(`the stored log does not end at ${base}: another writer appended`);
        await putTiles(client, edge.drain());
        await client.query('DELETE FROM ledger_pending WHERE seq = ANY($1::bigint[])', [
          rows.map((r) => r.seq),
        ]);
      }
      let checkpoint: StoredCheckpoint | null = null;
      if (edge.size > 0 && edge.size !== this.#latest?.size) {
        const root = edge.root();
        const note = signCheckpoint({ origin: this.origin, size: edge.size, root }, this.#options.signer);
        checkpoint = { size: edge.size, root, note, time: Date.now() };
        await client.query(
          'INSERT INTO ledger_checkpoints (size, root, note, time) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING',
          [checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.time],
        );
      }
      await client.query(RENEW_IN_TX, [this.#options.holder, this.#leaseMs]);
      await client.query('COMMIT');
      ok = true;
      this.#edge = edge;
      if (checkpoint) this.#latest = checkpoint;
      if (entries.length > 0) {
        this.rounds++;
        this.integrated += entries.length;
      }
      return entries.length;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      // What is stored is the truth: reload it before the next transaction.
      this.#edge = null;
      this.#holding = false;
      throw error;
    } finally {
      client.release(!ok);
    }
  }

  /** Stops the rounds, waits for the one in flight and releases the lease. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#round) await this.#round;
    if (this.#holding) await releaseLease(this.#pool, this.#options.holder).catch(() => {});
    this.#holding = false;
  }

  /** For fault tests: stops without releasing the lease, as a process that died would. */
  async abandon(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#round) await this.#round;
  }
}
