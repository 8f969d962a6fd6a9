/** The catalog's `compensation` (src/guard/catalog.ts): what loads, what is refused and where, and the request built from it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ActionCatalog, type CatalogAction, CatalogError } from '../catalog.ts';
import { compensationRequest, idempotencyKeyOf } from './compensation-request.ts';

const payment: CatalogAction = {
  name: 'payments:create',
  match: { protocol: 'http', method: 'POST', path: '/pay/payments' },
  impact: 'medium',
  dataClass: 'internal',
  reversibility: 'reversible',
  blastRadius: 1,
  compensation: {
    method: 'POST',
    path: '/payments/{payment_id}/refund',
    body: { amount: '{amount}', meta: { reason: 'contained', ids: ['{payment_id}'] }, note: 'x {amount}' },
    values: {
      payment_id: { from: 'response', pointer: '/id' },
      amount: { from: 'request', pointer: '/payment/amount' },
    },
  },
};

function failsAt(action: unknown): { path: string; message: string } {
  try {
    new ActionCatalog([action as CatalogAction]);
  } catch (error) {
    assert.ok(error instanceof CatalogError, String(error));
    return { path: error.path, message: error.message };
  }
  assert.fail('the catalog was accepted');
}

const withCompensation = (compensation: unknown, extra: Record<string, unknown> = {}) => ({
  ...payment,
  ...extra,
  compensation,
});

describe('catalog compensation', () => {
  test('loads: values compiled, the body of the call then read (a value comes from the request)', () => {
    const entry = new ActionCatalog([payment]).actions[0]!;
    assert.deepEqual(entry.compensationValues, [
      { name: 'payment_id', from: 'response', path: ['id'] },
      { name: 'amount', from: 'request', path: ['payment', 'amount'] },
    ]);
    assert.equal(entry.readsBody, true);
    assert.ok(Object.isFrozen(entry.compensation));
  });

  test('refused at load, at the failing path', () => {
    const c = payment.compensation!;
    assert.equal(failsAt({ ...payment, reversibility: 'compensable' }).path, '/actions/0/compensation');
    assert.equal(failsAt({ ...payment, reversibility: 'irreversible' }).path, '/actions/0/compensation');
    assert.equal(
      failsAt({ ...payment, match: { protocol: 'mcp', tool: 'pay' } }).path,
      '/actions/0/compensation',
    );
    assert.equal(
      failsAt(withCompensation({ ...c, path: '/payments/{other}/refund' })).path,
      '/actions/0/compensation/path',
    );
    assert.equal(
      failsAt(withCompensation({ ...c, path: '/payments/{Bad}/refund' })).path,
      '/actions/0/compensation/path',
    );
    assert.equal(
      failsAt(withCompensation({ ...c, path: 'payments/x' })).path,
      '/actions/0/compensation/path',
    );
    assert.equal(
      failsAt(withCompensation({ ...c, path: '/payments?x=1' })).path,
      '/actions/0/compensation/path',
    );
    assert.equal(
      failsAt(withCompensation({ ...c, body: { amount: '{missing}' } })).path,
      '/actions/0/compensation/body/amount',
    );
    assert.equal(
      failsAt(withCompensation({ ...c, body: {} })).path,
      '/actions/0/compensation/values/amount',
      'a value neither the path nor the body uses',
    );
    assert.equal(failsAt(withCompensation({ ...c, method: 'post' })).path, '/actions/0/compensation/method');
    assert.equal(
      failsAt(withCompensation({ ...c, values: { ...c.values, amount: { from: 'header', pointer: '/a' } } }))
        .path,
      '/actions/0/compensation/values/amount/from',
    );
    assert.equal(
      failsAt(
        withCompensation({ ...c, values: { ...c.values, amount: { from: 'request', pointer: 'amount' } } }),
      ).path,
      '/actions/0/compensation/values/amount/pointer',
    );
    const badName = failsAt(
      withCompensation({ ...c, values: { ...c.values, Amount: { from: 'request', pointer: '/a' } } }),
    );
    assert.equal(badName.path, '/actions/0/compensation/values/Amount');
    assert.match(badName.message, /value name/);
    assert.equal(failsAt(withCompensation({ ...c, extra: 1 })).path, '/actions/0/compensation/extra');
  });

  test('the request: path values percent-encoded, whole {name} strings replaced by the value, key from the decision', () => {
    const entry = new ActionCatalog([payment]).actions[0]!;
    const inputs = {
      decisionId: 'd-1',
      time: 1,
      txn: 't',
      person: 'p',
      caller: 'c',
      route: 'https://tools/pay',
      action: entry.name,
      status: 201,
      values: { payment_id: 'pay/1 x', amount: 12.5 },
    };
    const routes = [
      {
        match: { pathPrefix: '/pay' },
        upstream: 'http://up.example:8080/base/',
        audience: 'https://tools/pay',
        protocol: 'http' as const,
      },
    ];
    const request = compensationRequest(entry, inputs, routes, 'run-1');
    assert.ok(!('missing' in request));
    assert.equal(request.url, 'http://up.example:8080/base/payments/pay%2F1%20x/refund');
    assert.equal(request.idempotencyKey, idempotencyKeyOf('d-1'));
    assert.equal(request.headers['idempotency-key'], 'warrant-contain-d-1');
    assert.deepEqual(JSON.parse(request.body!), {
      amount: 12.5,
      meta: { reason: 'contained', ids: ['pay/1 x'] },
      note: 'x {amount}',
    });
    const missing = compensationRequest(entry, { ...inputs, values: { amount: 1 } }, routes, 'run-1');
    assert.deepEqual(missing, { missing: 'the value payment_id was not found in the response of the call' });
    const noRoute = compensationRequest(entry, { ...inputs, route: 'https://elsewhere' }, routes, 'run-1');
    assert.ok('missing' in noRoute && /no route/.test(noRoute.missing));
    const objectInPath = compensationRequest(
      entry,
      { ...inputs, values: { ...inputs.values, payment_id: { a: 1 } } },
      routes,
      'r',
    );
    assert.ok('missing' in objectInPath);
    for (const payment_id of ['..', '.', '']) {
      const steered = compensationRequest(
        entry,
        { ...inputs, values: { ...inputs.values, payment_id } },
        routes,
        'r',
      );
      assert.ok('missing' in steered, `path value ${JSON.stringify(payment_id)} refused`);
    }
  });
});
