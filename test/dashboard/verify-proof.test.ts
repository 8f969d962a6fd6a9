/**
 * The dashboard's in-browser verification of a ledger record (dashboard/src/lib/verify-proof.ts, WebCrypto
 * only) agrees with the ledger's own (node:crypto): a record's inclusion proof against a signed checkpoint
 * verifies, for every index of trees of several sizes, with ledger keys whose base64 holds a '+'; and a
 * changed record, a changed proof, a changed checkpoint, or another key fails.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { verifyRecordProof } from '../../dashboard/src/lib/verify-proof.ts';
import { generateSigningKey } from '../../src/core/jose/jwk.ts';
import { whoAuthorised } from '../../src/ledger/audit/who.ts';
import { noteVerifierKey } from '../../src/ledger/checkpoint.ts';
import type { DecisionRecord } from '../../src/ledger/decision-log.ts';
import { Ledger, type LedgerSigner } from '../../src/ledger/ledger.ts';
import { MemoryLedgerStore } from '../../src/ledger/store/memory-ledger-store.ts';

const NAME = 'warrant.local/ledger';

/** A ledger key whose verifier key's base64 holds '+' (the case a naive split on '+' gets wrong). */
function signerWithPlus(): { signer: LedgerSigner; verifierKey: string } {
  for (;;) {
    const key = generateSigningKey('EdDSA');
    const verifierKey = noteVerifierKey(NAME, key);
    if (verifierKey.split('+').length > 3) return { signer: { name: NAME, key }, verifierKey };
  }
}

const record = (n: number): DecisionRecord => ({
  id: `dec-${n}`,
  kind: 'decision',
  time: new Date(1_750_000_000_000 + n * 1000).toISOString(),
  gateway: 'gw-test',
  decision: 'allow',
  person: { sub: 'alice@example.org', iss: 'https://idp.example' },
  caller: 'spiffe://warrant.local/agent/a',
  action: 'payments:transfer',
  task: `<script>alert(${n})</script>`,
});

async function ledgerOf(size: number) {
  const { signer, verifierKey } = signerWithPlus();
  const store = new MemoryLedgerStore();
  const ledger = await Ledger.open(store, signer, { checkpointEvery: { records: 100_000, ms: 3_600_000 } });
  for (let n = 0; n < size; n++) await ledger.append(record(n));
  await ledger.checkpoint();
  return { store, verifierKey };
}

async function inputOf(store: MemoryLedgerStore, index: number, verifierKey: string) {
  const who = await whoAuthorised(store, index, { verifierKeys: [verifierKey] });
  const entry = (await store.getRecord(index))!;
  return {
    index,
    canonical: entry.canonical,
    proof: who.inclusion!.proof,
    checkpoint: who.inclusion!.checkpoint,
    verifierKeys: [verifierKey],
  };
}

describe('verifyRecordProof (the browser side)', () => {
  test('verifies every record of trees of 1, 2, 3, 7, 8 and 13 records', async () => {
    for (const size of [1, 2, 3, 7, 8, 13]) {
      const { store, verifierKey } = await ledgerOf(size);
      for (let index = 0; index < size; index++) {
        const result = await verifyRecordProof(await inputOf(store, index, verifierKey));
        assert.equal(result.verified, true, `record ${index} of ${size}`);
        assert.equal(result.size, size);
        assert.deepEqual(result.signedBy, [verifierKey]);
      }
    }
  });

  test('a changed record, proof, checkpoint or key does not verify', async () => {
    const { store, verifierKey } = await ledgerOf(7);
    const good = await inputOf(store, 3, verifierKey);
    const changedRecord = {
      ...good,
      canonical: good.canonical.replace('payments:transfer', 'payments:quote'),
    };
    assert.equal((await verifyRecordProof(changedRecord)).rootMatches, false);
    assert.equal((await verifyRecordProof(changedRecord)).verified, false);
    const otherIndex = { ...good, index: 4 };
    assert.equal((await verifyRecordProof(otherIndex)).verified, false);
    const proof = [...good.proof];
    proof[0] = Buffer.alloc(32, 1).toString('base64');
    assert.equal((await verifyRecordProof({ ...good, proof })).verified, false);
    assert.equal((await verifyRecordProof({ ...good, proof: good.proof.slice(1) })).verified, false);
    const lines = good.checkpoint.split('\n');
    lines[1] = '8';
    const resized = { ...good, checkpoint: lines.join('\n') };
    const r = await verifyRecordProof(resized);
    assert.equal(r.verified, false, 'a checkpoint whose body changed');
    assert.deepEqual(r.signedBy, [], 'its signature no longer verifies');
    const other = signerWithPlus().verifierKey;
    const unsigned = await verifyRecordProof({ ...good, verifierKeys: [other] });
    assert.equal(unsigned.rootMatches, true);
    assert.equal(unsigned.verified, false, 'signed by no key the page trusts');
  });
});
