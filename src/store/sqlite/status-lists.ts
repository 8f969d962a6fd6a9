import type { StatementSync } from 'node:sqlite';
import type { RevokedToken, StatusListSnapshot, StatusListStore } from '../ports.ts';
import type { Row } from '../rows.ts';
import { listAfter, slotsByList, snapshotFromRow } from '../status-bits.ts';
import { allocateCount, checkIndices, MAX_STATUS_INDEX, text } from '../validate.ts';
import type { SqliteContext } from './context.ts';

const SELECT_LIST = 'SELECT next_idx, version, bits FROM status_lists WHERE list_id = ?';

/** Status-bit writes, always called inside the caller's transaction (tokens use it when revoking). */
export class SqliteStatusBits {
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #update: StatementSync;

  constructor({ prepare: s }: SqliteContext) {
    this.#select = s(SELECT_LIST);
    this.#insert = s('INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES (?, ?, ?, ?)');
    this.#update = s('UPDATE status_lists SET next_idx = ?, version = ?, bits = ? WHERE list_id = ?');
  }

  set(listId: string, indices: readonly number[], value: 0 | 1): void {
    if (indices.length === 0) return;
    const row = this.#select.get(listId) as Row | undefined;
    const after = listAfter(row, indices, value);
    if (row === undefined) this.#insert.run(listId, after.size, after.version, after.bits);
    else if (after.dirty) this.#update.run(after.size, after.version, after.bits, listId);
  }

  /** Sets the bit of every revoked token that has a status slot, list by list. */
  setRevoked(tokens: readonly RevokedToken[]): void {
    for (const [listId, indices] of slotsByList(tokens)) this.set(listId, indices, 1);
  }
}

export class SqliteStatusLists implements StatusListStore {
  readonly #tx: SqliteContext['tx'];
  readonly #bits: SqliteStatusBits;
  readonly #allocate: StatementSync;
  readonly #get: StatementSync;

  constructor(context: SqliteContext, bits: SqliteStatusBits) {
    this.#tx = context.tx;
    this.#bits = bits;
    this.#allocate = context.prepare(
      `INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES (?1, ?2, 0, x'')
       ON CONFLICT (list_id) DO UPDATE SET next_idx = status_lists.next_idx + ?2
       RETURNING next_idx - ?2 AS idx`,
    );
    this.#get = context.prepare(SELECT_LIST);
  }

  async allocate(listId: string, count = 1): Promise<number> {
    text(listId, 'listId');
    allocateCount(count);
    return this.#tx(() => {
      const first = Number((this.#allocate.get(listId, count) as Row)['idx']);
      if (first + count - 1 > MAX_STATUS_INDEX) throw new RangeError(`status list ${listId} is full`);
      return first;
    });
  }

  async set(listId: string, indices: readonly number[], value: 0 | 1 = 1): Promise<void> {
    text(listId, 'listId');
    checkIndices(indices, value);
    await this.#tx(() => this.#bits.set(listId, indices, value));
  }

  async get(listId: string): Promise<StatusListSnapshot | null> {
    const row = this.#get.get(text(listId, 'listId')) as Row | undefined;
    return row === undefined ? null : snapshotFromRow(row);
  }
}
