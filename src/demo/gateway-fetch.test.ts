import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refusalOf } from './gateway-fetch.ts';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

test('a refusal is read from an OAuth-style body, with its approval id', async () => {
  const refusal = await refusalOf(
    json(403, {
      error: 'access_denied',
      code: 'WARRANT_APPROVAL_REQUIRED',
      error_description: 'above the bound',
      approval_id: 'a-1',
    }),
  );
  assert.deepEqual(refusal, {
    status: 403,
    code: 'WARRANT_APPROVAL_REQUIRED',
    description: 'above the bound',
    approvalId: 'a-1',
  });
});

test('a refusal is read from a JSON-RPC error whose data carries the Warrant code (mcp and a2a routes)', async () => {
  const refusal = await refusalOf(
    json(200, {
      jsonrpc: '2.0',
      id: 3,
      error: {
        code: -32001,
        message: 'approval required',
        data: { code: 'WARRANT_APPROVAL_REQUIRED', error_description: 'ask alice', approval_id: 'a-2' },
      },
    }),
  );
  assert.equal(refusal?.code, 'WARRANT_APPROVAL_REQUIRED');
  assert.equal(refusal?.approvalId, 'a-2');
  assert.equal(refusal?.description, 'ask alice');
});

test('an answer that is no refusal is none: a result, a non-Warrant code, no JSON, nothing', async () => {
  assert.equal(await refusalOf(json(200, { jsonrpc: '2.0', id: 1, result: { content: [] } })), undefined);
  assert.equal(await refusalOf(json(500, { code: 'ECONNRESET' })), undefined);
  assert.equal(await refusalOf(new Response('not json', { status: 502 })), undefined);
  assert.equal(await refusalOf(undefined), undefined);
});
