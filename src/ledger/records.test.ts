import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordLeafHash } from './canonical-record.ts';
import type { DecisionRecord } from './decision-log.ts';
import { MerkleTree } from './merkle.ts';
import { checkedRecord, toEntry } from './records.ts';

const record: DecisionRecord = {
  time: '2025-06-15T10:00:00.000Z',
  kind: 'decision',
  id: 'd1',
  gateway: 'gw',
  decision: 'allow',
  person: { sub: 'alice', iss: 'https://idp.example' },
  caller: 'spiffe://warrant.local/agent/a',
  action: 'crm:contacts.read',
  txn: 'txn-1',
};

describe('toEntry', () => {
  test('canonical text with the index, its leaf hash, and the query columns', () => {
    const e = toEntry(7, record, 1_750_000_000_000);
    assert.equal(e.index, 7);
    assert.equal(e.canonical.startsWith('{"action":"crm:contacts.read","caller":'), true);
    assert.equal(JSON.parse(e.canonical).index, 7);
    assert.deepEqual(e.leafHash, recordLeafHash(e.canonical));
    assert.deepEqual(
      [e.time, e.txn, e.person, e.caller, e.action, e.decision],
      [1_750_000_000_000, 'txn-1', 'alice', 'spiffe://warrant.local/agent/a', 'crm:contacts.read', 'allow'],
    );
    const bare = toEntry(0, { id: 'o', kind: 'outcome', time: record.time, gateway: 'gw' }, 0);
    assert.deepEqual(
      [bare.txn, bare.person, bare.caller, bare.action, bare.decision],
      [null, null, null, null, null],
    );
  });

  test('throws for a record not representable as canonical JSON', () => {
    assert.throws(() => toEntry(0, { ...record, risk: { score: 1n, factors: [] } } as never, 0));
  });
});

describe('checkedRecord', () => {
  test('the record when its text hashes to the leaf in the tree; LedgerCorruptError otherwise', () => {
    const e = toEntry(0, record, 0);
    const tree = MerkleTree.from([e.leafHash]);
    const r = checkedRecord(tree, e);
    assert.equal(r.record.index, 0);
    assert.equal(r.record.txn, 'txn-1');
    const changed = { ...e, canonical: e.canonical.replace('alice', 'mallory') };
    assert.throws(() => checkedRecord(tree, changed), { code: 'WARRANT_LEDGER_CORRUPT', index: 0 });
    // Beyond the tree (another writer's record, not read yet): checked against its own stored hash.
    const next = toEntry(1, record, 0);
    assert.equal(checkedRecord(tree, next).index, 1);
    assert.throws(() => checkedRecord(tree, { ...next, canonical: changed.canonical }), {
      code: 'WARRANT_LEDGER_CORRUPT',
    });
  });
});
