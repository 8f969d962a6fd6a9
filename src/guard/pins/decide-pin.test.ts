import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callablePin, decidePin } from './decide-pin.ts';
import type { ToolPin } from './pin.ts';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const C = `sha256:${'c'.repeat(64)}`;

const pin = (over: Partial<ToolPin>): ToolPin => ({
  route: '/mcp',
  tool: 'search',
  status: 'approved',
  digest: A,
  definition: { name: 'search' },
  seenDigest: A,
  seenDefinition: { name: 'search' },
  firstSeen: 1,
  updated: 1,
  recheck: false,
  ...over,
});

test('off: everything visible and callable, nothing recorded', () => {
  assert.deepEqual(decidePin('off', undefined, A), { visible: true, change: { kind: 'none' } });
  assert.deepEqual(callablePin('off', undefined), { ok: true });
});

test('first sight: pending and hidden under approve, pinned and visible under tofu', () => {
  assert.deepEqual(decidePin('approve', undefined, A), {
    visible: false,
    change: { kind: 'first-seen', status: 'pending' },
  });
  assert.deepEqual(decidePin('tofu', undefined, A), {
    visible: true,
    change: { kind: 'first-seen', status: 'approved' },
  });
});

test('approved: the same digest is visible; another digest is quarantined under both modes', () => {
  for (const mode of ['approve', 'tofu'] as const) {
    assert.deepEqual(decidePin(mode, pin({}), A), { visible: true, change: { kind: 'none' } });
    assert.deepEqual(decidePin(mode, pin({}), B), { visible: false, change: { kind: 'quarantine' } });
  }
});

test('quarantined or pending: hidden; a new definition is recorded, the same one (or a revert) changes nothing', () => {
  const quarantined = pin({ status: 'quarantined', seenDigest: B });
  assert.deepEqual(decidePin('tofu', quarantined, B), { visible: false, change: { kind: 'none' } });
  assert.deepEqual(decidePin('tofu', quarantined, C), { visible: false, change: { kind: 'seen-changed' } });
  // A server that reverts to the approved definition stays quarantined: only an operator lifts it.
  assert.deepEqual(decidePin('approve', quarantined, A), {
    visible: false,
    change: { kind: 'seen-changed' },
  });
  const pending = pin({ status: 'pending', digest: undefined, definition: undefined, seenDigest: A });
  assert.deepEqual(decidePin('tofu', pending, A), { visible: false, change: { kind: 'none' } });
  assert.deepEqual(decidePin('approve', pending, B), { visible: false, change: { kind: 'seen-changed' } });
});

test('calls: never seen, pending and quarantined are refused with their reason; approved is callable', () => {
  const never = callablePin('tofu', undefined);
  assert.equal(never.ok, false);
  assert.ok(!never.ok && !never.quarantined && /not seen/.test(never.reason));
  const unapproved = callablePin('approve', undefined);
  assert.ok(!unapproved.ok && !unapproved.quarantined);
  const pending = callablePin('approve', pin({ status: 'pending', digest: undefined }));
  assert.ok(!pending.ok && !pending.quarantined);
  const quarantined = callablePin('tofu', pin({ status: 'quarantined', seenDigest: B }));
  assert.ok(!quarantined.ok && quarantined.quarantined);
  assert.deepEqual(callablePin('approve', pin({})), { ok: true });
  // Approved, but the server showed another definition (a racing writer): refused as quarantined.
  const drifted = callablePin('approve', pin({ seenDigest: B }));
  assert.ok(!drifted.ok && drifted.quarantined);
});
