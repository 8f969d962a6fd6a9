import type { RevokedToken, StatusListStore } from '../ports.ts';
import { mapOrNull, type Row } from '../rows.ts';
import { listAfter, slotsByList, snapshotFromRow } from '../status-bits.ts';
import { allocateCount, checkIndices, MAX_STATUS_INDEX, text } from '../validate.ts';
import type { SqliteContext } from './context.ts';

const SELECT_LIST = 'SELECT next_idx, version, bits FROM status_lists WHERE list_id = ?';

/** Status-bit writes, always called inside the caller's transaction (tokens use them when revoking). */
export interface SqliteStatusBits {
  set(listId: string, indices: readonly number[], value: 0 | 1): void;
  /** Sets the bit of every revoked token that has a status slot, list by list. */
  setRevoked(tokens: readonly RevokedToken[]): void;
}

export function sqliteStatusBits({ prepare: s }: SqliteContext): SqliteStatusBits {
  const select = s(SELECT_LIST);
  const insert = s('INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES (?, ?, ?, ?)');
  const update = s('UPDATE status_lists SET next_idx = ?, version = ?, bits = ? WHERE list_id = ?');
  const set = (listId: string, indices: readonly number[], value: 0 | 1): void => {
    if (indices.length === 0) return;
    const row = select.get(listId) as Row | undefined;
    const after = listAfter(row, indices, value);
    if (row === undefined) insert.run(listId, after.size, after.version, after.bits);
    else if (after.dirty) update.run(after.size, after.version, after.bits, listId);
  };
  return {
    set,
    setRevoked(tokens) {
      for (const [listId, indices] of slotsByList(tokens)) set(listId, indices, 1);
    },
  };
}

export function sqliteStatusLists(
  { prepare: s, tx }: SqliteContext,
  bits: SqliteStatusBits,
): StatusListStore {
  const allocate = s(
    `INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES (?1, ?2, 0, x'')
     ON CONFLICT (list_id) DO UPDATE SET next_idx = status_lists.next_idx + ?2
     RETURNING next_idx - ?2 AS idx`,
  );
  const get = s(SELECT_LIST);
  return {
    async allocate(listId, count = 1) {
      text(listId, 'listId');
      allocateCount(count);
      return tx(() => {
        const first = Number((allocate.get(listId, count) as Row)['idx']);
        if (first + count - 1 > MAX_STATUS_INDEX) throw new RangeError(`status list ${listId} is full`);
        return first;
      });
    },

    async set(listId, indices, value = 1) {
      text(listId, 'listId');
      checkIndices(indices, value);
      await tx(() => bits.set(listId, indices, value));
    },

    async get(listId) {
      return mapOrNull(get.get(text(listId, 'listId')) as Row | undefined, snapshotFromRow);
    },
  };
}
