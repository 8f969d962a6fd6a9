/**
 * The integrator's state when it takes the lease: the tree's size and right edge (tile-edge.ts), read from
 * the stored partial tiles and checked against the latest signed checkpoint — a store that does not match
 * what was signed is refused (`LedgerCorruptError`) instead of being extended (no fork). A log written
 * without tiles (by the single writer, before `ledger.mode: replicated`) gets them here: the leaves are
 * streamed once, in chunks, through a fresh edge (memory stays O(log n)).
 */
import type pg from 'pg';
import { verifyCheckpoint } from '../checkpoint.ts';
import { LedgerCorruptError } from '../errors.ts';
import type { StoredCheckpoint } from '../store/ports.ts';
import { CHECKPOINTS } from '../store/rows.ts';
import { sameBytes } from '../store/validate.ts';
import { TILE_WIDTH, type Tile, TileEdge, tileHashes } from '../tiles/tile-edge.ts';

const CHUNK = 4096;

export interface LoadedState {
  readonly edge: TileEdge;
  readonly latest: StoredCheckpoint | null;
}

/** Upserts tiles; a stored tile is only ever replaced by a wider one (prefixes never change). */
export async function putTiles(db: pg.PoolClient | pg.Pool, tiles: readonly Tile[]): Promise<void> {
  if (tiles.length === 0) return;
  await db.query(
    `INSERT INTO ledger_tiles (level, idx, width, hashes)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[])
     ON CONFLICT (level, idx) DO UPDATE SET width = EXCLUDED.width, hashes = EXCLUDED.hashes
     WHERE ledger_tiles.width < EXCLUDED.width`,
    [
      tiles.map((t) => t.level),
      tiles.map((t) => t.index),
      tiles.map((t) => t.width),
      tiles.map((t) => t.hashes),
    ],
  );
}

/** The stored hashes of tile (`level`, `index`), or `null`. */
export async function readTile(
  db: pg.Pool | pg.PoolClient,
  level: number,
  index: number,
): Promise<Uint8Array | null> {
  const { rows } = await db.query<{ hashes: Uint8Array }>(
    'SELECT hashes FROM ledger_tiles WHERE level = $1 AND idx = $2',
    [level, index],
  );
  return rows[0] ? new Uint8Array(rows[0].hashes) : null;
}

/** Loads (or, when tiles are missing, rebuilds) the edge and checks it against the latest checkpoint. */
export async function loadState(
  pool: pg.Pool,
  keys: readonly string[],
  origin: string,
): Promise<LoadedState> {
  const count = Number(
    (await pool.query<{ n: number }>('SELECT coalesce(max(idx) + 1, 0) AS n FROM ledger_records')).rows[0]!.n,
  );
  const row = (
    await pool.query('SELECT size, root, note, time FROM ledger_checkpoints ORDER BY size DESC LIMIT 1')
  ).rows[0];
  const latest = row ? CHECKPOINTS.fromRow(row) : null;
  if (latest) {
    try {
      const v = verifyCheckpoint(latest.note, keys, { origin });
      if (v.size !== latest.size || !sameBytes(v.root, latest.root))
        throw new Error('note and columns differ');
    } catch (error) {
      throw new LedgerCorruptError(
        latest.size,
        'the latest checkpoint does not verify with the ledger keys',
        {
          cause: error,
        },
      );
    }
    if (latest.size > count)
      throw new LedgerCorruptError(count, `records missing below checkpoint ${latest.size}`);
  }
  const edge = (await storedEdge(pool, count)) ?? (await rebuild(pool, count, latest));
  if (latest && latest.size === count && !sameBytes(edge.root(), latest.root))
    throw new LedgerCorruptError(0, `the stored tiles do not give the root of checkpoint ${latest.size}`);
  return { edge, latest };
}

/** The edge from the stored partial tiles, or `null` when one is missing or too narrow. */
async function storedEdge(pool: pg.Pool, size: number): Promise<TileEdge | null> {
  const partials: Uint8Array[][] = [];
  let nodes = size;
  for (let level = 0; nodes > 0; level++) {
    const width = nodes % TILE_WIDTH;
    if (width === 0) partials.push([]);
    else {
      const bytes = await readTile(pool, level, Math.floor(nodes / TILE_WIDTH));
      if (!bytes || bytes.length < width * 32) return null;
      partials.push(tileHashes(bytes.subarray(0, width * 32)));
    }
    nodes = Math.floor(nodes / TILE_WIDTH);
  }
  return TileEdge.fromPartials(size, partials);
}

/** Streams the stored leaves into a new edge, storing every tile; checks the root at the latest checkpoint. */
async function rebuild(pool: pg.Pool, count: number, latest: StoredCheckpoint | null): Promise<TileEdge> {
  const edge = new TileEdge();
  for (let from = 0; from < count; from += CHUNK) {
    const { rows } = await pool.query<{ leaf_hash: Uint8Array }>(
      'SELECT leaf_hash FROM ledger_records WHERE idx >= $1 AND idx < $2 ORDER BY idx',
      [from, Math.min(count, from + CHUNK)],
    );
    if (rows.length !== Math.min(CHUNK, count - from))
      throw new LedgerCorruptError(from, 'a gap in the records');
    for (const r of rows) {
      edge.append(new Uint8Array(r.leaf_hash));
      if (latest && edge.size === latest.size && !sameBytes(edge.root(), latest.root))
        throw new LedgerCorruptError(
          0,
          `the stored leaves do not give the root of checkpoint ${latest.size}`,
        );
    }
    await putTiles(pool, edge.drain());
  }
  return edge;
}
