/**
 * `trace`: the lineage of one transaction (DESIGN §8) — the call tree rebuilt from the chains of its
 * decision records.
 *
 * Every decision record carries its chain, root → leaf, as `[{hash, actor}]`: the person's warrant held by
 * the first agent, then one link per delegation. Links are the nodes of the tree (a link's parent is the
 * link before it in any chain that holds it); the calls a link's holder made are the decisions whose chain
 * ends at that link. Records without a chain (refused before the chain was read) are listed apart.
 */

import { WarrantError } from '../../core/errors.ts';
import type { DecisionRecord } from '../decision-log.ts';
import {
  type AuditRecord,
  type AuditSource,
  grantKey,
  isDecision,
  outcomesOf,
  recordsOfTxn,
} from './source.ts';

/** One decision made at a link: a call by the link's holder. */
export interface TraceCall {
  readonly index: number;
  readonly id: string;
  readonly time: string;
  readonly decision: string;
  readonly reasons: readonly string[];
  readonly code?: string;
  readonly caller?: string;
  readonly recipient?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly used?: unknown;
  readonly policyVersion?: string;
  readonly risk?: DecisionRecord['risk'];
  readonly task?: string;
  /** The upstream's response status and the latency, from the outcome record (allowed calls). */
  readonly status?: number;
  readonly latencyMs?: number;
}

/** One link (hop) of the delegation tree. */
export interface TraceNode {
  /** The link's token hash. */
  readonly hash: string;
  /** Who holds the link (the agent it was issued to). */
  readonly actor: string;
  /** 0 for the person's warrant, then one more per delegation. */
  readonly depth: number;
  /** The persons (`sub`, `iss`) of the records through this link (one, unless the ledger is odd). */
  readonly persons: { sub: string; iss: string }[];
  /** Whom the holder called or delegated to: the recipients of its calls and the actors of the links below. */
  readonly recipients: string[];
  /** The grants the link held, as recorded with its calls (distinct). */
  readonly grants: unknown[];
  readonly calls: TraceCall[];
  readonly children: TraceNode[];
  /**
   * The issuer of a trusted peer's link (a chain that crossed into this deployment, DESIGN §11); absent for
   * this deployment's own links.
   */
  readonly issuer?: string;
}

export interface Trace {
  readonly txn: string;
  readonly persons: { sub: string; iss: string }[];
  readonly tasks: string[];
  /** Decision records in the transaction. */
  readonly decisions: number;
  readonly denied: number;
  readonly first?: string;
  readonly last?: string;
  readonly roots: TraceNode[];
  /** Decisions without a chain (the caller's warrant did not verify), in index order. */
  readonly unattached: TraceCall[];
  /** Oddities in the chains (a link seen under two parents or two actors). */
  readonly anomalies: string[];
}

interface MutableNode {
  hash: string;
  actor: string;
  depth: number;
  parent: string | null;
  persons: Map<string, { sub: string; iss: string }>;
  recipients: Set<string>;
  grants: Map<string, unknown>;
  calls: TraceCall[];
  children: string[];
  issuer: string | undefined;
}

/** The call tree of a transaction; `WARRANT_AUDIT_NOT_FOUND` when no record carries this txn. */
export async function traceTxn(source: AuditSource, txn: string): Promise<Trace> {
  if (typeof txn !== 'string' || txn.length === 0) throw new TypeError('txn must be a non-empty string');
  const records = (await recordsOfTxn(source, txn)).filter((r) => isDecision(r.record));
  if (records.length === 0)
    throw new WarrantError(
      'WARRANT_AUDIT_NOT_FOUND',
      `no ledger record belongs to transaction ${JSON.stringify(txn)}`,
    );
  const outcomes = await outcomesOf(source, records);
  return buildTrace(txn, records, (id) => outcomes.get(id));
}

/** Builds the tree from the decision records of one transaction (in index order). */
export function buildTrace(
  txn: string,
  records: readonly AuditRecord[],
  outcome: (decisionId: string) => { status?: number; latencyMs?: number } | undefined = () => undefined,
): Trace {
  const nodes = new Map<string, MutableNode>();
  const order: string[] = [];
  const anomalies: string[] = [];
  const persons = new Map<string, { sub: string; iss: string }>();
  const tasks = new Set<string>();
  const unattached: TraceCall[] = [];
  let denied = 0;
  let first: string | undefined;
  let last: string | undefined;

  for (const { index, record: r } of records) {
    const person =
      r.person && typeof r.person.sub === 'string' ? { sub: r.person.sub, iss: String(r.person.iss) } : null;
    if (person) persons.set(`${person.sub}\n${person.iss}`, person);
    if (typeof r.task === 'string') tasks.add(r.task);
    if (r.decision !== 'allow') denied++;
    if (typeof r.time === 'string') {
      if (first === undefined || r.time < first) first = r.time;
      if (last === undefined || r.time > last) last = r.time;
    }
    const o = typeof r.id === 'string' ? outcome(r.id) : undefined;
    const call: TraceCall = {
      index,
      id: String(r.id),
      time: String(r.time),
      decision: String(r.decision ?? 'unknown'),
      reasons: Array.isArray(r.reasons) ? r.reasons.map(String) : [],
      ...pick(r, ['code', 'caller', 'recipient', 'action', 'resource', 'policyVersion', 'task']),
      ...(r.used === undefined ? {} : { used: r.used }),
      ...(r.risk === undefined ? {} : { risk: r.risk }),
      ...(o?.status === undefined ? {} : { status: o.status }),
      ...(o?.latencyMs === undefined ? {} : { latencyMs: o.latencyMs }),
    };
    const chain = Array.isArray(r.chain) ? r.chain.filter((l) => l && typeof l.hash === 'string') : [];
    if (chain.length === 0) {
      unattached.push(call);
      continue;
    }
    let parent: string | null = null;
    chain.forEach((link, depth) => {
      let node = nodes.get(link.hash);
      if (!node) {
        node = {
          hash: link.hash,
          actor: String(link.actor),
          depth,
          parent,
          persons: new Map(),
          recipients: new Set(),
          grants: new Map(),
          calls: [],
          children: [],
          issuer: typeof link.iss === 'string' ? link.iss : undefined,
        };
        nodes.set(link.hash, node);
        order.push(link.hash);
        if (parent !== null) nodes.get(parent)!.children.push(link.hash);
      } else {
        if (node.parent !== parent)
          anomalies.push(`link ${link.hash} appears under two parents (record ${index})`);
        if (node.actor !== String(link.actor))
          anomalies.push(
            `link ${link.hash} is held by ${node.actor} and by ${String(link.actor)} (record ${index})`,
          );
      }
      if (person) node.persons.set(`${person.sub}\n${person.iss}`, person);
      if (parent !== null) nodes.get(parent)!.recipients.add(node.actor);
      parent = link.hash;
    });
    const leaf = nodes.get(parent!)!;
    leaf.calls.push(call);
    if (typeof r.recipient === 'string') leaf.recipients.add(r.recipient);
    if (Array.isArray(r.granted)) for (const g of r.granted) leaf.grants.set(grantKey(g), g);
  }

  const freeze = (hash: string): TraceNode => {
    const n = nodes.get(hash)!;
    return {
      hash: n.hash,
      actor: n.actor,
      depth: n.depth,
      persons: [...n.persons.values()],
      recipients: [...n.recipients],
      grants: [...n.grants.values()],
      calls: n.calls,
      children: n.children.map(freeze),
      ...(n.issuer === undefined ? {} : { issuer: n.issuer }),
    };
  };
  const roots = order.filter((h) => nodes.get(h)!.parent === null).map(freeze);
  return {
    txn,
    persons: [...persons.values()],
    tasks: [...tasks],
    decisions: records.length,
    denied,
    ...(first === undefined ? {} : { first }),
    ...(last === undefined ? {} : { last }),
    roots,
    unattached,
    anomalies,
  };
}

function pick(record: DecisionRecord, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = (record as unknown as Record<string, unknown>)[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
