/**
 * The decisions the gateways record, as the dashboard shows them: read from the ledger (the control plane's
 * read connection, so it works beside one embedded gateway and beside many replicas writing PostgreSQL
 * alike). One poller per control plane follows the log's end while a page listens, and fans the new records
 * out to every stream (each filters by its session's role).
 */

import type { LedgerReader } from '../guard/contain/ledger-reader.ts';
import type { AuditRecord } from '../ledger/audit/source.ts';
import { toAuditRecord } from '../ledger/audit/source.ts';

export type Listener = (records: readonly AuditRecord[]) => void;

const POLL_MS = 300;
/** How far back a page's first load looks. */
const RECENT = 2000;

export class DecisionFeed {
  readonly #ledger: LedgerReader;
  readonly #listeners = new Set<Listener>();
  #next: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;

  constructor(ledger: LedgerReader) {
    this.#ledger = ledger;
  }

  /** The most recent records (up to 2000), oldest first. */
  async recent(): Promise<AuditRecord[]> {
    const source = await this.#ledger.source();
    if (source === null) return [];
    const count = await source.count();
    const rows = await source.entries(Math.max(0, count - RECENT), count);
    return rows.map(toAuditRecord);
  }

  /**
   * Calls `listener` with each batch of records appended from now on (resolved once "now" is fixed: no record
   * appended after that is missed): `from` is the first index it will be told of; `stop` unsubscribes.
   */
  async subscribe(listener: Listener): Promise<{ readonly from: number; stop(): void }> {
    if (this.#next === undefined) {
      const source = await this.#ledger.source().catch(() => null);
      const count = source === null ? 0 : await source.count().catch(() => 0);
      this.#next ??= count;
    }
    const from = this.#next;
    this.#listeners.add(listener);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#poll(), POLL_MS);
      this.#timer.unref();
    }
    return {
      from,
      stop: () => {
        this.#listeners.delete(listener);
        if (this.#listeners.size === 0) this.close();
      },
    };
  }

  /** The records `from` (inclusive) to `to` (exclusive), at most 2000 of the latest (a stream resuming). */
  async between(from: number, to: number): Promise<AuditRecord[]> {
    const source = await this.#ledger.source();
    if (source === null || from >= to) return [];
    const rows = await source.entries(Math.max(from, to - RECENT), to);
    return rows.map(toAuditRecord);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#next = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const source = await this.#ledger.source();
      if (source === null) return;
      const count = await source.count();
      if (this.#next === undefined) this.#next = count;
      if (count <= this.#next) return;
      const rows = await source.entries(this.#next, count);
      this.#next = count;
      const records = rows.map(toAuditRecord);
      for (const listener of this.#listeners) listener(records);
    } catch {
      // The ledger did not answer: the next round tries again (the streams stay open).
    } finally {
      this.#polling = false;
    }
  }
}
