/**
 * A decision record as the ledger stores it (a `LedgerEntry`: canonical text, leaf hash, the columns it is
 * found by) and as it reads it back (a `LedgerRecord`, checked against the verified tree).
 */
import { canonicalRecord, recordLeafHash } from './canonical-record.ts';
import type { DecisionRecord } from './decision-log.ts';
import { LedgerCorruptError } from './errors.ts';
import type { MerkleTree } from './merkle.ts';
import type { LedgerEntry } from './store/ports.ts';
import { sameBytes } from './store/validate.ts';

/** A record as read back: the record (with its `index`), its canonical text and its leaf hash. */
export interface LedgerRecord {
  readonly index: number;
  readonly record: DecisionRecord & { readonly index: number };
  readonly canonical: string;
  readonly leafHash: Uint8Array;
}

/**
 * The entry storing `record` at `index`: RFC 8785 text (with the `index` member), leaf hash, and the
 * query columns. Throws when the record is not representable as canonical JSON.
 */
export function toEntry(index: number, record: DecisionRecord, time: number): LedgerEntry {
  const canonical = canonicalRecord(record, index);
  return {
    index,
    leafHash: recordLeafHash(canonical),
    canonical,
    time,
    txn: text(record.txn),
    person: text(record.person?.sub),
    caller: text(record.caller),
    action: text(record.action),
    decision: text(record.decision),
  };
}

/**
 * The record of a stored entry, after checking its text against the leaf hash in the verified tree (the
 * entry's own hash beyond the tree): a record changed since open throws `LedgerCorruptError`.
 */
export function checkedRecord(tree: MerkleTree, entry: LedgerEntry): LedgerRecord {
  const hash = recordLeafHash(entry.canonical);
  const known = entry.index < tree.size ? tree.leafHash(entry.index) : entry.leafHash;
  if (!sameBytes(hash, known))
    throw new LedgerCorruptError(entry.index, 'the stored record does not hash to its leaf in the tree');
  return {
    index: entry.index,
    record: JSON.parse(entry.canonical) as LedgerRecord['record'],
    canonical: entry.canonical,
    leafHash: entry.leafHash,
  };
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
