import { useEffect, useState } from 'react';
import { ErrorText, Fields, Json, Outcome } from '../components.tsx';
import { getJson, message } from '../lib/api.ts';
import { shortAgent } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';
import { type ProofResult, verifyRecordProof } from '../lib/verify-proof.ts';

interface RecordAnswer {
  who: {
    index: number;
    person?: { sub: string; iss: string };
    caller?: string;
    recipient?: string;
    action?: string;
    decision?: string;
    code?: string;
    chain: { depth: number; actor: string }[];
    used?: unknown;
    txn?: string;
    policyVersion?: string;
    inclusion: { size: number; proof: string[]; checkpoint: string; root: string } | null;
    unproven?: string;
  };
  canonical: string;
  verifierKeys: string[];
}

/** One ledger record, and its inclusion proof verified in this browser against the signed checkpoint. */
export function RecordPage({ index }: { index: number }) {
  const [data, setData] = useState<RecordAnswer>();
  const [result, setResult] = useState<ProofResult | 'failed'>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    getJson<RecordAnswer>(`/records/${index}`).then(
      async (r) => {
        setData(r);
        if (r.who.inclusion)
          setResult(
            await verifyRecordProof({
              index,
              canonical: r.canonical,
              proof: r.who.inclusion.proof,
              checkpoint: r.who.inclusion.checkpoint,
              verifierKeys: r.verifierKeys,
            }).catch(() => 'failed' as const),
          );
      },
      (e) => setError(message(e)),
    );
  }, [index]);
  if (error) return <ErrorText text={error} />;
  if (!data) return <p>Loading…</p>;
  const w = data.who;
  return (
    <section aria-labelledby="record-heading">
      <h1 id="record-heading">Ledger record #{w.index}</h1>
      <Fields
        rows={[
          ['Person', w.person?.sub ?? '—'],
          ['Chain', w.chain.map((c) => shortAgent(c.actor)).join(' → ') || '—'],
          ['Called', w.recipient ?? '—'],
          ['Action', <code key="a">{w.action ?? '—'}</code>],
          ['Decision', <Outcome key="d" value={w.decision} />],
          ['Code', w.code ?? '—'],
          [
            'Transaction',
            w.txn ? (
              <Link key="t" to={`/ui/lineage/${encodeURIComponent(w.txn)}`}>
                {w.txn}
              </Link>
            ) : (
              '—'
            ),
          ],
          ['Policy', w.policyVersion ?? '—'],
        ]}
      />
      <h2>Inclusion proof</h2>
      {w.inclusion === null ? (
        <p>Not proven yet: {w.unproven}</p>
      ) : (
        <div data-testid="proof">
          <p
            role="status"
            className={result && result !== 'failed' && result.verified ? 'ok' : 'bad'}
            data-testid="proof-status"
          >
            {result === undefined
              ? 'Verifying in this browser…'
              : result === 'failed' || !result.verified
                ? '✗ The proof does NOT verify in this browser'
                : `✓ Verified in this browser: the record is leaf ${w.index} of the tree of ${result.size} records signed by ${result.signedBy.length} known key(s)`}
          </p>
          {result && result !== 'failed' && (
            <ul>
              <li>record text carries its index: {result.leafMatches ? 'yes' : 'no'}</li>
              <li>proof leads to the checkpoint's root: {result.rootMatches ? 'yes' : 'no'}</li>
              <li>checkpoint signed by: {result.signedBy.join(', ') || 'no known key'}</li>
            </ul>
          )}
          <p className="hint">
            Compare the verifier key with <code>npx warrant audit key</code> before trusting it.
          </p>
          <h3>Checkpoint</h3>
          <pre className="json">{w.inclusion.checkpoint}</pre>
        </div>
      )}
      <details>
        <summary>Canonical record</summary>
        <pre className="json">{data.canonical}</pre>
      </details>
      {w.used !== undefined && (
        <details>
          <summary>Grant used</summary>
          <Json value={w.used} />
        </details>
      )}
    </section>
  );
}
