import type pg from 'pg';
import { one } from '../../sql/postgres.ts';
import type { RevokedToken, StatusListStore } from '../ports.ts';
import { mapOrNull } from '../rows.ts';
import { listAfter, slotsByList, snapshotFromRow } from '../status-bits.ts';
import { allocateCount, checkIndices, MAX_STATUS_INDEX, text } from '../validate.ts';
import { type PostgresContext, statement } from './context.ts';

const BITS_SELECT = statement(
  'bits_select',
  'SELECT next_idx, version, bits FROM status_lists WHERE list_id = $1 FOR UPDATE',
);
const BITS_CREATE = statement(
  'bits_create',
  `INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES ($1, 0, 0, '\\x'::bytea)
   ON CONFLICT (list_id) DO NOTHING`,
);
const BITS_UPDATE = statement(
  'bits_update',
  'UPDATE status_lists SET next_idx = $1, version = $2, bits = $3 WHERE list_id = $4',
);

/** Status-bit writes inside the caller's transaction: the list row is locked, changed, written back. */
export const postgresStatusBits = {
  async set(client: pg.PoolClient, listId: string, indices: readonly number[], value: 0 | 1): Promise<void> {
    if (indices.length === 0) return;
    let row = await one(client, BITS_SELECT([listId]));
    if (row === undefined) {
      await client.query(BITS_CREATE([listId]));
      row = (await one(client, BITS_SELECT([listId])))!;
    }
    const after = listAfter(row, indices, value);
    if (after.dirty) await client.query(BITS_UPDATE([after.size, after.version, after.bits, listId]));
  },

  /** Sets the bit of every revoked token that has a status slot; lists are locked in id order. */
  async setRevoked(client: pg.PoolClient, tokens: readonly RevokedToken[]): Promise<void> {
    for (const [listId, indices] of slotsByList(tokens))
      await postgresStatusBits.set(client, listId, indices, 1);
  },
};

const LIST_ALLOCATE = statement(
  'list_allocate',
  `INSERT INTO status_lists (list_id, next_idx, version, bits) VALUES ($1, $2::bigint, 0, '\\x'::bytea)
   ON CONFLICT (list_id) DO UPDATE SET next_idx = status_lists.next_idx + $2::bigint
   RETURNING next_idx - $2::bigint AS idx`,
);
const LIST_GET = statement('list_get', 'SELECT next_idx, version, bits FROM status_lists WHERE list_id = $1');

/** `allocationPool` commits asynchronously (see `openPostgresStore`). */
export function postgresStatusLists({ pool, tx }: PostgresContext, allocationPool: pg.Pool): StatusListStore {
  return {
    /** One `INSERT … ON CONFLICT DO UPDATE … RETURNING`: the row lock makes concurrent calls take turns. */
    async allocate(listId, count = 1) {
      text(listId, 'listId');
      allocateCount(count);
      const first = Number((await one(allocationPool, LIST_ALLOCATE([listId, count])))!['idx']);
      // Past the last index the list stays over-allocated: the caller must move to a new list.
      if (first + count - 1 > MAX_STATUS_INDEX) throw new RangeError(`status list ${listId} is full`);
      return first;
    },

    async set(listId, indices, value = 1) {
      text(listId, 'listId');
      checkIndices(indices, value);
      await tx((client) => postgresStatusBits.set(client, listId, indices, value));
    },

    async get(listId) {
      return mapOrNull(await one(pool, LIST_GET([text(listId, 'listId')])), snapshotFromRow);
    },
  };
}
