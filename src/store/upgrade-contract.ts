import assert from 'node:assert/strict';
import type { Store } from './ports.ts';

/**
 * What every adapter's store reads once it has upgraded a database written at migration 1 holding the
 * agent `spiffe://e/agent/a` and the oidc issuer `https://idp`: the agent has no client ids, the issuer the
 * defaults of the later columns. Closes the store.
 */
export async function assertUpgradedFromV1(store: Store): Promise<void> {
  try {
    assert.deepEqual((await store.agents.get('spiffe://e/agent/a'))?.clientIds, {});
    const issuer = await store.issuers.get('https://idp');
    assert.equal(issuer?.assertions, null);
    assert.equal(issuer?.maxAssertionAgeSeconds, null);
  } finally {
    await store.close();
  }
}
