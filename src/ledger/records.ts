/**
 * A decision record as the ledger stores it (a `LedgerEntry`: canonical text, leaf hash, the columns it is
 * found by) and as it reads it back (a `LedgerRecord`, checked against the verified tree).
 */
import { type CanonicalParts, canonicalParts, recordLeafHash, withIndex } from './canonical-record.ts';
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
 * A record made ready for the log before it has a place in it: its canonical text in the parts around its
 * index, its time and its query columns. Throws when the record is not representable as canonical JSON.
 */
export interface PreparedRecord extends Omit<LedgerEntry, 'index' | 'leafHash' | 'canonical'> {
  readonly parts: CanonicalParts;
}

/** `record` read once, for the entry it becomes at whatever index (see `entryAt`). */
export function prepareRecord(record: DecisionRecord, time: number): PreparedRecord {
  return {
    parts: canonicalParts(record),
    time,
    txn: text(record.txn),
    person: text(record.person?.sub),
    caller: text(record.caller),
    action: text(record.action),
    decision: text(record.decision),
  };
}

/** The entry storing a prepared record at `index`: its RFC 8785 text with the `index` member, leaf hash. */
export function entryAt(index: number, prepared: PreparedRecord): LedgerEntry {
  const { parts, time, txn, person, caller, action, decision } = prepared;
  const canonical = withIndex(parts, index);
  return {
    index,
    leafHash: recordLeafHash(canonical),
    canonical,
    time,
    txn,
    person,
    caller,
    action,
    decision,
  };
}

/**
 * The entry storing `record` at `index`: RFC 8785 text (with the `index` member), leaf hash, and the
 * query columns. Throws when the record is not representable as canonical JSON.
 */
export function toEntry(index: number, record: DecisionRecord, time: number): LedgerEntry {
  return entryAt(index, prepareRecord(record, time));
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
