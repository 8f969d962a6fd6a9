import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSigningKey } from '../../../core/jose/jwk.ts';
import { noteVerifierKey, signCheckpoint } from '../../checkpoint.ts';
import { readHeader } from './header.ts';
import { VerifyState } from './state.ts';

const origin = 'test.example/ledger';
const key = generateSigningKey('EdDSA');
const vk = noteVerifierKey(origin, key);
const other = noteVerifierKey(origin, generateSigningKey('EdDSA'));
const header = (fields: Record<string, unknown> = {}) => ({
  type: 'warrant-ledger-export',
  version: 1,
  origin,
  verifierKeys: [vk],
  ...fields,
});
const trusted = signCheckpoint({ origin, size: 1, root: new Uint8Array(32) }, { name: origin, key });

describe('readHeader', () => {
  test('without pinned keys the header keys are used, marked as from the file', () => {
    const state = new VerifyState({});
    assert.equal(readHeader(state, header()), true);
    assert.deepEqual(
      [state.origin, state.keys, state.keysFrom, state.headerOk],
      [origin, [vk], 'file', true],
    );
  });

  test('pinned keys replace the header keys', () => {
    const state = new VerifyState({ verifierKeys: [other] });
    assert.equal(readHeader(state, header()), true);
    assert.deepEqual([state.keys, state.keysFrom], [[other], 'given']);
  });

  test('with a trusted checkpoint, the header keys that signed it are the log keys; none is a re-signed export', () => {
    const vouched = new VerifyState({ trustedCheckpoints: [trusted] });
    readHeader(vouched, header({ verifierKeys: [other, vk] }));
    assert.deepEqual([vouched.keys, vouched.keysFrom, vouched.problems], [[vk], 'trusted-checkpoint', []]);
    const resigned = new VerifyState({ trustedCheckpoints: [trusted] });
    readHeader(resigned, header({ verifierKeys: [other] }));
    assert.equal(resigned.problems[0]?.code, 'WARRANT_AUDIT_EXPORT_TAMPERED');
    assert.match(
      resigned.problems[0]!.message,
      /none of the verifier keys in the header signed the trusted checkpoint of size 1/,
    );
  });

  test('not a header, another version, no origin, no usable key: reading stops', () => {
    for (const obj of [
      null,
      { type: 'record' },
      header({ version: 2 }),
      header({ origin: '' }),
      header({ verifierKeys: [] }),
    ]) {
      const state = new VerifyState({});
      assert.equal(readHeader(state, obj), false, JSON.stringify(obj));
      assert.equal(state.headerOk, false);
      assert.equal(state.problems.at(-1)?.code, 'WARRANT_AUDIT_EXPORT_MALFORMED');
    }
    const extra = new VerifyState({});
    assert.equal(readHeader(extra, header({ comment: 'x' })), true);
    assert.deepEqual(
      extra.problems.map((p) => p.message),
      ['line 1: unexpected header member "comment"'],
    );
  });
});
