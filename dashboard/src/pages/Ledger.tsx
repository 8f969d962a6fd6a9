import { useEffect, useState } from 'react';
import { ErrorText, Fields } from '../components.tsx';
import { getJson, message } from '../lib/api.ts';
import { time } from '../lib/format.ts';
import type { Me } from '../lib/types.ts';
import { parseNote, verifyNoteSignature } from '../lib/verify-proof.ts';

interface LedgerAnswer {
  records: number;
  checkpoint: { size: number; root: string; note: string; time: number } | null;
  signers: string[];
  verifierKeys: string[];
  witnesses: string[];
  verification: { status: string; detail: string };
}

/** Ledger: the latest checkpoint, who signed it, its verification (on the server and here), export. */
export function LedgerPage({ me }: { me: Me }) {
  const [data, setData] = useState<LedgerAnswer>();
  const [browser, setBrowser] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    getJson<LedgerAnswer>('/ledger').then(
      async (r) => {
        setData(r);
        if (r.checkpoint) {
          const note = parseNote(r.checkpoint.note);
          const ok: string[] = [];
          for (const k of [...r.verifierKeys, ...r.witnesses])
            if (await verifyNoteSignature(note, k).catch(() => false)) ok.push(k);
          setBrowser(
            ok.length > 0
              ? `✓ signature verified in this browser by ${ok.length} key(s)`
              : '✗ no known key verifies',
          );
        }
      },
      (e) => setError(message(e)),
    );
  }, []);
  if (error) return <ErrorText text={error} />;
  if (!data) return <p>Loading…</p>;
  return (
    <section aria-labelledby="ledger-heading">
      <h1 id="ledger-heading">Ledger</h1>
      <Fields
        rows={[
          ['Records', String(data.records)],
          [
            'Latest checkpoint',
            data.checkpoint ? `${data.checkpoint.size} records, ${time(data.checkpoint.time)}` : 'none yet',
          ],
          ['Root', data.checkpoint ? <code key="r">{data.checkpoint.root}</code> : '—'],
          ['Signed by', data.signers.join(', ') || '—'],
          ['Witnesses configured', String(data.witnesses.length)],
          [
            'Server verification',
            <span
              key="v"
              data-testid="ledger-verification"
            >{`${data.verification.status}: ${data.verification.detail}`}</span>,
          ],
          [
            'Browser verification',
            <span key="b" data-testid="ledger-browser">
              {browser ?? '—'}
            </span>,
          ],
        ]}
      />
      <h2>Verifier keys</h2>
      <ul>
        {data.verifierKeys.map((k) => (
          <li key={k}>
            <code>{k}</code>
          </li>
        ))}
      </ul>
      <p className="hint">
        Compare with <code>npx warrant audit key</code>.
      </p>
      {data.checkpoint && (
        <>
          <h2>Checkpoint note</h2>
          <pre className="json">{data.checkpoint.note}</pre>
        </>
      )}
      {me.role === 'operator' && (
        <p>
          <a className="button" href="/ui/api/ledger/export" download="ledger.jsonl">
            Export the ledger (JSON Lines)
          </a>{' '}
          — verify it offline with <code>npx warrant audit verify ledger.jsonl --key …</code>
        </p>
      )}
    </section>
  );
}
