/**
 * The benchmarks' decision record: shaped like the gateway's for the bench's call (3-hop chain, grants, risk,
 * request digest), about 1 KB canonical. Used by the ledger append bench and the gateway bench's floor target.
 */
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';

/** A decision record shaped like the gateway's (3-hop chain, grants, risk), about 1 KB canonical. */
export function benchDecisionRecord(n: number, gateway = 'gw-bench'): DecisionRecord {
  return {
    id: `0b7f3c1e-${n.toString(16).padStart(4, '0')}-4c5d-9e8f-${(n * 7919).toString(16).padStart(12, '0')}`,
    kind: 'decision',
    time: new Date().toISOString(),
    gateway,
    decision: 'allow',
    reasons: ['policy:allow-crm-read', 'risk:low'],
    person: { sub: 'alice@example.com', iss: 'https://idp.bench.warrant.test' },
    caller: 'spiffe://bench.warrant.test/agent/researcher',
    recipient: 'https://tools.bench.warrant.test/crm',
    action: 'crm.read',
    resource: 'https://tools.bench.warrant.test/crm',
    granted: [
      { action: 'crm.read', resource: 'https://tools.bench.warrant.test/crm', constraints: { max: 10 } },
    ],
    used: { action: 'crm.read' },
    chain: [
      {
        hash: 'qL6W1r2cJmH4P0o8gU3xkK1b7Vn2Yt5s9Dz0aEwQf4I',
        actor: 'spiffe://bench.warrant.test/agent/planner',
      },
      {
        hash: 'Zr8pQ3nV0wT5yK2bX7mC1dF6gH9jL4sA0eR3uI8oP2E',
        actor: 'spiffe://bench.warrant.test/agent/broker',
      },
      {
        hash: 'Mw4tY7uI1oP9aS3dF6gH0jK2lZ5xC8vB1nM4qW7eR0T',
        actor: 'spiffe://bench.warrant.test/agent/researcher',
      },
    ],
    txn: `txn-${n % 1000}`,
    task: 'quarterly-report',
    policyVersion: 'sha256:3f1c9a',
    risk: { score: 12, factors: [{ name: 'new-recipient', points: 12 }] },
    trustLevel: 2,
    requestDigest: 'u9Ql0Zr4c1kX7bT2mN5vP8sW3yH6jD0fG1aE4iO7qL2',
  };
}
