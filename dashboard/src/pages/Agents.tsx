import { useCallback, useEffect, useState } from 'react';
import { ConfirmButton, ErrorText, Fields, Json } from '../components.tsx';
import { getJson, message, send } from '../lib/api.ts';
import { time } from '../lib/format.ts';
import type { Agent, Breaker, TrustAnswer } from '../lib/types.ts';

interface BreakersAnswer {
  open: Breaker[];
  history: { key?: string; kind?: string; at?: number; [k: string]: unknown }[];
}

/** Agents: identity, tier, trust, autonomy, breakers and budgets; reset, pin, disable, contain. */
export function AgentsPage() {
  const [agents, setAgents] = useState<Agent[]>();
  const [breakers, setBreakers] = useState<BreakersAnswer>();
  const [budgets, setBudgets] = useState<unknown[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => {
    getJson<{ items: Agent[] }>('/admin/agents?limit=200').then(
      (r) => setAgents(r.items),
      (e) => setError(message(e)),
    );
    getJson<BreakersAnswer>('/admin/breakers').then(setBreakers, (e) => setError(message(e)));
    getJson<{ items: unknown[] }>('/admin/budgets').then(
      (r) => setBudgets(r.items),
      (e) => setError(message(e)),
    );
  }, []);
  useEffect(load, [load]);
  return (
    <section aria-labelledby="agents-heading">
      <h1 id="agents-heading">Agents</h1>
      {error && <ErrorText text={error} />}
      <h2>Circuit breakers</h2>
      {breakers?.open.length === 0 && <p>No breaker is open.</p>}
      <ul>
        {breakers?.open.map((b) => (
          <li key={b.key} data-testid="breaker">
            <code>{b.key}</code> {b.state} {b.trigger ? `(${b.trigger})` : ''}{' '}
            {b.until ? `until ${time(b.until)}` : ''}{' '}
            <ConfirmButton
              label="Reset"
              confirm={`Close breaker ${b.key}?`}
              onConfirm={async () => {
                await send('POST', '/admin/breakers/reset', {
                  key: b.key,
                  reason: 'reset from the dashboard',
                });
                load();
              }}
            />
          </li>
        ))}
      </ul>
      <h2>Budgets</h2>
      {budgets?.length === 0 ? <p>No budget is configured.</p> : <Json value={budgets} />}
      <h2>Agents ({agents?.length ?? '…'})</h2>
      {agents?.map((a) => (
        <AgentCard key={a.id} agent={a} onChanged={load} />
      ))}
    </section>
  );
}

function AgentCard({ agent: a, onChanged }: { agent: Agent; onChanged: () => void }) {
  const [trust, setTrust] = useState<TrustAnswer>();
  const [autonomy, setAutonomy] = useState<{ digest: string; statement: unknown }>();
  const [open, setOpen] = useState(false);
  const [level, setLevel] = useState(String(a.trustLevel));
  const [note, setNote] = useState<string>();
  const ref = encodeURIComponent(a.id);
  useEffect(() => {
    if (!open) return;
    getJson<TrustAnswer>(`/admin/agents/${ref}/trust`).then(setTrust, () => {});
    getJson<{ digest: string; statement: unknown }>(`/admin/agents/${ref}/autonomy`).then(
      setAutonomy,
      () => {},
    );
  }, [open, ref]);
  const id = `agent-${a.name}`;
  return (
    <article className="card" aria-labelledby={id} data-testid="agent" data-agent={a.name}>
      <h3 id={id}>
        {a.name} <span className={`badge badge-${a.status}`}>{a.status}</span>
      </h3>
      <Fields
        rows={[
          ['Identity', <code key="i">{a.id}</code>],
          ['Owner', a.owner],
          ['Tier', a.tier],
          ['Trust level', String(trust?.level ?? a.trustLevel) + (trust?.pinned ? ' (pinned)' : '')],
        ]}
      />
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide' : 'Show'} trust history and autonomy statement
      </button>
      {open && (
        <div>
          <h4>Trust</h4>
          <Json value={trust} />
          <h4>Autonomy statement</h4>
          <Json value={autonomy?.statement} />
        </div>
      )}
      <div className="actions">
        <label htmlFor={`${id}-level`}>Trust level</label>
        <input
          id={`${id}-level`}
          inputMode="numeric"
          size={3}
          value={level}
          onChange={(e) => setLevel(e.target.value)}
        />
        <ConfirmButton
          label="Pin trust level"
          confirm={`Pin ${a.name} at level ${level}?`}
          onConfirm={async () => {
            await send('POST', `/admin/agents/${ref}/trust`, {
              level: Number(level),
              pin: true,
              reason: 'pinned from the dashboard',
            });
            setNote(`Pinned at ${level}.`);
            onChanged();
          }}
        />{' '}
        <ConfirmButton
          label="Reset agent breaker"
          confirm={`Close the breaker of ${a.name}?`}
          onConfirm={async () => {
            await send('POST', '/admin/breakers/reset', {
              key: `agent:${a.id}`,
              reason: 'reset from the dashboard',
            });
            setNote('Breaker reset.');
          }}
        />{' '}
        {a.status === 'active' && (
          <ConfirmButton
            label="Disable agent"
            danger
            confirm={`Disable ${a.name} and revoke its warrants?`}
            onConfirm={async () => {
              const r = await send<{ revoked: number }>('POST', `/admin/agents/${ref}/disable`);
              setNote(`Disabled; ${r.revoked} warrant(s) revoked.`);
              onChanged();
            }}
          />
        )}{' '}
        <ConfirmButton
          label="Contain its work"
          danger
          confirm={`Revoke everything ${a.name} holds or passed on, trip its breakers and roll back?`}
          onConfirm={async () => {
            const r = await send<{ revoked: number }>('POST', '/admin/contain', { agent: a.id });
            setNote(`Contained: ${r.revoked} warrant(s) revoked.`);
          }}
        />
      </div>
      {note && <p role="status">{note}</p>}
    </article>
  );
}
