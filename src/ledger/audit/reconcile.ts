/**
 * `reconcile`: two deployments' ledger exports side by side (DESIGN §11). A chain that crossed from A into
 * B carries A's links into B's decision records (with their `iss` and the `boundary`), so the two ledgers
 * share chain hashes: the warrant A's agent handed across is the last link of the call A's gateway recorded
 * and a link of every call B's gateway recorded under it.
 *
 * - Each side is proven against its own trust anchor first (`verifyExport`: canonical records, rebuilt
 *   Merkle tree, signed checkpoints from the side's pinned key), so a record removed, changed or added on
 *   one side fails that side's proof.
 * - Decision records are matched by shared chain hashes: records are grouped by the deepest link their
 *   chain shares with the other side (the hand-off), one group per hand-off with each side's records.
 * - What one side recorded and the other did not: a record of B whose chain crossed from A (its
 *   `boundary`, with A's actors) whose hand-off no record of A holds; and an allowed call of A addressed to
 *   one of B's agents (a recipient in a trust domain of B's own actors) whose warrant no record of B holds
 *   — and the same the other way round.
 *
 * It never throws on the files' content.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ExportProblem } from './verify-export/types.ts';
import { verifyExportFile } from './verify-export.ts';

/** One decision record as reconciliation reads it. */
export interface RecordRef {
  readonly index: number;
  readonly id: string;
  readonly time: string;
  readonly decision: string;
  readonly caller: string;
  readonly recipient: string;
  readonly action?: string;
  readonly txn?: string;
  /** The chain's link hashes, root → leaf. */
  readonly chain: readonly string[];
}

interface ChainLink {
  readonly hash: string;
  readonly actor: string;
  readonly iss?: string;
}

interface Read extends RecordRef {
  readonly links: readonly ChainLink[];
  readonly boundary: { readonly index: number; readonly peer: string } | undefined;
}

export interface SideReport {
  readonly file: string;
  /** The export verified against the side's own key (records, tree, checkpoints). */
  readonly verified: boolean;
  readonly problems: readonly ExportProblem[];
  readonly records: number;
  /** Decision records that share a chain hash with the other side. */
  readonly shared: number;
}

export interface Match {
  /** The deepest link both sides' chains hold: the warrant handed across. */
  readonly hash: string;
  readonly a: readonly RecordRef[];
  readonly b: readonly RecordRef[];
}

export interface OneSided {
  readonly record: RecordRef;
  readonly reason: string;
}

export interface Reconciliation {
  /** Both sides verify and every crossing record has its counterpart. */
  readonly ok: boolean;
  readonly a: SideReport;
  readonly b: SideReport;
  readonly matches: readonly Match[];
  /** Recorded by A, not by B; recorded by B, not by A. */
  readonly onlyA: readonly OneSided[];
  readonly onlyB: readonly OneSided[];
}

export interface ReconcileOptions {
  readonly keysA: readonly string[];
  readonly keysB: readonly string[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The decision records of an export that carry a chain (lines that do not parse are the proof's to report). */
async function readDecisions(file: string): Promise<Read[]> {
  const out: Read[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.startsWith('{"type":"record"')) continue;
    let parsed: { index?: unknown; record?: Record<string, unknown> };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue;
    }
    const r = parsed.record;
    if (r === undefined || r['kind'] !== 'decision' || !Array.isArray(r['chain'])) continue;
    const links = (r['chain'] as unknown[]).filter(
      (l): l is ChainLink => typeof l === 'object' && l !== null && typeof (l as ChainLink).hash === 'string',
    );
    if (links.length === 0) continue;
    const b = r['boundary'] as { index?: unknown; peer?: unknown } | undefined;
    out.push({
      index: typeof parsed.index === 'number' ? parsed.index : -1,
      id: str(r['id']),
      time: str(r['time']),
      decision: str(r['decision']),
      caller: str(r['caller']),
      recipient: str(r['recipient']),
      ...(typeof r['action'] === 'string' ? { action: r['action'] } : {}),
      ...(typeof r['txn'] === 'string' ? { txn: r['txn'] } : {}),
      chain: links.map((l) => l.hash),
      links,
      boundary:
        b && typeof b.index === 'number' && typeof b.peer === 'string'
          ? { index: b.index, peer: b.peer }
          : undefined,
    });
  }
  return out;
}

const ref = (r: Read): RecordRef => {
  const { links: _links, boundary: _boundary, ...rest } = r;
  return rest;
};

/** The SPIFFE trust domain of an id, or undefined. */
function trustDomain(id: string): string | undefined {
  if (!id.startsWith('spiffe://')) return undefined;
  return id.slice('spiffe://'.length).split('/')[0] || undefined;
}

/** The trust domains of a side's own agents: actors of the links it issued itself (no `iss` recorded). */
function ownDomains(records: readonly Read[]): Set<string> {
  const domains = new Set<string>();
  for (const r of records)
    for (const l of r.links) {
      if (l.iss !== undefined) continue;
      const d = trustDomain(l.actor);
      if (d !== undefined) domains.add(d);
    }
  return domains;
}

/**
 * What `x` recorded that `y` should hold too and does not. Whose agents are whose is read from the records:
 * a side's own agents are the actors of the links it issued (no `iss` recorded). When `y` shows none (it
 * recorded nothing with a chain), every crossing record of `x` is expected at `y`.
 */
function oneSided(x: readonly Read[], y: readonly Read[], yName: string): OneSided[] {
  const yLinks = new Set(y.flatMap((r) => r.chain));
  const yLeaves = new Set(y.map((r) => r.chain.at(-1)!));
  const xDomains = ownDomains(x);
  const yDomains = ownDomains(y);
  const ofY = (id: string): boolean => {
    const d = trustDomain(id);
    return d !== undefined && !xDomains.has(d) && (yDomains.size === 0 || yDomains.has(d));
  };
  const out: OneSided[] = [];
  for (const r of x) {
    // A chain that crossed into x from y: y should hold the call that handed its last peer link over.
    if (r.boundary !== undefined && r.boundary.index > 0) {
      const peerLinks = r.links.slice(0, r.boundary.index);
      const handOff = peerLinks.at(-1)!.hash;
      if (peerLinks.some((l) => ofY(l.actor)) && !yLeaves.has(handOff))
        out.push({
          record: ref(r),
          reason: `its chain crossed from ${r.boundary.peer}, but no record of ${yName} holds the call that handed over ${handOff}`,
        });
      continue;
    }
    // An allowed call of x addressed to an agent of y: y should have recorded calls under its warrant.
    const leaf = r.chain.at(-1)!;
    if (r.decision === 'allow' && ofY(r.recipient) && !yLinks.has(leaf))
      out.push({
        record: ref(r),
        reason: `an allowed call to ${r.recipient}, whose warrant ${leaf} no record of ${yName} holds`,
      });
  }
  return out;
}

/** Reconciles export `fileA` (deployment A) with `fileB` (deployment B). */
export async function reconcileExports(
  fileA: string,
  fileB: string,
  options: ReconcileOptions,
): Promise<Reconciliation> {
  const [va, vb, ra, rb] = await Promise.all([
    verifyExportFile(fileA, { verifierKeys: options.keysA }),
    verifyExportFile(fileB, { verifierKeys: options.keysB }),
    readDecisions(fileA),
    readDecisions(fileB),
  ]);
  const linksA = new Set(ra.flatMap((r) => r.chain));
  const linksB = new Set(rb.flatMap((r) => r.chain));
  const groups = new Map<string, { a: RecordRef[]; b: RecordRef[] }>();
  const handOff = (r: Read, other: Set<string>): string | undefined => r.chain.findLast((h) => other.has(h));
  let sharedA = 0;
  let sharedB = 0;
  for (const r of ra) {
    const h = handOff(r, linksB);
    if (h === undefined) continue;
    sharedA++;
    if (!groups.has(h)) groups.set(h, { a: [], b: [] });
    groups.get(h)!.a.push(ref(r));
  }
  for (const r of rb) {
    const h = handOff(r, linksA);
    if (h === undefined) continue;
    sharedB++;
    if (!groups.has(h)) groups.set(h, { a: [], b: [] });
    groups.get(h)!.b.push(ref(r));
  }
  const matches = [...groups.entries()].map(([hash, g]) => ({ hash, a: g.a, b: g.b }));
  const onlyA = oneSided(ra, rb, 'B');
  const onlyB = oneSided(rb, ra, 'A');
  const side = (file: string, v: typeof va, records: number, shared: number): SideReport => ({
    file,
    verified: v.ok,
    problems: v.problems,
    records,
    shared,
  });
  return {
    ok: va.ok && vb.ok && onlyA.length === 0 && onlyB.length === 0,
    a: side(fileA, va, va.records, sharedA),
    b: side(fileB, vb, vb.records, sharedB),
    matches,
    onlyA,
    onlyB,
  };
}

/** The text report. */
export function reconciliationText(r: Reconciliation): string {
  const lines: string[] = [];
  const sideLine = (name: string, s: SideReport) =>
    `${name} ${s.file}: ${s.verified ? 'verified against its key' : 'DOES NOT VERIFY'} — ${s.records} records, ${s.shared} sharing chain hashes with the other side`;
  lines.push(sideLine('A', r.a), sideLine('B', r.b));
  for (const [name, s] of [
    ['A', r.a],
    ['B', r.b],
  ] as const)
    for (const p of s.problems) lines.push(`  ${name}: ${p.message} (${p.code})`);
  lines.push('', `matched: ${r.matches.length} hand-off(s)`);
  for (const m of r.matches) {
    lines.push(`  ${m.hash}: A ${m.a.length} record(s), B ${m.b.length} record(s)`);
    for (const x of m.a)
      lines.push(`    A #${x.index} ${x.decision} ${x.caller} → ${x.recipient} ${x.action ?? ''}`);
    for (const x of m.b)
      lines.push(`    B #${x.index} ${x.decision} ${x.caller} → ${x.recipient} ${x.action ?? ''}`);
  }
  const list = (title: string, items: readonly OneSided[]) => {
    lines.push('', `${title}: ${items.length}`);
    for (const o of items) lines.push(`  #${o.record.index} ${o.record.id} (${o.record.time}): ${o.reason}`);
  };
  list('recorded by A, not by B', r.onlyA);
  list('recorded by B, not by A', r.onlyB);
  lines.push('', r.ok ? 'reconciled: both sides verify and agree' : 'NOT reconciled: see the problems above');
  return `${lines.join('\n')}\n`;
}
