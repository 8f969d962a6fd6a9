import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DATA_CLASS_RANK, DATA_CLASSES, dataClassRank } from './data-class.ts';

describe('data classes', () => {
  test('one order, least to most sensitive', () => {
    assert.deepEqual(DATA_CLASSES, ['public', 'internal', 'confidential', 'restricted']);
    assert.deepEqual(DATA_CLASS_RANK, { public: 0, internal: 1, confidential: 2, restricted: 3 });
    assert.ok(Object.isFrozen(DATA_CLASS_RANK));
  });

  test('the rank of anything that is not a data class is -1', () => {
    for (const c of DATA_CLASSES) assert.equal(dataClassRank(c), DATA_CLASS_RANK[c]);
    for (const v of ['Public', 'secret', '', 'toString', ['public'], 0, null, undefined])
      assert.equal(dataClassRank(v), -1);
  });
});
