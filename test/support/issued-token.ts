/**
 * An issued-token row for store tests: a warrant of alice@example.org held by agent `a`, issued at 1000 and
 * expiring at 2000, with `jti-<hash>` as its jti; `overrides` set the rest.
 */
import type { IssuedToken } from '../../src/store/ports.ts';

export function issuedToken(hash: string, overrides: Partial<IssuedToken> = {}): IssuedToken {
  return {
    hash,
    jti: `jti-${hash}`,
    kind: 'warrant',
    parentHash: null,
    rootHash: null,
    txn: 'txn-1',
    sub: 'alice@example.org',
    actors: ['spiffe://example.org/agent/a'],
    audience: 'spiffe://example.org/tool',
    grantsJson: '[]',
    policyVersion: null,
    statusList: null,
    statusIdx: null,
    iat: 1000,
    exp: 2000,
    revokedAt: null,
    revokeReason: null,
    ...overrides,
  };
}
