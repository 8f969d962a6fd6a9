import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextWith, verifiedParent } from '../../../../test/support/exchange-context.ts';
import { checkDepth } from './check-depth.ts';

describe('checkDepth', () => {
  test('one more link fits while depth + 1 ≤ max_depth', () => {
    checkDepth(contextWith({ parent: verifiedParent({ depth: 0, max_depth: 1 }) }));
    checkDepth(contextWith({ parent: verifiedParent({ depth: 2, max_depth: 3 }) }));
  });

  test('a used-up budget is WARRANT_CHAIN_DEPTH_EXCEEDED', () => {
    for (const [depth, max_depth] of [
      [0, 0],
      [3, 3],
    ] as const)
      assert.throws(() => checkDepth(contextWith({ parent: verifiedParent({ depth, max_depth }) })), {
        error: 'invalid_grant',
        code: 'WARRANT_CHAIN_DEPTH_EXCEEDED',
        message: `the delegation depth budget (${max_depth}) is used up`,
      });
  });
});
