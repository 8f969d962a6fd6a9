import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { DpopNonces } from './index.ts';

const now = 1_900_000_040; // 20 s into a 60 s window (1_900_000_020 is a window start)

describe('DpopNonces', () => {
  test('the issued nonce is 256 bits of base64url and checks now', () => {
    const nonces = new DpopNonces();
    const n = nonces.issue(now);
    assert.match(n, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(nonces.check(n, now), true);
  });

  test('a nonce is stable within its window and changes with the next', () => {
    const nonces = new DpopNonces();
    assert.equal(nonces.issue(now), nonces.issue(now + 39));
    assert.notEqual(nonces.issue(now), nonces.issue(now + 40));
  });

  test("the previous window's nonce is accepted, the one before is not", () => {
    const nonces = new DpopNonces();
    const n = nonces.issue(now);
    assert.equal(nonces.check(n, now + 60), true);
    assert.equal(nonces.check(n, now + 120), false);
  });

  test('a nonce from a future window is not accepted', () => {
    const nonces = new DpopNonces();
    assert.equal(nonces.check(nonces.issue(now + 60), now), false);
  });

  test('replicas sharing a secret accept each other’s nonces; others do not', () => {
    const secret = randomBytes(32);
    const a = new DpopNonces({ secret });
    const b = new DpopNonces({ secret });
    assert.equal(b.check(a.issue(now), now), true);
    assert.equal(new DpopNonces().check(a.issue(now), now), false);
  });

  test('the window length is part of the MAC', () => {
    const secret = randomBytes(32);
    assert.notEqual(
      new DpopNonces({ secret, windowSeconds: 60 }).issue(0),
      new DpopNonces({ secret, windowSeconds: 30 }).issue(0),
    );
  });

  test('malformed and non-canonical nonces are refused', () => {
    const nonces = new DpopNonces();
    const n = nonces.issue(now);
    const last = n.at(-1)!;
    const flipped =
      n.slice(0, -1) +
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.at(
        'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(last) ^ 1,
      )!;
    for (const bad of [undefined, '', 'x', `${n}=`, ` ${n}`, flipped, 42])
      assert.equal(nonces.check(bad, now), false);
  });

  test('options are validated at construction', () => {
    assert.throws(() => new DpopNonces({ secret: randomBytes(16) }), TypeError);
    assert.throws(() => new DpopNonces({ windowSeconds: 0 }), TypeError);
    assert.throws(() => new DpopNonces({ windowSeconds: 1.5 }), TypeError);
  });
});
