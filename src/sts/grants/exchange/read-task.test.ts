import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextWith, verifiedParent } from '../../../../test/support/exchange-context.ts';
import { readTask } from './read-task.ts';

describe('readTask', () => {
  test("root: the task sent, if any; hop: the task sent, else the parent's", () => {
    const cases = [
      [contextWith({}, { task: 'audit' }), 'audit'],
      [contextWith(), undefined],
      [contextWith({ parent: verifiedParent({ task: 'report' }) }), 'report'],
      [contextWith({ parent: verifiedParent({ task: 'report' }) }, { task: 'audit' }), 'audit'],
    ] as const;
    for (const [ctx, task] of cases) {
      readTask(ctx);
      assert.equal(ctx.task, task);
    }
  });

  test('a task that is not printable is malformed, also when inherited', () => {
    assert.throws(() => readTask(contextWith({ parent: verifiedParent({ task: 'a\tb' }) })), {
      code: 'WARRANT_REQUEST_MALFORMED',
    });
  });
});
