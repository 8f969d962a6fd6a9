import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextWith } from '../../../../test/support/exchange-context.ts';
import { OAuthError } from '../../oauth-error.ts';
import { type ExchangeServices, exchangeContext, runChecks } from './context.ts';

describe('exchange context', () => {
  test('a fresh context holds the request and nothing a check writes', () => {
    const services = {} as ExchangeServices;
    const params = new Map([['grant_type', 'x']]);
    const ctx = exchangeContext(services, { params, dpop: 'proof' });
    assert.equal(ctx.services, services);
    assert.equal(ctx.params, params);
    assert.equal(ctx.dpop, 'proof');
    const written = Object.entries(ctx).filter(([k]) => !['services', 'params', 'dpop'].includes(k));
    assert.ok(written.length > 10);
    for (const [name, value] of written) assert.equal(value, undefined, name);
  });
});

describe('runChecks', () => {
  test('runs the checks in order; synchronous checks run without waiting a turn', async () => {
    const seen: string[] = [];
    const done = runChecks(
      [
        () => void seen.push('a'),
        () => void seen.push('b'),
        async () => {
          seen.push('c');
          await Promise.resolve();
          seen.push('c done');
        },
        () => void seen.push('d'),
      ],
      contextWith(),
    );
    // Everything up to the first pending check ran within the call itself.
    assert.deepEqual(seen, ['a', 'b', 'c']);
    await done;
    assert.deepEqual(seen, ['a', 'b', 'c', 'c done', 'd']);
  });

  test('the first refusal ends the run: later checks never run', async () => {
    const seen: string[] = [];
    const refusal = new OAuthError('invalid_grant', 'WARRANT_PARENT_REVOKED', 'revoked');
    await assert.rejects(
      runChecks(
        [
          () => void seen.push('a'),
          async () => {
            throw refusal;
          },
          () => void seen.push('never'),
        ],
        contextWith(),
      ),
      (error) => error === refusal,
    );
    assert.deepEqual(seen, ['a']);
  });
});
