import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VerifyState } from './state.ts';

describe('VerifyState', () => {
  test('problems name their line; the state stops at maxProblems', () => {
    const state = new VerifyState({ maxProblems: 2 });
    state.malformed(3, 'bad');
    assert.equal(state.stopped, false);
    state.tampered(0, 'worse');
    assert.equal(state.stopped, true);
    assert.deepEqual(state.problems, [
      { line: 3, code: 'WARRANT_AUDIT_EXPORT_MALFORMED', message: 'line 3: bad' },
      { line: 0, code: 'WARRANT_AUDIT_EXPORT_TAMPERED', message: 'worse' },
    ]);
  });

  test('an unread line stands for the expected record before the checkpoints, not after', () => {
    const state = new VerifyState({});
    state.unreadRecord(2);
    assert.deepEqual([state.tree.size, state.expected, state.lineOf, state.indexOf], [1, 1, [2], [0]]);
    state.checkpointLines = 1;
    state.unreadRecord(3);
    assert.equal(state.tree.size, 1);
  });

  test('the anchors given: pinned keys are the keys; malformed ones throw (a caller mistake)', () => {
    assert.equal(new VerifyState({}).anchorGiven, false);
    assert.equal(new VerifyState({}).keysFrom, 'file');
    assert.throws(() => new VerifyState({ verifierKeys: ['not a key'] }), {
      code: 'WARRANT_LEDGER_NOTE_KEY_INVALID',
    });
    assert.throws(() => new VerifyState({ trustedCheckpoints: ['not a checkpoint'] }), {
      code: 'WARRANT_LEDGER_CHECKPOINT_INVALID',
    });
  });
});
