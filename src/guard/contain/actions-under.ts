/**
 * Every allowed action taken under a selection, from the ledger (DESIGN §6, §8): the `allow` decision
 * records of the transaction (`--txn`), of the selected warrant's subtree (`--warrant`: records whose
 * chain holds its hash), of every chain the agent is in (`--agent`) or of the person (`--person`), oldest
 * first, each with its outcome status when its outcome record is found.
 */
import {
  type AuditRecord,
  type AuditSource,
  outcomesOf,
  PAGE,
  recordsOfTxn,
} from '../../ledger/audit/source.ts';
import type { LedgerQuery } from '../../ledger/store/ports.ts';
import type { ResolvedTarget } from './resolve-target.ts';

/** The most records one containment reads (beyond it, contain refuses rather than act on part of it). */
export const MAX_RECORDS = 50_000;

export interface ActionRecord {
  readonly audit: AuditRecord;
  readonly status?: number;
}

export async function actionsUnder(
  source: AuditSource | null,
  target: ResolvedTarget,
): Promise<ActionRecord[]> {
  if (source === null) return [];
  const { selector } = target;
  let records: AuditRecord[];
  if ('txn' in selector) {
    records = await recordsOfTxn(source, selector.txn);
  } else if ('warrant' in selector) {
    const hash = selector.warrant;
    const txn = target.token?.txn;
    records = txn ? (await recordsOfTxn(source, txn)).filter((r) => inChain(r, (l) => l.hash === hash)) : [];
  } else if ('agent' in selector) {
    // The agent's own calls name its transactions; the calls of the agents it delegated to are in them.
    const agent = selector.agent;
    const own = await paged(source, { caller: agent });
    const txns = new Set(own.map((r) => r.record.txn).filter((t): t is string => typeof t === 'string'));
    records = own.filter((r) => typeof r.record.txn !== 'string');
    for (const txn of txns)
      records.push(...(await recordsOfTxn(source, txn)).filter((r) => inChain(r, (l) => l.actor === agent)));
  } else {
    records = await paged(source, { person: selector.person });
  }
  const allowed = records
    .filter((r) => r.record.kind === 'decision' && r.record.decision === 'allow')
    .sort((a, b) => a.index - b.index);
  if (allowed.length > MAX_RECORDS)
    throw new RangeError(`more than ${MAX_RECORDS} actions under this selection`);
  const outcomes = await outcomesOf(source, allowed);
  return allowed.map((audit) => {
    const status = outcomes.get(audit.record.id)?.status;
    return status === undefined ? { audit } : { audit, status };
  });
}

function inChain(r: AuditRecord, test: (link: { hash: string; actor: string }) => boolean): boolean {
  return (r.record.chain ?? []).some(test);
}

async function paged(source: AuditSource, query: Omit<LedgerQuery, 'limit'>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let after: number | undefined; ; ) {
    const page = await source.query({ ...query, limit: PAGE, ...(after === undefined ? {} : { after }) });
    for (const e of page.items)
      out.push({ index: e.index, record: JSON.parse(e.canonical), canonical: e.canonical });
    if (page.next === null || page.items.length === 0 || out.length > MAX_RECORDS) return out;
    after = page.next;
  }
}
