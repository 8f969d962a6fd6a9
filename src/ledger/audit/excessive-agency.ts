/**
 * `report excessive-agency` (DESIGN §8; OWASP LLM Top 10 "excessive agency"): the grants agents hold
 * against what they use.
 *
 * Per (caller, action), the decisions in the window and the grants held and used. Findings, each with the
 * counts that support it:
 *
 * - `unused-grant`: a grant the caller held (it was in the `granted` of its calls) that authorised none of
 *   its allowed calls in the window;
 * - `broad-grant`: an action wildcard (`crm:*`) used for only a few concrete actions (at most `broadUpTo`),
 *   or a grant on every resource (`*`) — it could be narrowed to exactly what was used;
 * - `above-typical`: a caller holding many more grants than the median of the callers doing the same
 *   action (at least `minPeers` of them): more than twice the median, and at least 2 more.
 */
import type { DecisionRecord } from '../decision-log.ts';
import { checkAuditQuery } from './query.ts';
import {
  type AuditSource,
  describeGrant,
  grantKey,
  isDecision,
  PAGE,
  scan,
  toAuditRecord,
} from './source.ts';

export interface ExcessiveAgencyOptions {
  /** ISO 8601 or epoch ms; inclusive. */
  readonly since?: string | number;
  /** ISO 8601 or epoch ms; exclusive. */
  readonly until?: string | number;
  /** Callers doing an action needed to compare one of them with the others (default 3). */
  readonly minPeers?: number;
  /** A wildcard grant used for at most this many distinct actions (or resources) is `broad` (default 3). */
  readonly broadUpTo?: number;
}

export interface CallerActionRow {
  readonly caller: string;
  readonly action: string;
  readonly allowed: number;
  readonly denied: number;
  /** Distinct grants held across these calls. */
  readonly grantsHeld: number;
  /** The grants that authorised the allowed ones. */
  readonly grantsUsed: unknown[];
}

export type FindingKind = 'unused-grant' | 'broad-grant' | 'above-typical';

export interface Finding {
  readonly kind: FindingKind;
  readonly severity: 'high' | 'medium' | 'low';
  readonly caller: string;
  readonly grant?: unknown;
  readonly action?: string;
  readonly message: string;
  readonly evidence: Readonly<Record<string, number | string | readonly string[]>>;
  /** What to grant instead, when there is a narrower set. */
  readonly suggestion?: unknown[];
}

export interface ExcessiveAgencyReport {
  readonly window: { readonly since?: string; readonly until?: string };
  /** Decision records considered. */
  readonly decisions: number;
  readonly callers: number;
  readonly rows: CallerActionRow[];
  readonly findings: Finding[];
}

/** The report over the decisions in the window (all of the ledger without one). */
export async function excessiveAgency(
  source: AuditSource,
  options: ExcessiveAgencyOptions = {},
): Promise<ExcessiveAgencyReport> {
  const { filter } = checkAuditQuery({
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
  });
  const records: DecisionRecord[] = [];
  if (filter.since === undefined && filter.until === undefined) {
    for await (const r of scan(source)) if (isDecision(r.record)) records.push(r.record);
  } else {
    for (let after: number | undefined; ; ) {
      const page = await source.query({ ...filter, limit: PAGE, ...(after === undefined ? {} : { after }) });
      for (const e of page.items) {
        const r = toAuditRecord(e).record;
        if (isDecision(r)) records.push(r);
      }
      if (page.next === null || page.items.length === 0) break;
      after = page.next;
    }
  }
  const report = analyseExcessiveAgency(records, options);
  return {
    ...report,
    window: {
      ...(filter.since === undefined ? {} : { since: new Date(filter.since).toISOString() }),
      ...(filter.until === undefined ? {} : { until: new Date(filter.until).toISOString() }),
    },
  };
}

interface GrantStats {
  grant: unknown;
  heldIn: number;
  usedIn: number;
  actions: Map<string, number>;
  resources: Map<string, number>;
}

interface CallerStats {
  grants: Map<string, GrantStats>;
  allowed: number;
  denied: number;
  actions: Set<string>;
}

/** The report over the given decision records (pure: for tests and for callers that hold records). */
export function analyseExcessiveAgency(
  records: Iterable<DecisionRecord>,
  options: Pick<ExcessiveAgencyOptions, 'minPeers' | 'broadUpTo'> = {},
): ExcessiveAgencyReport {
  const minPeers = options.minPeers ?? 3;
  const broadUpTo = options.broadUpTo ?? 3;
  const callers = new Map<string, CallerStats>();
  const rows = new Map<
    string,
    {
      caller: string;
      action: string;
      allowed: number;
      denied: number;
      held: Set<string>;
      used: Map<string, unknown>;
    }
  >();
  const allActions = new Set<string>();
  let decisions = 0;

  for (const r of records) {
    if (!isDecision(r) || typeof r.caller !== 'string') continue;
    decisions++;
    const action = typeof r.action === 'string' ? r.action : '(no action)';
    if (typeof r.action === 'string') allActions.add(r.action);
    let c = callers.get(r.caller);
    if (!c) {
      c = { grants: new Map(), allowed: 0, denied: 0, actions: new Set() };
      callers.set(r.caller, c);
    }
    const rowKey = `${r.caller}\n${action}`;
    let row = rows.get(rowKey);
    if (!row) {
      row = { caller: r.caller, action, allowed: 0, denied: 0, held: new Set(), used: new Map() };
      rows.set(rowKey, row);
    }
    const allowed = r.decision === 'allow';
    if (allowed) {
      c.allowed++;
      row.allowed++;
      if (typeof r.action === 'string') c.actions.add(r.action);
    } else {
      c.denied++;
      row.denied++;
    }
    const held = Array.isArray(r.granted) ? r.granted : [];
    for (const g of held) {
      const key = grantKey(g);
      row.held.add(key);
      let s = c.grants.get(key);
      if (!s) {
        s = { grant: g, heldIn: 0, usedIn: 0, actions: new Map(), resources: new Map() };
        c.grants.set(key, s);
      }
      s.heldIn++;
    }
    if (allowed && r.used !== undefined) {
      const key = grantKey(r.used);
      row.used.set(key, r.used);
      let s = c.grants.get(key);
      if (!s) {
        s = { grant: r.used, heldIn: 0, usedIn: 0, actions: new Map(), resources: new Map() };
        c.grants.set(key, s);
      }
      s.usedIn++;
      if (typeof r.action === 'string') bump(s.actions, r.action);
      if (typeof r.resource === 'string') bump(s.resources, r.resource);
    }
  }

  const findings: Finding[] = [];
  for (const [caller, c] of callers) {
    for (const s of c.grants.values()) {
      const { action: pattern, resource } = patternsOf(s.grant);
      const wildAction = pattern?.endsWith('*') ?? false;
      if (s.usedIn === 0) {
        if (s.heldIn === 0) continue;
        findings.push({
          kind: 'unused-grant',
          severity: c.allowed < 3 ? 'low' : wildAction || resource === '*' ? 'high' : 'medium',
          caller,
          grant: s.grant,
          message: `${caller} held ${describeGrant(s.grant)} in ${s.heldIn} call(s) but used it for none of its ${c.allowed} allowed call(s)`,
          evidence: { heldIn: s.heldIn, usedIn: 0, allowedCalls: c.allowed, deniedCalls: c.denied },
        });
        continue;
      }
      // An action wildcard used for a handful of actions; a resource of `*` (everything) at all.
      const broadAction = wildAction && s.actions.size <= broadUpTo;
      const broadResource = resource === '*' && s.resources.size > 0;
      if (!broadAction && !broadResource) continue;
      const usedActions = [...s.actions.keys()].sort();
      const usedResources = [...s.resources.keys()].sort();
      const knownMatching = pattern ? [...allActions].filter((a) => matches(pattern, a)).length : 0;
      const parts: string[] = [];
      if (broadAction) parts.push(`only ${usedActions.join(', ')} used`);
      if (broadResource) parts.push(`used only on ${commonPattern(usedResources)}`);
      const narrowed = narrowTo(
        s.grant,
        broadAction ? usedActions : [pattern ?? '*'],
        broadResource ? [commonPattern(usedResources)] : [resource ?? '*'],
      );
      findings.push({
        kind: 'broad-grant',
        severity: pattern === '*' || resource === '*' ? 'high' : 'medium',
        caller,
        grant: s.grant,
        message: `${caller} holds ${describeGrant(s.grant)} but ${parts.join(', and ')} (${s.usedIn} allowed call(s))`,
        evidence: {
          usedIn: s.usedIn,
          heldIn: s.heldIn,
          usedActions,
          usedResources: usedResources.length > 10 ? [...usedResources.slice(0, 10), '…'] : usedResources,
          actionsSeenMatchingGrant: knownMatching,
        },
        suggestion: narrowed,
      });
    }
  }

  // Callers holding far more than their peers doing the same action.
  const heldCount = new Map(
    [...callers].map(([id, c]) => [id, [...c.grants.values()].filter((s) => s.heldIn > 0).length]),
  );
  const byAction = new Map<string, string[]>();
  for (const [id, c] of callers) for (const a of c.actions) byAction.set(a, [...(byAction.get(a) ?? []), id]);
  const flagged = new Map<string, Finding>();
  for (const [action, peers] of [...byAction].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (peers.length < minPeers) continue;
    const median = medianOf(peers.map((p) => heldCount.get(p)!));
    for (const p of peers) {
      const held = heldCount.get(p)!;
      if (held > 2 * median && held - median >= 2) {
        const ratio = median === 0 ? Number.POSITIVE_INFINITY : held / median;
        const prior = flagged.get(p);
        const priorRatio = prior
          ? Number(prior.evidence['held']) / Math.max(1e-9, Number(prior.evidence['median']))
          : -1;
        if (prior && priorRatio >= ratio) continue;
        flagged.set(p, {
          kind: 'above-typical',
          severity: held >= 4 * Math.max(1, median) ? 'high' : 'medium',
          caller: p,
          action,
          message: `${p} holds ${held} grants; the ${peers.length} callers doing ${action} hold a median of ${median}`,
          evidence: { held, median, peers: peers.length, action },
        });
      }
    }
  }
  findings.push(...flagged.values());
  const rank = { high: 0, medium: 1, low: 2 };
  findings.sort(
    (a, b) => rank[a.severity] - rank[b.severity] || (a.caller < b.caller ? -1 : a.caller > b.caller ? 1 : 0),
  );

  return {
    window: {},
    decisions,
    callers: callers.size,
    rows: [...rows.values()]
      .map((r) => ({
        caller: r.caller,
        action: r.action,
        allowed: r.allowed,
        denied: r.denied,
        grantsHeld: r.held.size,
        grantsUsed: [...r.used.values()],
      }))
      .sort((a, b) =>
        a.caller === b.caller ? (a.action < b.action ? -1 : 1) : a.caller < b.caller ? -1 : 1,
      ),
    findings,
  };
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function patternsOf(grant: unknown): { action?: string; resource?: string } {
  if (grant === null || typeof grant !== 'object') return {};
  const g = grant as { action?: unknown; resource?: unknown };
  return {
    ...(typeof g.action === 'string' ? { action: g.action } : {}),
    ...(typeof g.resource === 'string' ? { resource: g.resource } : {}),
  };
}

function matches(pattern: string, value: string): boolean {
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : pattern === value;
}

/** The grant narrowed to exactly these actions × resources (its constraints kept). */
function narrowTo(grant: unknown, actions: readonly string[], resources: readonly string[]): unknown[] {
  const constraints = (grant as { constraints?: unknown }).constraints;
  const out: unknown[] = [];
  for (const action of actions)
    for (const resource of resources)
      out.push({ action, resource, ...(constraints === undefined ? {} : { constraints }) });
  return out;
}

/** The narrowest pattern covering these resources: the one resource, or their common prefix up to a `/`, then `*`. */
function commonPattern(resources: readonly string[]): string {
  if (resources.length === 1) return resources[0]!;
  let prefix = resources[0] ?? '';
  for (const r of resources) while (!r.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const cut = prefix.lastIndexOf('/');
  return cut < 0 ? '*' : `${prefix.slice(0, cut + 1)}*`;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
