/** Decision records as the dashboard's pages show them. */
import type { AuditRecord } from '../../ledger/audit/source.ts';

export interface DecisionView {
  readonly index: number;
  readonly id: string;
  readonly time: string;
  readonly kind: string;
  readonly decision?: string;
  readonly code?: string;
  readonly reasons: readonly string[];
  readonly person?: { sub: string; iss: string };
  readonly caller?: string;
  readonly recipient?: string;
  readonly chain: readonly string[];
  readonly action?: string;
  readonly resource?: string;
  readonly parameters?: Readonly<Record<string, number | string>>;
  readonly risk?: { score: number; factors: readonly { name: string; points: number }[] };
  readonly txn?: string;
  readonly task?: string;
  readonly trustLevel?: number;
  readonly approval?: string;
  readonly granted: readonly unknown[];
  readonly used?: unknown;
}

export function decisionView({ index, record: r }: AuditRecord): DecisionView {
  return {
    index,
    id: String(r.id),
    time: String(r.time),
    kind: String(r.kind),
    ...(r.decision ? { decision: r.decision } : {}),
    ...(r.code ? { code: r.code } : {}),
    reasons: Array.isArray(r.reasons) ? r.reasons.map(String) : [],
    ...(r.person ? { person: { sub: String(r.person.sub), iss: String(r.person.iss) } } : {}),
    ...(r.caller ? { caller: r.caller } : {}),
    ...(r.recipient ? { recipient: r.recipient } : {}),
    chain: Array.isArray(r.chain) ? r.chain.map((l) => String(l.actor)) : [],
    ...(r.action ? { action: r.action } : {}),
    ...(r.resource ? { resource: r.resource } : {}),
    ...(r.parameters ? { parameters: r.parameters } : {}),
    ...(r.risk
      ? {
          risk: {
            score: r.risk.score,
            factors: r.risk.factors.map((f) => ({ name: f.name, points: f.points })),
          },
        }
      : {}),
    ...(r.txn ? { txn: r.txn } : {}),
    ...(r.task ? { task: r.task } : {}),
    ...(typeof r.trustLevel === 'number' ? { trustLevel: r.trustLevel } : {}),
    ...(r.bound?.approval ? { approval: r.bound.approval.id } : {}),
    granted: Array.isArray(r.granted) ? r.granted : [],
    ...(r.used === undefined ? {} : { used: r.used }),
  };
}

export interface DecisionFilter {
  readonly person?: string;
  readonly agent?: string;
  readonly action?: string;
  readonly outcome?: string;
  readonly txn?: string;
}

export function filterOf(url: URL): DecisionFilter {
  const get = (name: string) => {
    const v = url.searchParams.get(name);
    return v === null || v === '' ? undefined : v.slice(0, 512);
  };
  const out: Record<string, string> = {};
  for (const k of ['person', 'agent', 'action', 'outcome', 'txn']) {
    const v = get(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Decisions only (not outcomes, autonomy or containment records), matching every given filter. */
export function matches(v: DecisionView, f: DecisionFilter): boolean {
  if (v.kind !== 'decision') return false;
  if (f.person !== undefined && !v.person?.sub.includes(f.person)) return false;
  if (f.agent !== undefined && !(v.caller?.includes(f.agent) || v.chain.some((a) => a.includes(f.agent!))))
    return false;
  if (f.action !== undefined && !v.action?.includes(f.action)) return false;
  if (f.outcome !== undefined && v.decision !== f.outcome) return false;
  if (f.txn !== undefined && v.txn !== f.txn) return false;
  return true;
}
