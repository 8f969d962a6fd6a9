import { useEffect, useMemo, useState } from 'react';
import { ErrorText, Outcome } from '../components.tsx';
import { getJson, message } from '../lib/api.ts';
import { shortAgent, time } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';
import type { DecisionView, Me } from '../lib/types.ts';

const OUTCOMES = ['', 'allow', 'deny', 'approval_required', 'contained'];
const MAX_ROWS = 300;

/** Live decisions: the recent ones, then each new one as the ledger records it (Server-Sent Events). */
export function DecisionsPage({ me }: { me: Me }) {
  const [filters, setFilters] = useState({ person: '', agent: '', action: '', outcome: '' });
  const [applied, setApplied] = useState(filters);
  const [rows, setRows] = useState<DecisionView[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string>();
  const query = useMemo(() => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(applied)) if (v !== '') q.set(k, v);
    return q.toString();
  }, [applied]);

  useEffect(() => {
    let closed = false;
    setError(undefined);
    getJson<{ items: DecisionView[] }>(`/decisions?${query}`).then(
      (r) => !closed && setRows(r.items),
      (e) => setError(message(e)),
    );
    const source = new EventSource(`/ui/api/decisions/stream?${query}`);
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    source.addEventListener('decision', (event) => {
      const view = JSON.parse((event as MessageEvent<string>).data) as DecisionView;
      setRows((old) => (old.some((r) => r.index === view.index) ? old : [view, ...old].slice(0, MAX_ROWS)));
    });
    return () => {
      closed = true;
      source.close();
    };
  }, [query]);

  return (
    <section aria-labelledby="decisions-heading">
      <h1 id="decisions-heading">Live decisions</h1>
      <p className="hint">
        {me.role === 'operator'
          ? 'Every decision the gateways record.'
          : 'The decisions made on your behalf.'}{' '}
        <span className={live ? 'live on' : 'live'} aria-live="polite" data-testid="live-status">
          {live ? '● live' : '○ connecting'}
        </span>
      </p>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(filters);
        }}
      >
        {(['person', 'agent', 'action'] as const).map((name) => (
          <span key={name}>
            <label htmlFor={`filter-${name}`}>{name[0]!.toUpperCase() + name.slice(1)}</label>
            <input
              id={`filter-${name}`}
              value={filters[name]}
              onChange={(e) => setFilters({ ...filters, [name]: e.target.value })}
            />
          </span>
        ))}
        <span>
          <label htmlFor="filter-outcome">Outcome</label>
          <select
            id="filter-outcome"
            value={filters.outcome}
            onChange={(e) => setFilters({ ...filters, outcome: e.target.value })}
          >
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o === '' ? 'any' : o}
              </option>
            ))}
          </select>
        </span>
        <button type="submit">Filter</button>
      </form>
      {error && <ErrorText text={error} />}
      <table className="decisions">
        <caption className="sr-only">Decisions, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Person</th>
            <th scope="col">Actor chain</th>
            <th scope="col">Action</th>
            <th scope="col">Outcome</th>
            <th scope="col">Risk</th>
            <th scope="col">Transaction</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.index} data-testid="decision-row" data-action={d.action ?? ''}>
              <td>
                <Link to={`/ui/records/${d.index}`}>{d.index}</Link>
              </td>
              <td>{time(d.time)}</td>
              <td>{d.person?.sub ?? '—'}</td>
              <td>
                {d.chain.map((a, i) => (
                  <span // biome-ignore lint/suspicious/noArrayIndexKey: a chain may name one agent twice; its position is its identity
                    key={`${i}-${a}`}
                    title={a}
                    className="hop"
                  >
                    {shortAgent(a)}
                  </span>
                ))}
                {d.recipient && (
                  <span className="hop tool" title={d.recipient}>
                    {shortAgent(d.recipient)}
                  </span>
                )}
              </td>
              <td>
                <code>{d.action ?? '—'}</code>
                {d.task && <div className="task">task: {d.task}</div>}
              </td>
              <td>
                <Outcome value={d.decision} />
                {d.code && <div className="code">{d.code}</div>}
              </td>
              <td>
                {d.risk ? (
                  <details>
                    <summary>{d.risk.score}</summary>
                    <ul className="factors">
                      {d.risk.factors.map((f) => (
                        <li key={f.name}>
                          {f.name}: {f.points}
                        </li>
                      ))}
                    </ul>
                  </details>
                ) : (
                  '—'
                )}
              </td>
              <td>
                {d.txn ? (
                  <Link to={`/ui/lineage/${encodeURIComponent(d.txn)}`}>{d.txn.slice(0, 16)}…</Link>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p>No decisions yet.</p>}
    </section>
  );
}
