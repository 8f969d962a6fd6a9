import { LedgerClosedError, LedgerConflictError } from '../errors.ts';
import type {
  LeafData,
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  LedgerStore,
  StoredCheckpoint,
} from './ports.ts';
import { QUERY_FIELDS } from './ports.ts';
import { checkBatch, checkCheckpoint, checkLimit, checkQuery, index, range, sameBytes } from './validate.ts';

/** The ledger in memory: for unit tests. Nothing survives the process. */
export class MemoryLedgerStore implements LedgerStore {
  readonly kind = 'memory';
  readonly #entries: LedgerEntry[] = [];
  readonly #checkpoints = new Map<number, StoredCheckpoint>();
  #closed = false;

  #open(): void {
    if (this.#closed) throw new LedgerClosedError('the ledger store is closed');
  }

  async appendBatch(entries: readonly LedgerEntry[]): Promise<void> {
    this.#open();
    const first = checkBatch(entries);
    if (first !== this.#entries.length)
      throw new LedgerConflictError(`batch starts at ${first}, the log has ${this.#entries.length} records`);
    for (const e of entries) this.#entries.push({ ...e, leafHash: Uint8Array.from(e.leafHash) });
  }

  async leafHashes(from: number, to: number): Promise<Uint8Array[]> {
    this.#open();
    range(from, to);
    return this.#entries.slice(from, to).map((e) => Uint8Array.from(e.leafHash));
  }

  async entries(from: number, to: number): Promise<LedgerEntry[]> {
    this.#open();
    range(from, to);
    return this.#entries.slice(from, to).map(copy);
  }

  async leafData(from: number, to: number): Promise<LeafData[]> {
    this.#open();
    range(from, to);
    return this.#entries.slice(from, to).map((e) => ({
      index: e.index,
      leafHash: Uint8Array.from(e.leafHash),
      canonical: e.canonical,
    }));
  }

  async getRecord(i: number): Promise<LedgerEntry | null> {
    this.#open();
    index(i, 'index');
    const e = this.#entries[i];
    return e ? copy(e) : null;
  }

  async putCheckpoint(cp: StoredCheckpoint): Promise<void> {
    this.#open();
    checkCheckpoint(cp);
    const known = this.#checkpoints.get(cp.size);
    if (known) {
      if (!sameBytes(known.root, cp.root))
        throw new LedgerConflictError(`a checkpoint of size ${cp.size} with another root is stored`);
      return;
    }
    this.#checkpoints.set(cp.size, { ...cp, root: Uint8Array.from(cp.root) });
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    this.#open();
    let best: StoredCheckpoint | null = null;
    for (const cp of this.#checkpoints.values()) if (!best || cp.size > best.size) best = cp;
    return best ? { ...best } : null;
  }

  async checkpointAt(size: number): Promise<StoredCheckpoint | null> {
    this.#open();
    index(size, 'size');
    const cp = this.#checkpoints.get(size);
    return cp ? { ...cp } : null;
  }

  async checkpoints(query: { after?: number; limit: number }): Promise<StoredCheckpoint[]> {
    this.#open();
    const limit = checkLimit(query?.limit);
    const after = query.after === undefined ? -1 : index(query.after, 'after');
    return [...this.#checkpoints.values()]
      .filter((cp) => cp.size > after)
      .sort((a, b) => a.size - b.size)
      .slice(0, limit)
      .map((cp) => ({ ...cp }));
  }

  async query(q: LedgerQuery): Promise<LedgerPage> {
    this.#open();
    checkQuery(q);
    const items: LedgerEntry[] = [];
    for (let i = q.after === undefined ? 0 : q.after + 1; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (QUERY_FIELDS.some((f) => q[f] !== undefined && e[f] !== q[f])) continue;
      if (q.since !== undefined && e.time < q.since) continue;
      if (q.until !== undefined && e.time >= q.until) continue;
      if (items.length === q.limit) return { items, next: items.at(-1)!.index };
      items.push(copy(e));
    }
    return { items, next: null };
  }

  async count(): Promise<number> {
    this.#open();
    return this.#entries.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

function copy(e: LedgerEntry): LedgerEntry {
  return { ...e, leafHash: Uint8Array.from(e.leafHash) };
}
