import { useCallback, useEffect, useState } from 'react';
import { ConfirmButton, ErrorText, Outcome } from '../components.tsx';
import { getJson, message, send } from '../lib/api.ts';
import { shortAgent, time } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';
import type { Approval, Me } from '../lib/types.ts';

/** Approvals: the pending requests with their chain, action, parameters and risk; approve or deny. */
export function ApprovalsPage({ me }: { me: Me }) {
  const [status, setStatus] = useState('pending');
  const [items, setItems] = useState<Approval[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => {
    getJson<{ approvals: Approval[] }>(`/approvals${status ? `?status=${status}` : ''}`).then(
      (r) => setItems(r.approvals),
      (e) => setError(message(e)),
    );
  }, [status]);
  useEffect(() => {
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [load]);
  return (
    <section aria-labelledby="approvals-heading">
      <h1 id="approvals-heading">Approvals</h1>
      <p className="hint">
        {me.role === 'operator'
          ? 'Every approval. You decide those addressed to a group; a person decides their own.'
          : 'The approvals addressed to you.'}
      </p>
      <label htmlFor="approval-status">Status</label>{' '}
      <select id="approval-status" value={status} onChange={(e) => setStatus(e.target.value)}>
        {['pending', 'approved', 'denied', 'used', 'expired', 'withdrawn', ''].map((s) => (
          <option key={s} value={s}>
            {s === '' ? 'any' : s}
          </option>
        ))}
      </select>
      {error && <ErrorText text={error} />}
      {items?.length === 0 && <p>No approvals.</p>}
      {items?.map((a) => (
        <ApprovalCard key={a.id} approval={a} onDecided={load} />
      ))}
    </section>
  );
}

function ApprovalCard({ approval: a, onDecided }: { approval: Approval; onDecided: () => void }) {
  const [reason, setReason] = useState('');
  const [maxima, setMaxima] = useState('');
  const [window, setWindow] = useState('');
  const [error, setError] = useState<string>();
  // The call's own parameters (the approval shows the bound call: action, resource, parameters).
  const inner = a.parameters['parameters'];
  const callParameters =
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? (inner as Record<string, unknown>)
      : a.parameters;
  const numeric = Object.entries(callParameters).filter(([, v]) => typeof v === 'number');
  const decide = async (verb: 'approve' | 'deny') => {
    setError(undefined);
    if (reason.trim() === '') throw new Error('give a reason');
    const narrow: { constraints?: Record<string, number>; windowSeconds?: number } = {};
    if (verb === 'approve' && maxima.trim() !== '' && numeric[0])
      narrow.constraints = { [`max_${numeric[0][0]}`]: Number(maxima) };
    if (verb === 'approve' && window.trim() !== '') narrow.windowSeconds = Number(window);
    await send('POST', `/approvals/${encodeURIComponent(a.id)}/${verb}`, {
      reason,
      ...(Object.keys(narrow).length > 0 ? { narrow } : {}),
    });
    onDecided();
  };
  const id = `approval-${a.id}`;
  return (
    <article className="card" aria-labelledby={id} data-testid="approval" data-approval-id={a.id}>
      <h2 id={id}>
        <code>{a.action}</code> <Outcome value={a.status} />
      </h2>
      <dl className="fields">
        <div>
          <dt>Person</dt>
          <dd>{a.person?.sub ?? '—'}</dd>
        </div>
        <div>
          <dt>Chain</dt>
          <dd>
            {a.chain.map((c, i) => (
              <span // biome-ignore lint/suspicious/noArrayIndexKey: a chain may name one agent twice; its position is its identity
                key={`${i}-${c}`}
                className="hop"
                title={c}
              >
                {shortAgent(c)}
              </span>
            ))}
          </dd>
        </div>
        <div>
          <dt>Resource</dt>
          <dd>{a.resource}</dd>
        </div>
        <div>
          <dt>Parameters</dt>
          <dd>
            <table className="params">
              <tbody>
                {Object.entries(a.parameters).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td>{typeof v === 'string' ? v : JSON.stringify(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </dd>
        </div>
        <div>
          <dt>Risk</dt>
          <dd>
            {a.risk} (bound {a.bound}): {a.factors.map((f) => `${f.name} ${f.points}`).join(', ')}
          </dd>
        </div>
        <div>
          <dt>Transaction</dt>
          <dd>
            <Link to={`/ui/lineage/${encodeURIComponent(a.txn)}`}>{a.txn}</Link>
          </dd>
        </div>
        <div>
          <dt>Addressed to</dt>
          <dd>{a.addressed_to}</dd>
        </div>
        <div>
          <dt>Expires</dt>
          <dd>{time(a.expires_at)}</dd>
        </div>
        {a.decided_by && (
          <div>
            <dt>Decided by</dt>
            <dd>
              {a.decided_by}: {a.reason}
            </dd>
          </div>
        )}
      </dl>
      {a.status === 'pending' && (
        <div className="decide">
          <label htmlFor={`${id}-reason`}>Reason</label>
          <input
            id={`${id}-reason`}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            maxLength={500}
          />
          {numeric[0] && (
            <>
              <label htmlFor={`${id}-max`}>Narrow: at most ({numeric[0][0]})</label>
              <input
                id={`${id}-max`}
                inputMode="numeric"
                value={maxima}
                onChange={(e) => setMaxima(e.target.value)}
              />
            </>
          )}
          <label htmlFor={`${id}-window`}>Narrow: usable for (seconds)</label>
          <input
            id={`${id}-window`}
            inputMode="numeric"
            value={window}
            onChange={(e) => setWindow(e.target.value)}
          />
          <ConfirmButton
            label="Approve"
            confirm={`Approve ${a.action}?`}
            onConfirm={() => decide('approve')}
          />{' '}
          <ConfirmButton label="Deny" danger confirm={`Deny ${a.action}?`} onConfirm={() => decide('deny')} />
        </div>
      )}
      {error && <ErrorText text={error} />}
    </article>
  );
}
