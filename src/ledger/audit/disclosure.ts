/**
 * `report disclosure`: what was done on a person's behalf in one transaction, as one self-contained HTML
 * page for that person to read (DESIGN §8) — no external assets, no script (a Content-Security-Policy
 * forbids any), the chain drawn as an inline SVG graph (person → agents → tools, with the decisions), every
 * call in a table, and where the records sit in the signed ledger. Every text from the ledger is escaped.
 */
import { Buffer } from 'node:buffer';
import { parseCheckpoint } from '../checkpoint.ts';
import { type AuditSource, describeGrant } from './source.ts';
import { type Trace, type TraceCall, type TraceNode, traceTxn } from './trace.ts';

export interface LedgerInfo {
  readonly origin?: string;
  readonly size?: number;
  /** base64 */
  readonly root?: string;
}

export interface DisclosureOptions {
  /** When the page was produced (default now). */
  readonly now?: Date;
}

/** The disclosure page of transaction `txn` (`WARRANT_AUDIT_NOT_FOUND` when it has no record). */
export async function disclosureReport(
  source: AuditSource,
  txn: string,
  options: DisclosureOptions = {},
): Promise<string> {
  const trace = await traceTxn(source, txn);
  const latest = await source.latestCheckpoint();
  let info: LedgerInfo = {};
  if (latest) {
    try {
      const cp = parseCheckpoint(latest.note);
      info = { origin: cp.origin, size: cp.size, root: Buffer.from(cp.root).toString('base64') };
    } catch {
      info = { size: latest.size };
    }
  }
  return renderDisclosure(trace, info, options);
}

/** HTML-escapes text for element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A readable short name: the last path segment of a SPIFFE ID, the host and path of a URL. */
function shortName(id: string): string {
  if (id.startsWith('spiffe://')) {
    const rest = id.slice('spiffe://'.length);
    const slash = rest.indexOf('/');
    const path = slash < 0 ? rest : rest.slice(slash + 1);
    return path.split('/').filter(Boolean).at(-1) ?? rest;
  }
  try {
    const u = new URL(id);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return id;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

interface Box {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly title: string;
  readonly label: string;
  readonly sub: string;
  readonly kind: 'person' | 'agent' | 'tool';
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly denied: boolean;
  readonly delegation: boolean;
}

const COL = 360;
const ROW = 74;
const W = 190;
/** Edge labels are clipped to the gap between columns (about 6 px a character). */
const LABEL_CHARS = 26;
const H = 48;
const PAD = 24;

function graph(trace: Trace): string {
  const boxes: Box[] = [];
  const edges: Edge[] = [];
  const rows = new Map<number, number>();
  /** The next free row of the column at or below `min` (so a node lines up with its parent when it can). */
  const place = (col: number, min = 0): number => {
    const r = Math.max(rows.get(col) ?? 0, min);
    rows.set(col, r + 1);
    return r;
  };
  const rowOf = new Map<string, number>();
  // A tool sits in the column after the deepest link that called it, so no edge runs through a box row.
  const childActorsOf = (n: TraceNode) => new Set(n.children.map((c) => c.actor));
  const toolCol = new Map<string, number>();
  const survey = (n: TraceNode) => {
    const childActors = childActorsOf(n);
    for (const k of n.calls) {
      const to = k.recipient ?? 'unknown recipient';
      if (!childActors.has(to)) toolCol.set(to, Math.max(toolCol.get(to) ?? 0, n.depth + 2));
    }
    n.children.forEach(survey);
  };
  trace.roots.forEach(survey);
  const tools = new Map<string, string>();
  const persons = trace.persons.length > 0 ? trace.persons : [{ sub: 'unknown person', iss: '' }];
  for (const [i, p] of persons.entries()) {
    const row = place(0);
    rowOf.set(`person-${i}`, row);
    boxes.push({
      id: `person-${i}`,
      x: PAD,
      y: PAD + row * ROW,
      title: `${p.sub} (${p.iss})`,
      label: p.sub,
      sub: 'person',
      kind: 'person',
    });
  }
  const personOf = (n: TraceNode): string => {
    const p = n.persons[0];
    const i = p ? persons.findIndex((q) => q.sub === p.sub && q.iss === p.iss) : 0;
    return `person-${Math.max(0, i)}`;
  };
  const add = (n: TraceNode, parent: string | null) => {
    const id = `link-${n.hash}`;
    const row = place(n.depth + 1, rowOf.get(parent ?? personOf(n)) ?? 0);
    rowOf.set(id, row);
    boxes.push({
      id,
      x: PAD + (n.depth + 1) * COL,
      y: PAD + row * ROW,
      title: `${n.actor} — link ${n.hash}`,
      label: shortName(n.actor),
      sub: `agent · link ${n.hash.slice(0, 8)}`,
      kind: 'agent',
    });
    const childActors = childActorsOf(n);
    if (parent === null)
      edges.push({ from: personOf(n), to: id, label: 'authorised', denied: false, delegation: true });
    for (const c of n.children) {
      const calls = n.calls.filter((k) => k.recipient === c.actor);
      add(c, id);
      edges.push({
        from: id,
        to: `link-${c.hash}`,
        label: callLabel('delegated', calls),
        denied: calls.some(isDenied),
        delegation: true,
      });
    }
    const byRecipient = new Map<string, TraceCall[]>();
    for (const k of n.calls) {
      const to = k.recipient ?? 'unknown recipient';
      if (childActors.has(to)) continue;
      byRecipient.set(to, [...(byRecipient.get(to) ?? []), k]);
    }
    for (const [to, calls] of byRecipient) {
      let tid = tools.get(to);
      if (!tid) {
        tid = `tool-${tools.size}`;
        tools.set(to, tid);
        const col = toolCol.get(to) ?? n.depth + 2;
        const row = place(col, rowOf.get(id) ?? 0);
        boxes.push({
          id: tid,
          x: PAD + col * COL,
          y: PAD + row * ROW,
          title: to,
          label: shortName(to),
          sub: to.startsWith('spiffe://') ? 'agent' : 'tool',
          kind: 'tool',
        });
      }
      edges.push({
        from: id,
        to: tid,
        label: callLabel('', calls),
        denied: calls.some(isDenied),
        delegation: false,
      });
    }
  };
  for (const r of trace.roots) add(r, null);

  const at = new Map(boxes.map((b) => [b.id, b]));
  const width = PAD * 2 + Math.max(0, ...rows.keys()) * COL + W;
  const height = PAD * 2 + Math.max(1, ...rows.values()) * ROW;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="The chain of authority" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#555"/></marker></defs>',
  );
  for (const e of edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W;
    const y1 = a.y + H / 2;
    const x2 = b.x;
    const y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    const color = e.denied ? '#b3261e' : e.delegation ? '#3b5bdb' : '#2b8a3e';
    parts.push(
      `<path d="M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}" fill="none" stroke="${color}" stroke-width="1.6"${e.denied ? ' stroke-dasharray="5 3"' : ''} marker-end="url(#arrow)"/>`,
    );
    if (e.label)
      parts.push(
        `<text x="${mx}" y="${(y1 + y2) / 2 - 5}" text-anchor="middle" class="edge" fill="${color}"><title>${escapeHtml(e.label)}</title>${escapeHtml(clip(e.label, LABEL_CHARS))}</text>`,
      );
  }
  for (const b of boxes) {
    const fill = b.kind === 'person' ? '#fff4d6' : b.kind === 'agent' ? '#e7edff' : '#e6f4ea';
    parts.push(
      `<g><title>${escapeHtml(b.title)}</title><rect x="${b.x}" y="${b.y}" width="${W}" height="${H}" rx="8" fill="${fill}" stroke="#666"/>` +
        `<text x="${b.x + 10}" y="${b.y + 20}" class="label">${escapeHtml(clip(b.label, 26))}</text>` +
        `<text x="${b.x + 10}" y="${b.y + 38}" class="sub">${escapeHtml(clip(b.sub, 32))}</text></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

function isDenied(c: TraceCall): boolean {
  return c.decision !== 'allow';
}

function callLabel(prefix: string, calls: readonly TraceCall[]): string {
  if (calls.length === 0) return prefix;
  const actions = [...new Set(calls.map((c) => c.action ?? 'call'))];
  const denied = calls.filter(isDenied).length;
  const counts = denied > 0 ? ` (${calls.length - denied} allowed, ${denied} refused)` : ` ×${calls.length}`;
  return `${prefix ? `${prefix}; ` : ''}${actions.join(', ')}${counts}`;
}

function chainList(trace: Trace): string {
  const items: string[] = [];
  const walk = (n: TraceNode, parent: TraceNode | null) => {
    const who = `<strong>${escapeHtml(shortName(n.actor))}</strong> <code>${escapeHtml(n.actor)}</code>`;
    const lead =
      parent === null
        ? `You authorised ${who}`
        : `${escapeHtml(shortName(parent.actor))} delegated to ${who}`;
    const grants =
      n.grants.length === 0
        ? ''
        : `<br>allowed to: ${n.grants.map((g) => `<code>${escapeHtml(describeGrant(g))}</code>`).join(', ')}`;
    const calls =
      n.calls.length === 0
        ? ''
        : `<br>made ${n.calls.length} call(s), ${n.calls.filter(isDenied).length} refused`;
    // A chain that crossed organisations (DESIGN §11): the links above were issued by the peer.
    if (parent !== null && parent.issuer !== undefined && n.issuer === undefined)
      items.push(
        `<li class="boundary">Here the work crossed from another organisation: the links above were issued and signed by <code>${escapeHtml(parent.issuer)}</code>, the links below by this organisation.</li>`,
      );
    const from =
      n.issuer === undefined
        ? ''
        : ` <span class="muted">(issued by <code>${escapeHtml(n.issuer)}</code>)</span>`;
    items.push(
      `<li>${lead}${from} <span class="muted">(link <code>${escapeHtml(n.hash)}</code>)</span>${grants}${calls}</li>`,
    );
    for (const c of n.children) walk(c, n);
  };
  for (const r of trace.roots) walk(r, null);
  return `<ol class="chain">${items.join('\n')}</ol>`;
}

function allCalls(trace: Trace): TraceCall[] {
  const out: TraceCall[] = [...trace.unattached];
  const walk = (n: TraceNode) => {
    out.push(...n.calls);
    n.children.forEach(walk);
  };
  trace.roots.forEach(walk);
  return out.sort((a, b) => a.index - b.index);
}

function table(trace: Trace): string {
  const rows = allCalls(trace).map((c) => {
    const cls = isDenied(c) ? 'deny' : 'allow';
    const decision = c.decision === 'allow' ? 'allowed' : c.decision === 'deny' ? 'refused' : c.decision;
    return (
      `<tr class="${cls}"><td>${c.index}</td><td>${escapeHtml(c.time)}</td>` +
      `<td title="${escapeHtml(c.caller ?? '')}">${escapeHtml(shortName(c.caller ?? ''))}</td>` +
      `<td title="${escapeHtml(c.recipient ?? '')}">${escapeHtml(shortName(c.recipient ?? ''))}</td>` +
      `<td><code>${escapeHtml(c.action ?? '')}</code></td><td><code>${escapeHtml(c.resource ?? '')}</code></td>` +
      `<td><strong>${escapeHtml(decision)}</strong></td><td>${escapeHtml(c.reasons.join('; '))}</td>` +
      `<td>${c.used === undefined ? '' : `<code>${escapeHtml(describeGrant(c.used))}</code>`}</td>` +
      `<td>${c.status === undefined ? '' : escapeHtml(c.status)}</td></tr>`
    );
  });
  return (
    '<table><thead><tr><th>#</th><th>time (UTC)</th><th>by</th><th>to</th><th>action</th><th>resource</th>' +
    '<th>decision</th><th>why</th><th>permission used</th><th>status</th></tr></thead>' +
    `<tbody>${rows.join('\n')}</tbody></table>`
  );
}

const STYLE = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;margin:2rem auto;max-width:72rem;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.muted{color:#666}code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#f4f4f6;padding:0 .2em;border-radius:3px;word-break:break-all}
.summary{display:flex;gap:2rem;flex-wrap:wrap;margin:1rem 0}.summary div{background:#f6f7f9;border-radius:8px;padding:.6rem 1rem}
.graph{overflow-x:auto;border:1px solid #ddd;border-radius:8px;padding:.5rem;background:#fff}
svg .label{font:600 13px system-ui,sans-serif;fill:#1d1d1f}svg .sub{font:11px system-ui,sans-serif;fill:#555}svg .edge{font:11px system-ui,sans-serif}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e3e3;padding:.35rem .4rem;text-align:left;vertical-align:top}
tr.deny td{background:#fdecea}ol.chain li{margin-bottom:.6rem}li.boundary{list-style:none;border-top:2px dashed #888;padding-top:.4rem;font-style:italic}
.legend span{margin-right:1.2rem}.legend i{display:inline-block;width:1.6rem;border-top:2px solid;vertical-align:middle;margin-right:.3rem}
`;

/** Renders the page from a trace and where its records sit in the ledger. */
export function renderDisclosure(
  trace: Trace,
  ledger: LedgerInfo = {},
  options: DisclosureOptions = {},
): string {
  const now = (options.now ?? new Date()).toISOString();
  const calls = allCalls(trace);
  const refused = calls.filter(isDenied).length;
  const person = trace.persons
    .map((p) => `<strong>${escapeHtml(p.sub)}</strong> <span class="muted">(${escapeHtml(p.iss)})</span>`)
    .join(', ');
  const tasks =
    trace.tasks.length === 0
      ? ''
      : `<p>Task: ${trace.tasks.map((t) => `<strong>${escapeHtml(t)}</strong>`).join(', ')}</p>`;
  const indices = calls.map((c) => c.index);
  const where =
    ledger.size === undefined
      ? '<p>No signed checkpoint covers these records yet.</p>'
      : `<p>These ${calls.length} decisions are records ${escapeHtml(indices.join(', '))} of the signed ledger ` +
        `<code>${escapeHtml(ledger.origin ?? '')}</code>. Its latest checkpoint covers ${ledger.size} records, ` +
        `root <code>${escapeHtml(ledger.root ?? '')}</code>. Anyone holding the ledger's public key can check that none ` +
        'of them was changed or removed: <code>warrant audit who &lt;record&gt;</code> gives the proof for one, ' +
        '<code>warrant audit verify</code> checks a whole export offline.</p>';
  const anomalies =
    trace.anomalies.length === 0
      ? ''
      : `<h2>Oddities</h2><ul>${trace.anomalies.map((a) => `<li>${escapeHtml(a)}</li>`).join('')}</ul>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>What was done on your behalf: transaction ${escapeHtml(trace.txn)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>What was done on your behalf</h1>
<p class="muted">Transaction <code>${escapeHtml(trace.txn)}</code> · produced ${escapeHtml(now)} from the Warrant audit ledger</p>
<p>On behalf of ${person || 'an unknown person'}, software agents acted ${escapeHtml(trace.first ?? '')} – ${escapeHtml(trace.last ?? '')} (UTC).</p>
${tasks}
<div class="summary"><div><strong>${calls.length}</strong> actions attempted</div><div><strong>${calls.length - refused}</strong> allowed</div><div><strong>${refused}</strong> refused</div></div>
<h2>Who acted for you</h2>
<p class="legend"><span><i style="border-color:#3b5bdb"></i>authority passed on</span><span><i style="border-color:#2b8a3e"></i>calls allowed</span><span><i style="border-color:#b3261e;border-top-style:dashed"></i>some calls refused</span></p>
<div class="graph">
${graph(trace)}
</div>
<h2>The chain of authority</h2>
${chainList(trace)}
<h2>Every action</h2>
${table(trace)}
${anomalies}
<h2>How to check this</h2>
${where}
</body>
</html>
`;
}
