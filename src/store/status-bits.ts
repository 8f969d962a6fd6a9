/**
 * Status-list rows as both store adapters read and write them; the bit layout itself (draft-ietf-oauth-
 * status-list, 1 bit per token) is the core's codec.
 */
import { applyBits, sizedBits } from '../core/tokens/status-list.ts';
import type { RevokedToken, StatusListSnapshot } from './ports.ts';

/** A `status_lists` row as both adapters read it: `next_idx`, `version`, `bits`. */
type ListRow = Readonly<Record<string, unknown>>;

/** What a list reads as: its bits cut to exactly its size. */
export function snapshotFromRow(row: ListRow): StatusListSnapshot {
  const size = Number(row['next_idx']);
  return { bits: sizedBits(row['bits'] as Uint8Array, size), size, version: Number(row['version']) };
}

/**
 * The list row after setting (1) or clearing (0) `indices` in `row` (a missing row reads as an empty list).
 * The version moves only when a bit does; `dirty` says whether anything must be written back.
 */
export function listAfter(
  row: ListRow | undefined,
  indices: readonly number[],
  value: 0 | 1,
): { size: number; version: number; bits: Uint8Array; dirty: boolean } {
  const size = row === undefined ? 0 : Number(row['next_idx']);
  const version = row === undefined ? 0 : Number(row['version']);
  const before = row === undefined ? new Uint8Array(0) : (row['bits'] as Uint8Array);
  const after = applyBits(before, size, indices, value);
  return {
    size: after.size,
    version: after.changed ? version + 1 : version,
    bits: after.bits,
    dirty: after.changed || after.size !== size,
  };
}

/**
 * The status slots of revoked tokens, grouped by list, lists in id order (the order adapters lock them in,
 * so two revocations never wait on each other's lists crosswise). Tokens without a slot are skipped.
 */
export function slotsByList(tokens: readonly RevokedToken[]): [listId: string, indices: number[]][] {
  const byList = new Map<string, number[]>();
  for (const t of tokens) {
    if (t.statusList === null || t.statusIdx === null) continue;
    const list = byList.get(t.statusList);
    if (list) list.push(t.statusIdx);
    else byList.set(t.statusList, [t.statusIdx]);
  }
  return [...byList.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
