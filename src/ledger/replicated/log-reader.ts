/**
 * Reads of the replicated log for its read-only C2SP tlog-tiles endpoints (tlog-http.ts) and for proofs:
 * the latest checkpoint (with the witness co-signatures gathered so far), tiles, entry bundles, and RFC 9162
 * inclusion and consistency proofs computed from stored tiles alone (tiles/tile-proofs.ts), never from a
 * tree in memory.
 */
import type pg from 'pg';
import type { StoredCheckpoint } from '../store/ports.ts';
import { CHECKPOINTS } from '../store/rows.ts';
import { TILE_WIDTH } from '../tiles/tile-edge.ts';
import { TileNodes, tileConsistencyProof, tileInclusionProof } from '../tiles/tile-proofs.ts';
import { readTile } from './tile-state.ts';

/** The most bytes one entry may have in an entry bundle (a 16-bit length prefix). */
const MAX_BUNDLE_ENTRY = 0xffff;

export class LogReader {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const { rows } = await this.#pool.query(
      'SELECT size, root, note, time FROM ledger_checkpoints ORDER BY size DESC LIMIT 1',
    );
    return rows[0] ? CHECKPOINTS.fromRow(rows[0]) : null;
  }

  async checkpointAt(size: number): Promise<StoredCheckpoint | null> {
    const { rows } = await this.#pool.query(
      'SELECT size, root, note, time FROM ledger_checkpoints WHERE size = $1',
      [size],
    );
    return rows[0] ? CHECKPOINTS.fromRow(rows[0]) : null;
  }

  /** Tile (`level`, `index`) at `width` hashes: a prefix of the stored one, `null` when not stored that wide. */
  async tile(level: number, index: number, width: number): Promise<Uint8Array | null> {
    const bytes = await readTile(this.#pool, level, index);
    if (!bytes || bytes.length < width * 32) return null;
    return bytes.subarray(0, width * 32);
  }

  /**
   * Entry bundle `index` at `width` entries (C2SP tlog-tiles: each entry as a 16-bit big-endian length and
   * its bytes — here the record's canonical text, whose RFC 9162 leaf hash is the level-0 tile's), `null`
   * when the log does not hold those entries yet.
   */
  async entryBundle(index: number, width: number): Promise<Uint8Array | null> {
    const from = index * TILE_WIDTH;
    const { rows } = await this.#pool.query<{ canonical: string }>(
      'SELECT canonical FROM ledger_records WHERE idx >= $1 AND idx < $2 ORDER BY idx',
      [from, from + width],
    );
    if (rows.length !== width) return null;
    const parts = rows.map((r) => Buffer.from(r.canonical, 'utf8'));
    if (parts.some((p) => p.length > MAX_BUNDLE_ENTRY))
      throw new RangeError('an entry is longer than an entry bundle can carry');
    const out = Buffer.alloc(parts.reduce((n, p) => n + 2 + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.writeUInt16BE(p.length, o);
      p.copy(out, o + 2);
      o += 2 + p.length;
    }
    return new Uint8Array(out);
  }

  /** The leaf hash of record `index`, or `null`. */
  async leafHash(index: number): Promise<Uint8Array | null> {
    const { rows } = await this.#pool.query<{ leaf_hash: Uint8Array }>(
      'SELECT leaf_hash FROM ledger_records WHERE idx = $1',
      [index],
    );
    return rows[0] ? new Uint8Array(rows[0].leaf_hash) : null;
  }

  /** RFC 9162 inclusion proof of record `index` in the tree of `size` records, from tiles. */
  inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return tileInclusionProof(this.#nodes(), index, size);
  }

  /** RFC 9162 consistency proof from `oldSize` to `newSize` records, from tiles. */
  consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]> {
    return tileConsistencyProof(this.#nodes(), oldSize, newSize);
  }

  #nodes(): TileNodes {
    return new TileNodes((level, index) => readTile(this.#pool, level, index));
  }
}
