import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSigningKey } from '../../../core/jose/jwk.ts';
import { cosign, noteVerifierKey, signCheckpoint } from '../../checkpoint.ts';
import { leafHash, MerkleTree } from '../../merkle.ts';
import { checkAnchors } from './anchors.ts';
import { readCheckpointLine } from './checkpoints.ts';
import { VerifyState } from './state.ts';
import type { VerifyExportOptions } from './types.ts';

const origin = 'test.example/ledger';
const key = generateSigningKey('EdDSA');
const vk = noteVerifierKey(origin, key);
const witness = { name: 'witness.example', key: generateSigningKey('EdDSA') };
const wk = noteVerifierKey(witness.name, witness.key);

const leaves = (n: number, changed = -1) =>
  Array.from({ length: n }, (_, i) => leafHash(Uint8Array.of(i === changed ? 99 : i)));
const sign = (tree: MerkleTree, size: number) =>
  signCheckpoint({ origin, size, root: tree.root(size) }, { name: origin, key });

/** A state after reading the header (keys from `keysFrom`), `n` records and checkpoint notes. */
function state(
  options: VerifyExportOptions,
  n: number,
  notes: string[],
  keysFrom: VerifyState['keysFrom'] = 'given',
): VerifyState {
  const s = new VerifyState(options);
  s.origin = origin;
  s.headerOk = true;
  s.keys = [vk];
  s.keysFrom = keysFrom;
  leaves(n).forEach((leaf, i) => {
    s.addLeaf(leaf, i + 2, i);
  });
  notes.forEach((note, k) => {
    readCheckpointLine(s, n + 2 + k, { type: 'checkpoint', note });
  });
  return s;
}

const codes = (s: VerifyState) => s.problems.map((p) => p.code);

describe('checkAnchors', () => {
  const tree = MerkleTree.from(leaves(6));

  test('no anchor given: the file vouches only for itself', () => {
    const s = state({}, 6, [sign(tree, 6)], 'file');
    checkAnchors(s);
    assert.deepEqual(codes(s), ['WARRANT_AUDIT_NO_TRUST_ANCHOR']);
    assert.deepEqual([...s.anchoredBy], []);
  });

  test('a pinned key vouches for the records its checkpoints cover', () => {
    const s = state({ verifierKeys: [vk] }, 6, [sign(tree, 6)]);
    checkAnchors(s);
    assert.deepEqual([codes(s), [...s.anchoredBy]], [[], ['key']]);
  });

  test('a trusted checkpoint: consistent, rolled back, or forked', () => {
    const earlier = sign(tree, 4);
    // The header keys that signed the trusted checkpoint are the log's keys (see header.ts).
    const ok = state({ trustedCheckpoints: [earlier] }, 6, [sign(tree, 6)], 'trusted-checkpoint');
    checkAnchors(ok);
    assert.deepEqual([codes(ok), ok.trustedSizes, [...ok.anchoredBy]], [[], [4], ['trusted-checkpoint']]);

    const later = MerkleTree.from(leaves(8));
    const rolledBack = state({ trustedCheckpoints: [sign(later, 8)] }, 6, [sign(tree, 6)], 'file');
    checkAnchors(rolledBack);
    assert.deepEqual(codes(rolledBack), ['WARRANT_AUDIT_EXPORT_ROLLED_BACK']);

    const fork = MerkleTree.from(leaves(6, 1));
    const forked = state({ trustedCheckpoints: [sign(fork, 4)] }, 6, [sign(tree, 6)], 'file');
    checkAnchors(forked);
    assert.deepEqual(codes(forked), ['WARRANT_AUDIT_EXPORT_FORKED']);
  });

  test('a witness co-signature vouches for the records of the checkpoint it signed, not beyond', () => {
    const s = state({ witnessKeys: [wk] }, 6, [cosign(sign(tree, 4), witness), sign(tree, 6)], 'file');
    checkAnchors(s);
    assert.deepEqual([...s.anchoredBy], ['witness']);
    assert.deepEqual(codes(s), ['WARRANT_AUDIT_NO_TRUST_ANCHOR']);
    assert.match(
      s.problems[0]!.message,
      /^line 6: records 4\.\.5 are covered by no checkpoint a trust anchor vouches for/,
    );
  });
});
