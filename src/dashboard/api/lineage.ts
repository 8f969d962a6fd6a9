/**
 * `GET /ui/api/lineage/{txn}`: a transaction as a graph — the person, the agents of each delegation chain,
 * the tools and agents called — from its decision records in the ledger, each edge with the decisions made
 * on it (record index, action, outcome) and the grants of the warrants issued for it (from the STS's token
 * store). A person sees only a transaction done on their behalf; for any other it is 404, as for one that
 * does not exist.
 */
import { recordsOfTxn } from '../../ledger/audit/source.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { notFound } from '../answers.ts';
import { maySee } from '../scope.ts';
import type { ApiOperation } from './types.ts';
import { decisionView } from './views.ts';

interface Node {
  id: string;
  kind: 'person' | 'agent' | 'tool';
}
interface Edge {
  from: string;
  to: string;
  decisions: { index: number; action?: string; decision?: string; code?: string }[];
  grants: unknown[];
}

export const lineage: ApiOperation = async ({ req, res, parts, session, ctx }) => {
  if (parts[0] !== 'lineage' || parts.length !== 2 || req.method !== 'GET') return false;
  const txn = parts[1]!;
  if (txn.length === 0 || txn.length > 200) throw notFound('no such transaction');
  const source = await ctx.ledger.source();
  const records = source === null ? [] : await recordsOfTxn(source, txn);
  const decisions = records.filter((r) => r.record.kind === 'decision');
  if (decisions.length === 0 || !decisions.every((r) => maySee(session, r.record)))
    throw notFound('no such transaction');
  const nodes = new Map<string, Node>();
  const edges = new Map<string, Edge>();
  const node = (id: string, kind: Node['kind']) => {
    if (!nodes.has(id)) nodes.set(id, { id, kind });
  };
  const edge = (from: string, to: string): Edge => {
    const key = `${from}\n${to}`;
    let e = edges.get(key);
    if (e === undefined) {
      e = { from, to, decisions: [], grants: [] };
      edges.set(key, e);
    }
    return e;
  };
  const views = decisions.map(decisionView);
  const agents = new Set(views.flatMap((v) => v.chain));
  for (const v of views) {
    const person = v.person ? `person:${v.person.sub}` : undefined;
    if (person) node(person, 'person');
    let previous = person;
    for (const actor of v.chain) {
      node(actor, 'agent');
      if (previous !== undefined && previous !== actor) edge(previous, actor);
      previous = actor;
    }
    if (v.recipient !== undefined && previous !== undefined) {
      node(v.recipient, agents.has(v.recipient) || v.recipient.startsWith('spiffe://') ? 'agent' : 'tool');
      edge(previous, v.recipient).decisions.push({
        index: v.index,
        ...(v.action ? { action: v.action } : {}),
        ...(v.decision ? { decision: v.decision } : {}),
        ...(v.code ? { code: v.code } : {}),
      });
    }
  }
  const tokens = await ctx.sts.store.tokens.listByTxn(txn);
  const warrants = tokens
    .filter((t) => t.kind === 'warrant')
    .map((t) => ({
      hash: t.hash,
      parentHash: t.parentHash,
      holder: t.actors[0] ?? null,
      audience: t.audience,
      grants: parseGrants(t.grantsJson),
      revoked: t.revokedAt !== null,
      exp: t.exp,
    }));
  for (const e of edges.values()) {
    for (const w of warrants) if (w.audience === e.to) e.grants.push(...w.grants);
    e.grants = [...new Map(e.grants.map((g) => [JSON.stringify(g), g])).values()];
  }
  sendJson(res, 200, {
    txn,
    nodes: [...nodes.values()],
    edges: [...edges.values()],
    decisions: views,
    warrants,
  });
  return true;
};

function parseGrants(json: string | null): unknown[] {
  if (json === null) return [];
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}
