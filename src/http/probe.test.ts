import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answersWithin } from './probe.ts';

test('answersWithin: true when the check settles in time, false when it rejects or hangs past the bound', async () => {
  assert.equal(await answersWithin(async () => 'ok', 1000), true);
  assert.equal(
    await answersWithin(async () => {
      throw new Error('connection refused');
    }, 1000),
    false,
  );
  const started = Date.now();
  assert.equal(await answersWithin(() => new Promise(() => {}), 50), false, 'a check that never settles');
  assert.ok(Date.now() - started < 1000, 'answered at the bound, not later');
});
