import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextWith, NOW, verifiedParent } from '../../../../test/support/exchange-context.ts';
import { checkLifetime, rootLifetime } from './check-lifetime.ts';

const limits = { config: { sts: { warrantLifetime: 900, hopLifetime: 300, maxDepth: 5 } } };

describe('checkLifetime (hop)', () => {
  const hop = (parent = verifiedParent(), params: Record<string, string> = {}) =>
    contextWith({ parent, now: NOW, services: limits as never }, params);

  test('the hop lifetime by default, less when asked, starting now', () => {
    const ctx = hop();
    checkLifetime(ctx);
    assert.deepEqual([ctx.iat, ctx.exp], [NOW, NOW + 300]);
    const shorter = hop(undefined, { requested_lifetime: '60' });
    checkLifetime(shorter);
    assert.equal(shorter.exp, NOW + 60);
    const longer = hop(undefined, { requested_lifetime: '500' });
    checkLifetime(longer);
    assert.equal(longer.exp, NOW + 300, 'capped at the hop lifetime');
  });

  test('never past the parent, and never before the parent starts', () => {
    const ending = hop(verifiedParent({ exp: NOW + 100 }));
    checkLifetime(ending);
    assert.equal(ending.exp, NOW + 100);
    const future = hop(verifiedParent({ iat: NOW + 5 }));
    checkLifetime(future);
    assert.equal(future.iat, NOW + 5);
  });

  test('asking to outlive the parent is WARRANT_CHAIN_LIFETIME_EXTENDED', () => {
    assert.throws(
      () => checkLifetime(hop(verifiedParent({ exp: NOW + 100 }), { requested_lifetime: '101' })),
      {
        error: 'invalid_grant',
        code: 'WARRANT_CHAIN_LIFETIME_EXTENDED',
      },
    );
  });

  test('a child that could not start is WARRANT_TOKEN_EXPIRED', () => {
    assert.throws(() => checkLifetime(hop(verifiedParent({ exp: NOW }))), {
      error: 'invalid_grant',
      code: 'WARRANT_TOKEN_EXPIRED',
    });
  });

  test('a malformed requested_lifetime is refused before anything else', () => {
    assert.throws(() => checkLifetime(hop(verifiedParent({ exp: NOW }), { requested_lifetime: 'x' })), {
      code: 'WARRANT_REQUEST_MALFORMED',
    });
  });
});

describe('rootLifetime', () => {
  test('takes the exchange time; the warrant lifetime by default, less when asked, never more', () => {
    const services = { ...limits, clock: () => NOW } as never;
    for (const [asked, lifetime] of [
      [undefined, 900],
      ['60', 60],
      ['5000', 900],
    ] as const) {
      const ctx = contextWith({ services }, asked === undefined ? {} : { requested_lifetime: asked });
      rootLifetime(ctx);
      assert.deepEqual([ctx.now, ctx.iat, ctx.exp], [NOW, NOW, NOW + lifetime]);
    }
  });
});
