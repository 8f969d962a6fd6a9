import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeCall, HOST, presenting } from '../../../test/support/gateway-call.ts';
import { ActionCatalog } from '../../guard/catalog.ts';
import { authenticate } from './authenticate.ts';
import { checkHead } from './check-head.ts';
import { guard } from './guard.ts';
import { limitBody } from './limit-body.ts';
import { readCall } from './read-call.ts';

const low = { impact: 'low', dataClass: 'internal', reversibility: 'reversible', blastRadius: 1 } as const;

test('the guard view: the action, the caller’s trust level and depth; an http action resolved once per request', async () => {
  const catalog = new ActionCatalog([
    {
      name: 'crm:pay',
      match: { protocol: 'http', method: 'POST', path: '/crm/*' },
      parameters: { amount: { in: 'body', pointer: '/amount' } },
      ...low,
    },
  ]);
  let resolved = 0;
  const counting = Object.create(catalog, {
    resolve: {
      value: (c: Parameters<ActionCatalog['resolve']>[0]) => {
        resolved++;
        return catalog.resolve(c);
      },
    },
  }) as ActionCatalog;
  const { call, services } = fakeCall({
    method: 'POST',
    url: '/crm/pay',
    body: '{"amount":5}',
    headers: { ...presenting('POST', '/crm/pay'), 'content-type': 'application/json', host: HOST },
    catalog: counting,
  });
  for (const step of [checkHead, authenticate, limitBody, readCall, guard]) await step.run(call);
  assert.equal(call.guard?.verdict, 'pass');
  assert.equal(call.guard?.calls[0]?.kind === 'action' && call.guard.calls[0].action.name, 'crm:pay');
  assert.equal(call.guard?.trustLevel, 2);
  assert.equal(call.guard?.risk.depth, 2);
  assert.equal(services.trustAsked, 1);
  assert.equal(resolved, 1, 'resolved to know whether the body is read, and reused by the guard');
});
