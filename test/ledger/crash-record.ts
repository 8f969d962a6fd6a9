import type { DecisionRecord } from '../../src/ledger/decision-log.ts';

/** The k-th record the crash writer appends: a pure function of k, so the test can recompute it. */
export function crashRecord(k: number): DecisionRecord {
  return {
    id: `crash-${k}`,
    kind: 'decision',
    time: new Date(1_750_000_000_000 + k).toISOString(),
    gateway: 'gw-crash',
    decision: k % 11 === 0 ? 'deny' : 'allow',
    reasons: [`policy:${k % 5}`],
    person: { sub: `person-${k % 13}`, iss: 'https://idp.example' },
    caller: `spiffe://warrant.local/agent/a${k % 4}`,
    recipient: 'https://tool.example/mcp',
    action: 'tools/call:search',
    resource: `doc-${k}`,
    chain: [
      { hash: `root-${k % 97}`, actor: 'spiffe://warrant.local/agent/a0' },
      { hash: `hop-${k}`, actor: `spiffe://warrant.local/agent/a${k % 4}` },
    ],
    txn: `txn-${k % 101}`,
    requestDigest: `sha-256=:${k.toString(16).padStart(8, '0')}:`,
  };
}
