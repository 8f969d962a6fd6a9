/**
 * What the audit operations read, and the small helpers they share. Internal to `src/ledger/audit/`.
 *
 * The operations read a `LedgerStore` (the port of `store/ports.ts`) and never write to it, so they run
 * beside a gateway that is appending, against SQLite or PostgreSQL alike.
 */
import { parseCheckpoint } from '../checkpoint.ts';
import type { DecisionRecord } from '../decision-log.ts';
import { canonicalJson } from '../jcs.ts';
import type { LedgerEntry, LedgerStore, StoredCheckpoint } from '../store/ports.ts';

/** The read side of a ledger store: everything the audit operations use. */
export type AuditSource = Pick<
  LedgerStore,
  | 'entries'
  | 'leafHashes'
  | 'getRecord'
  | 'query'
  | 'count'
  | 'checkpoints'
  | 'latestCheckpoint'
  | 'checkpointAt'
>;

/** A record as the audit operations see it: its position, the record (with its `index`) and its text. */
export interface AuditRecord {
  readonly index: number;
  readonly record: DecisionRecord & { readonly index: number };
  readonly canonical: string;
}

/** Records are read in chunks of this many. */
export const CHUNK = 10_000;
/** The store returns at most this many per query page. */
export const PAGE = 1000;
/** How far after a decision its outcome record (which carries no txn) is looked for. */
export const OUTCOME_WINDOW = 10_000;

export function toAuditRecord(entry: LedgerEntry): AuditRecord {
  return {
    index: entry.index,
    record: JSON.parse(entry.canonical) as AuditRecord['record'],
    canonical: entry.canonical,
  };
}

/** Every record from `from` (inclusive) to `to` (exclusive, default: the end of the log), in index order. */
export async function* scan(source: AuditSource, from = 0, to?: number): AsyncGenerator<AuditRecord> {
  const end = to ?? (await source.count());
  for (let start = from; start < end; start += CHUNK) {
    const rows = await source.entries(start, Math.min(end, start + CHUNK));
    for (const row of rows) yield toAuditRecord(row);
    if (rows.length === 0) break;
  }
}

/** Every record of one transaction (decision records carry the `txn`), in index order. */
export async function recordsOfTxn(source: AuditSource, txn: string): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let after: number | undefined; ; ) {
    const page = await source.query({ txn, limit: PAGE, ...(after === undefined ? {} : { after }) });
    for (const e of page.items) out.push(toAuditRecord(e));
    if (page.next === null || page.items.length === 0) break;
    after = page.next;
  }
  return out;
}

/** The outcome of a decision: the response status and latency, when its outcome record was written. */
export interface Outcome {
  readonly index: number;
  readonly status?: number;
  readonly latencyMs?: number;
}

/**
 * The outcome records of the given decisions. Outcomes carry no `txn`, only the `decisionId`, and are
 * written after their decision: they are looked for from the first decision to `OUTCOME_WINDOW` records
 * after the last one, stopping once all are found.
 */
export async function outcomesOf(
  source: AuditSource,
  decisions: readonly AuditRecord[],
): Promise<Map<string, Outcome>> {
  const found = new Map<string, Outcome>();
  const wanted = new Set(decisions.map((d) => d.record.id).filter((id) => typeof id === 'string'));
  if (wanted.size === 0) return found;
  const first = Math.min(...decisions.map((d) => d.index));
  const last = Math.max(...decisions.map((d) => d.index));
  const end = Math.min(await source.count(), last + 1 + OUTCOME_WINDOW);
  for await (const r of scan(source, first, end)) {
    const rec = r.record;
    if (rec.kind !== 'outcome' || typeof rec.decisionId !== 'string' || !wanted.has(rec.decisionId)) continue;
    found.set(rec.decisionId, {
      index: r.index,
      ...(typeof rec.status === 'number' ? { status: rec.status } : {}),
      ...(typeof rec.latencyMs === 'number' ? { latencyMs: rec.latencyMs } : {}),
    });
    if (found.size === wanted.size) break;
  }
  return found;
}

/** Every stored checkpoint, by size ascending. */
export async function allCheckpoints(source: AuditSource): Promise<StoredCheckpoint[]> {
  const out: StoredCheckpoint[] = [];
  for (let after: number | undefined; ; ) {
    const page = await source.checkpoints({ limit: PAGE, ...(after === undefined ? {} : { after }) });
    out.push(...page);
    if (page.length < PAGE) break;
    after = page.at(-1)!.size;
  }
  return out;
}

/** The key names that signed a checkpoint note (to derive verifier keys under the right name). */
export function signerNames(note: string): string[] {
  try {
    return [...new Set(parseCheckpoint(note).signatures.map((s) => s.name))];
  } catch {
    return [];
  }
}

/** A grant's identity: its canonical JSON (RFC 8785). */
export function grantKey(grant: unknown): string {
  try {
    return canonicalJson(grant);
  } catch {
    return String(JSON.stringify(grant));
  }
}

/** A grant for people: `action on resource` (and its constraints). */
export function describeGrant(grant: unknown): string {
  if (grant !== null && typeof grant === 'object' && !Array.isArray(grant)) {
    const g = grant as { action?: unknown; resource?: unknown; constraints?: unknown };
    if (typeof g.action === 'string' && typeof g.resource === 'string') {
      const c = g.constraints === undefined ? '' : ` ${JSON.stringify(g.constraints)}`;
      return `${g.action} on ${g.resource}${c}`;
    }
  }
  return JSON.stringify(grant) ?? String(grant);
}

export function isDecision(record: DecisionRecord): boolean {
  // Outcomes belong to a decision; autonomy records (an agent's statement changed) and containment steps
  // are no call at all.
  return record.kind !== 'outcome' && record.kind !== 'autonomy' && record.kind !== 'containment';
}
