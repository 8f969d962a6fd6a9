import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSigningKey } from '../../../core/jose/jwk.ts';
import { noteVerifierKey, signCheckpoint } from '../../checkpoint.ts';
import { leafHash } from '../../merkle.ts';
import { checkCheckpoints, readCheckpointLine } from './checkpoints.ts';
import { VerifyState } from './state.ts';

const origin = 'test.example/ledger';
const key = generateSigningKey('EdDSA');
const vk = noteVerifierKey(origin, key);

/** A state after the header (pinned key) and `n` record lines, as `read.ts` leaves it. */
function withRecords(n: number): VerifyState {
  const state = new VerifyState({ verifierKeys: [vk] });
  state.origin = origin;
  state.headerOk = true;
  for (let i = 0; i < n; i++) state.addLeaf(leafHash(Uint8Array.of(i)), i + 2, i);
  state.expected = n;
  state.records = n;
  state.lastLine = n + 1;
  return state;
}

const note = (state: VerifyState, size: number, signer = key, o = origin) =>
  signCheckpoint({ origin: o, size, root: state.tree.root(size) }, { name: o, key: signer });

function read(state: VerifyState, notes: string[]): void {
  notes.forEach((n) => {
    state.lastLine++;
    readCheckpointLine(state, state.lastLine, { type: 'checkpoint', note: n });
  });
}

describe('readCheckpointLine', () => {
  test('a checkpoint signed by a trusted key for the origin is signed; others are named', () => {
    const state = withRecords(4);
    read(state, [
      note(state, 2),
      note(state, 4, generateSigningKey('EdDSA')),
      note(state, 4, key, 'elsewhere'),
    ]);
    assert.deepEqual(
      state.checkpoints.map((c) => [c.line, c.size, c.signed]),
      [
        [6, 2, true],
        [7, 4, false],
        [8, 4, false],
      ],
    );
    assert.match(
      state.problems[0]!.message,
      /^line 7: the checkpoint of size 4 is not signed by a trusted key/,
    );
    assert.match(state.problems[1]!.message, /^line 8: the checkpoint of size 4 is for the log "elsewhere"/);
  });
});

describe('checkCheckpoints', () => {
  test('signed checkpoints matching the rebuilt tree: no problem', () => {
    const state = withRecords(6);
    read(state, [note(state, 3), note(state, 6)]);
    checkCheckpoints(state);
    assert.deepEqual(state.problems, []);
  });

  test('records after the largest signed checkpoint are named as added after signing', () => {
    const state = withRecords(6);
    read(state, [note(state, 4)]);
    checkCheckpoints(state);
    assert.deepEqual(
      state.problems.map((p) => p.message),
      [
        'line 6: record 4 is not covered by any signed checkpoint (the largest covers 4 records): it and the 1 after it were added after signing',
      ],
    );
  });

  test('a changed record: the range between the last good and the first failing checkpoint is named', () => {
    const state = withRecords(6);
    const notes = [note(state, 2), note(state, 4), note(state, 6)];
    const changed = new VerifyState({ verifierKeys: [vk] });
    changed.origin = origin;
    for (let i = 0; i < 6; i++) changed.addLeaf(leafHash(Uint8Array.of(i === 2 ? 42 : i)), i + 2, i);
    changed.lastLine = 7;
    read(changed, notes);
    checkCheckpoints(changed);
    assert.deepEqual(
      changed.problems.map((p) => p.message),
      [
        'line 4: record 2 is the first record covered only by checkpoints that fail: a record among records 2..3 (lines 4..5) was changed, or records were inserted, removed or reordered there',
        'line 9: the records do not match checkpoint 4: the root of records 0..3 in this file differs from the signed root; so do the checkpoints of size 6 (line 10)',
      ],
    );
  });

  test('no checkpoint line at all, or none that verifies', () => {
    const none = withRecords(2);
    checkCheckpoints(none);
    assert.deepEqual(
      none.problems.map((p) => p.message),
      ['line 3: the file has no checkpoint: nothing in it is signed (truncated?)'],
    );
    const unsigned = withRecords(2);
    read(unsigned, [note(unsigned, 2, generateSigningKey('EdDSA'))]);
    checkCheckpoints(unsigned);
    assert.equal(unsigned.problems.at(-1)?.message, 'no checkpoint verifies: nothing in this file is proven');
  });
});
