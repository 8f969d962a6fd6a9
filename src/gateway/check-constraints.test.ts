import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { duplicateMembers } from '../core/jose/strict-json.ts';
import { ActionCatalog, type CallDescriptor, type CatalogAction } from '../guard/catalog.ts';
import { checkConstraints } from './check-constraints.ts';
import { readCall } from './read-call.ts';
import { RequestParameters } from './read-parameters.ts';

const catalog = new ActionCatalog([
  {
    name: 'payments:refund',
    match: { protocol: 'http', method: 'POST', path: '/refunds' },
    parameters: {
      amount: { in: 'body', pointer: '/amount' },
      currency: { in: 'body', pointer: '/currency' },
      rows: { in: 'query', name: 'limit' },
      region: { in: 'header', name: 'X-Region' },
      destination: { in: 'body', pointer: '/to' },
    },
  },
  {
    name: 'payments:refund.mcp',
    match: { protocol: 'mcp', tool: 'refund' },
    parameters: { amount: { in: 'arguments', pointer: '/amount' } },
  },
  {
    name: 'payments:refund.a2a',
    match: { protocol: 'a2a', skill: 'refund' },
    parameters: { amount: { in: 'arguments', pointer: '/amount' } },
  },
] as unknown as CatalogAction[]);
const [http, mcp, a2a] = catalog.actions as [
  (typeof catalog.actions)[0],
  (typeof catalog.actions)[0],
  (typeof catalog.actions)[0],
];

function request(
  body: string | undefined,
  options: { query?: string; headers?: Record<string, string[]>; type?: string } = {},
) {
  const headers = { 'content-type': [options.type ?? 'application/json'], ...options.headers };
  return new RequestParameters(
    new URL(`http://gw.test/refunds${options.query ?? ''}`),
    { headersDistinct: headers },
    body === undefined ? undefined : Buffer.from(body),
  );
}

const httpCall: CallDescriptor = { protocol: 'http', method: 'POST', path: '/refunds' };
const grant = (constraints: Record<string, unknown>) => ({
  action: 'payments:*',
  resource: '*',
  constraints,
});

/** The code of the check (or 'ok'), for a grant constraint and a request. */
function check(constraints: Record<string, unknown>, r: RequestParameters, call = httpCall, action = http) {
  const result = checkConstraints(grant(constraints), action, r.reader(call));
  return result.ok ? 'ok' : result.code;
}

describe('checkConstraints', () => {
  test('numeric maxima: within, at, above; the values checked are reported', () => {
    const r = request('{"amount": 100, "currency": "EUR"}');
    assert.equal(check({ max_amount: 100 }, r), 'ok');
    assert.equal(check({ max_amount: 99.5 }, r), 'WARRANT_CONSTRAINT_EXCEEDED');
    const result = checkConstraints(grant({ max_amount: 500, currency: ['EUR'] }), http, r.reader(httpCall));
    assert.deepEqual(result, { ok: true, values: { amount: 100, currency: 'EUR' } });
  });

  test('a number sent as a string, a negative, a boolean or null: WARRANT_PARAMETER_INVALID', () => {
    for (const amount of ['"100"', '-1', 'true', 'null', '{}', '[1]', '1e400', '-1e400']) {
      assert.equal(
        check({ max_amount: 500 }, request(`{"amount": ${amount}}`)),
        'WARRANT_PARAMETER_INVALID',
        amount,
      );
    }
  });

  test('enumerations: a listed string passes; another string, or a number, does not', () => {
    assert.equal(check({ currency: ['EUR', 'USD'] }, request('{"currency":"USD"}')), 'ok');
    assert.equal(
      check({ currency: ['EUR'] }, request('{"currency":"JPY"}')),
      'WARRANT_CONSTRAINT_NOT_ALLOWED',
    );
    assert.equal(check({ currency: ['1'] }, request('{"currency":1}')), 'WARRANT_PARAMETER_INVALID');
  });

  test('destination, when the action locates it, must match a destination pattern', () => {
    const allowed = { destination: ['https://bank.example/*'] };
    assert.equal(check(allowed, request('{"to":"https://bank.example/acct/1"}')), 'ok');
    assert.equal(check(allowed, request('{"to":"https://evil.example/"}')), 'WARRANT_CONSTRAINT_NOT_ALLOWED');
    assert.equal(check(allowed, request('{}')), 'WARRANT_PARAMETER_MISSING');
    // data_class is the action's own class (checked by coverage), never a parameter.
    assert.equal(check({ data_class: 'public' }, request('{}')), 'ok');
  });

  test('a constraint on a value the catalog does not locate cannot be enforced: denied', () => {
    assert.equal(check({ max_fee: 1 }, request('{"fee":0}')), 'WARRANT_CONSTRAINT_UNENFORCEABLE');
    assert.equal(check({ channel: ['web'] }, request('{}')), 'WARRANT_CONSTRAINT_UNENFORCEABLE');
  });

  test('in: none — the action carries no such value, so the constraint does not apply to it', () => {
    const none = new ActionCatalog([
      {
        name: 'payments:refund',
        match: { protocol: 'http', path: '/refunds' },
        parameters: { rows: { in: 'none' }, amount: { in: 'body', pointer: '/amount' } },
      } as unknown as CatalogAction,
    ]).actions[0]!;
    assert.equal(check({ max_rows: 1, max_amount: 5 }, request('{"amount":5}'), httpCall, none), 'ok');
    assert.equal(
      check({ max_rows: 1, max_amount: 5 }, request('{"amount":6}'), httpCall, none),
      'WARRANT_CONSTRAINT_EXCEEDED',
    );
  });

  test('absent, or through a non-object: missing vs invalid', () => {
    assert.equal(check({ max_amount: 1 }, request('{"other":1}')), 'WARRANT_PARAMETER_MISSING');
    assert.equal(check({ max_amount: 1 }, request('[1]')), 'WARRANT_PARAMETER_MISSING');
    assert.equal(check({ max_amount: 1 }, request('"text"')), 'WARRANT_PARAMETER_INVALID');
  });

  test('the body: duplicate member names, not JSON, not declared JSON, empty — all invalid', () => {
    const bodies: [string | undefined, string | undefined][] = [
      ['{"amount": 1, "amount": 10000}', undefined],
      ['{"x": {"y": 1, "y": 2}, "amount": 1}', undefined],
      ['amount=1', undefined],
      ['{"amount": 1}', 'application/x-www-form-urlencoded'],
      ['{"amount": 1}', 'text/plain'],
      ['', undefined],
      [undefined, undefined],
    ];
    for (const [body, type] of bodies) {
      assert.equal(
        check({ max_amount: 500 }, request(body, type ? { type } : {})),
        'WARRANT_PARAMETER_INVALID',
        `${body} ${type}`,
      );
    }
    assert.equal(
      check(
        { max_amount: 500 },
        request('{"amount":1}', { type: 'application/merge-patch+json; charset=utf-8' }),
      ),
      'ok',
    );
    const twoTypes = request('{"amount":1}', {
      headers: { 'content-type': ['application/json', 'text/plain'] },
    });
    assert.equal(check({ max_amount: 500 }, twoTypes), 'WARRANT_PARAMETER_INVALID');
  });

  test('query parameters and headers: plain decimals only, never repeated', () => {
    assert.equal(check({ max_rows: 100 }, request('{}', { query: '?limit=100' })), 'ok');
    assert.equal(
      check({ max_rows: 100 }, request('{}', { query: '?limit=101' })),
      'WARRANT_CONSTRAINT_EXCEEDED',
    );
    for (const q of [
      '?limit=1e9',
      '?limit=-1',
      '?limit=0x10',
      '?limit=+5',
      '?limit=%2010',
      '?limit=01',
      '?limit=',
    ]) {
      assert.equal(check({ max_rows: 100 }, request('{}', { query: q })), 'WARRANT_PARAMETER_INVALID', q);
    }
    assert.equal(
      check({ max_rows: 100 }, request('{}', { query: '?limit=1&limit=1000' })),
      'WARRANT_PARAMETER_INVALID',
    );
    assert.equal(check({ max_rows: 100 }, request('{}')), 'WARRANT_PARAMETER_MISSING');
    assert.equal(check({ region: ['eu'] }, request('{}', { headers: { 'x-region': ['eu'] } })), 'ok');
    assert.equal(
      check({ region: ['eu'] }, request('{}', { headers: { 'x-region': ['eu', 'us'] } })),
      'WARRANT_PARAMETER_INVALID',
    );
  });

  test('every constraint is checked: the first failure wins', () => {
    const r = request('{"amount": 10, "currency": "JPY"}');
    const result = checkConstraints(grant({ max_amount: 100, currency: ['EUR'] }), http, r.reader(httpCall));
    assert.equal(result.ok, false);
    assert.deepEqual(result.values, { amount: 10, currency: 'JPY' });
  });
});

describe('call arguments (read once with the JSON-RPC body)', () => {
  const mcpCall = (args: string) =>
    readCall(
      'mcp',
      'POST',
      '/mcp',
      Buffer.from(
        `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"refund","arguments":${args}}}`,
      ),
    )[0]!;
  const a2aCall = (parts: string) =>
    readCall(
      'a2a',
      'POST',
      '/a2a',
      Buffer.from(
        `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":${parts},"metadata":{"skill":"refund"}}}}`,
      ),
    )[0]!;
  const r = request(undefined);
  const code = (call: CallDescriptor, action: typeof mcp) => {
    const reader = r.reader(call);
    if (reader.ambiguous !== undefined) return 'ambiguous';
    const result = checkConstraints(grant({ max_amount: 100 }), action, reader);
    return result.ok ? 'ok' : result.code;
  };

  test('MCP tools/call arguments', () => {
    assert.equal(code(mcpCall('{"amount": 100}'), mcp), 'ok');
    assert.equal(code(mcpCall('{"amount": 101}'), mcp), 'WARRANT_CONSTRAINT_EXCEEDED');
    assert.equal(code(mcpCall('{"amount": "1"}'), mcp), 'WARRANT_PARAMETER_INVALID');
    assert.equal(code(mcpCall('{}'), mcp), 'WARRANT_PARAMETER_MISSING');
    // A repeated name inside the arguments: the call is read, its arguments are ambiguous.
    assert.equal(code(mcpCall('{"amount": 1, "amount": 1000}'), mcp), 'ambiguous');
    assert.equal(code(mcpCall('{"n": {"a": 1, "a": 2}}'), mcp), 'ambiguous');
  });

  test('a repeated name outside the arguments makes the body itself malformed', () => {
    for (const body of [
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"refund","name":"delete_all"}}',
      '{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"refund"}}',
      '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"arguments":{"a":1,"a":2}}}',
    ]) {
      assert.throws(() => readCall('mcp', 'POST', '/mcp', Buffer.from(body)), {
        code: 'WARRANT_REQUEST_MALFORMED',
      });
    }
  });

  test('A2A: the data of the one data part (1.0 and 0.3 shapes)', () => {
    assert.equal(code(a2aCall('[{"text":"hi"},{"data":{"amount":50}}]'), a2a), 'ok');
    assert.equal(
      code(a2aCall('[{"kind":"data","data":{"amount":500}}]'), a2a),
      'WARRANT_CONSTRAINT_EXCEEDED',
    );
    assert.equal(code(a2aCall('[{"text":"refund 500"}]'), a2a), 'WARRANT_PARAMETER_MISSING');
    assert.equal(
      code(a2aCall('[{"data":{"amount":1}},{"data":{"amount":500}}]'), a2a),
      'WARRANT_PARAMETER_INVALID',
    );
    // Two data parts are only a problem for a constraint that reads them; repeated names always are.
    const twoParts = r.reader(a2aCall('[{"data":{"amount":1}},{"data":{"amount":500}}]'));
    assert.equal(twoParts.ambiguous, undefined);
    assert.equal(code(a2aCall('[{"data":{"amount":1,"amount":500}}]'), a2a), 'ambiguous');
  });
});

describe('duplicateMembers', () => {
  test('names the JSON pointer of every repeated member', () => {
    assert.deepEqual(duplicateMembers('{"a":1,"a":2}'), ['/a']);
    assert.deepEqual(duplicateMembers('[{"x":{"a/b":1,"a/b":2}},{"y":[0,{"c":1,"c~":2,"c":3}]}]'), [
      '/0/x/a~1b',
      '/1/y/1/c',
    ]);
    assert.deepEqual(duplicateMembers('{"s":"{\\"a\\":1,\\"a\\":2}","k":{"\\u0061":1,"a":2}}'), ['/k/a']);
    assert.deepEqual(duplicateMembers('{"a":[1,2],"b":{"a":1}}'), []);
  });
});
