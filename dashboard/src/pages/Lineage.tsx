import { type FormEvent, useEffect, useState } from 'react';
import { ConfirmButton, ErrorText, Json, Outcome } from '../components.tsx';
import { getJson, message, send } from '../lib/api.ts';
import { grantText, shortAgent } from '../lib/format.ts';
import { Link, navigate } from '../lib/router.tsx';
import type { DecisionView, LineageEdge, LineageNode, Me } from '../lib/types.ts';

interface Lineage {
  txn: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
  decisions: DecisionView[];
  warrants: { hash: string; holder: string | null; audience: string; grants: unknown[]; revoked: boolean }[];
}

/** Lineage: a transaction as a graph person → agents → tools, each hop with its grants and decisions. */
export function LineagePage({ me, txn }: { me: Me; txn: string | undefined }) {
  const [input, setInput] = useState(txn ?? '');
  const [data, setData] = useState<Lineage>();
  const [error, setError] = useState<string>();
  const [contained, setContained] = useState<string>();
  useEffect(() => {
    setData(undefined);
    setError(undefined);
    if (txn === undefined) return;
    getJson<Lineage>(`/lineage/${encodeURIComponent(txn)}`).then(setData, (e) => setError(message(e)));
  }, [txn]);
  const open = (e: FormEvent) => {
    e.preventDefault();
    if (input.trim() !== '') navigate(`/ui/lineage/${encodeURIComponent(input.trim())}`);
  };
  return (
    <section aria-labelledby="lineage-heading">
      <h1 id="lineage-heading">Lineage</h1>
      <form onSubmit={open} className="filters">
        <span>
          <label htmlFor="txn">Transaction</label>
          <input id="txn" value={input} onChange={(e) => setInput(e.target.value)} size={40} />
        </span>
        <button type="submit">Open</button>
      </form>
      {txn === undefined && <p className="hint">Open a transaction from Live decisions, or give its id.</p>}
      {error && <ErrorText text={error} />}
      {data && (
        <>
          <Graph nodes={data.nodes} edges={data.edges} />
          {me.role === 'operator' && (
            <p>
              <ConfirmButton
                label="Contain this transaction"
                danger
                confirm={`Revoke every warrant of ${data.txn}, trip its breaker and roll back what can be undone?`}
                onConfirm={async () => {
                  const r = await send<{ revoked: number }>('POST', '/admin/contain', { txn: data.txn });
                  setContained(`Contained: ${r.revoked} warrant(s) revoked.`);
                }}
              />
              {contained && (
                <span role="status" data-testid="contained">
                  {' '}
                  {contained}
                </span>
              )}
            </p>
          )}
          <h2>Hops</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Grants</th>
                <th scope="col">Decisions</th>
              </tr>
            </thead>
            <tbody>
              {data.edges.map((e) => (
                <tr key={`${e.from} ${e.to}`} data-testid="hop">
                  <td title={e.from}>{shortAgent(e.from)}</td>
                  <td title={e.to}>{shortAgent(e.to)}</td>
                  <td>
                    <ul className="grants">
                      {e.grants.map((g) => (
                        <li key={grantText(g)}>{grantText(g)}</li>
                      ))}
                    </ul>
                  </td>
                  <td>
                    <ul className="grants">
                      {e.decisions.map((d) => (
                        <li key={d.index}>
                          <Link to={`/ui/records/${d.index}`} data-testid="record-link">
                            #{d.index}
                          </Link>{' '}
                          <code>{d.action}</code> <Outcome value={d.decision} /> {d.code}
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <details>
            <summary>Warrants of the transaction ({data.warrants.length})</summary>
            <Json value={data.warrants} />
          </details>
        </>
      )}
    </section>
  );
}

const COLUMN = 250;
const ROW = 64;

/** The graph, column by depth from the person; every label is SVG text (never markup). */
function Graph({ nodes, edges }: { nodes: LineageNode[]; edges: LineageEdge[] }) {
  const depth = new Map<string, number>();
  for (const n of nodes) if (n.kind === 'person') depth.set(n.id, 0);
  for (let round = 0; round < nodes.length; round++)
    for (const e of edges) {
      const d = depth.get(e.from);
      if (d !== undefined && (depth.get(e.to) ?? -1) < d + 1 && e.to !== e.from)
        depth.set(e.to, Math.min(d + 1, 8));
    }
  const columns = new Map<number, string[]>();
  for (const n of nodes) {
    const d = depth.get(n.id) ?? 0;
    columns.set(d, [...(columns.get(d) ?? []), n.id]);
  }
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, ids] of columns)
    for (const [i, id] of ids.entries()) pos.set(id, { x: 20 + d * COLUMN, y: 30 + i * ROW });
  const width = 40 + Math.max(...columns.keys(), 0) * COLUMN + 210;
  const height = 40 + Math.max(...[...columns.values()].map((c) => c.length), 1) * ROW;
  const kind = new Map(nodes.map((n) => [n.id, n.kind]));
  return (
    <figure>
      <svg
        role="img"
        aria-label={`Delegation graph: ${edges.map((e) => `${shortAgent(e.from)} to ${shortAgent(e.to)}`).join('; ')}`}
        width={width}
        height={height}
        className="graph"
        data-testid="lineage-graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="8"
            markerHeight="8"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" className="arrowhead" />
          </marker>
        </defs>
        {edges.map((e) => {
          const a = pos.get(e.from);
          const b = pos.get(e.to);
          if (!a || !b) return null;
          const denied = e.decisions.some((d) => d.decision !== 'allow');
          return (
            <line
              key={`${e.from} ${e.to}`}
              x1={a.x + 200}
              y1={a.y + 16}
              x2={b.x}
              y2={b.y + 16}
              className={denied ? 'edge denied' : 'edge'}
              markerEnd="url(#arrow)"
            />
          );
        })}
        {nodes.map((n) => {
          const p = pos.get(n.id)!;
          return (
            <g key={n.id} transform={`translate(${p.x},${p.y})`}>
              <title>{n.id}</title>
              <rect width="200" height="32" rx="6" className={`node node-${kind.get(n.id)}`} />
              <text x="10" y="21">
                {`${n.kind === 'person' ? 'person: ' : n.kind === 'tool' ? 'tool: ' : ''}${shortAgent(n.id.replace(/^person:/, '')).slice(0, 26)}`}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>Person → agents → tools; red edges carry a refused call.</figcaption>
    </figure>
  );
}
