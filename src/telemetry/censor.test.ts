import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CENSOR, censor, REDACTED_KEYS } from './censor.ts';

describe('censor', () => {
  test('every listed key is censored, at the top and nested in objects and arrays', () => {
    for (const key of REDACTED_KEYS) {
      assert.deepEqual(censor({ [key]: 'secret', keep: 1 }), { [key]: CENSOR, keep: 1 });
      assert.deepEqual(censor({ a: { b: { c: { [key]: 'secret' } } } }), {
        a: { b: { c: { [key]: CENSOR } } },
      });
      assert.deepEqual(censor({ list: [{ [key]: 'secret' }, 'x'] }), { list: [{ [key]: CENSOR }, 'x'] });
    }
  });

  test('header names as usually capitalised are censored too', () => {
    assert.deepEqual(
      censor({
        headers: { Authorization: 'a', DPoP: 'b', 'Warrant-Chain': 'c', Cookie: 'd', 'Txn-Token': 'e' },
      }),
      {
        headers: {
          Authorization: CENSOR,
          DPoP: CENSOR,
          'Warrant-Chain': CENSOR,
          Cookie: CENSOR,
          'Txn-Token': CENSOR,
        },
      },
    );
  });

  test('the logged object is not changed, and an object without credentials is returned as is', () => {
    const logged = { headers: { authorization: 'secret', host: 'h' }, n: 1 };
    const out = censor(logged);
    assert.equal(logged.headers.authorization, 'secret');
    assert.notEqual(out, logged);
    assert.equal(out.headers.host, 'h');
    const clean = { a: { b: [1, 2] }, c: 'x' };
    assert.equal(censor(clean), clean);
  });

  test('class instances are walked (their own properties), errors and byte arrays are not', () => {
    class Request {
      headers = { authorization: 'secret' };
    }
    assert.deepEqual(censor({ req: new Request() }), { req: { headers: { authorization: CENSOR } } });
    const error = Object.assign(new Error('x'), { token: 'left to the error serializer' });
    assert.equal(censor({ err: error }).err, error);
    const bytes = Buffer.from('token');
    assert.equal(censor({ bytes }).bytes, bytes);
  });

  test('a cycle or a very deep object is cut at depth six, never written unchecked', () => {
    const a: Record<string, unknown> = { token: 'secret' };
    a['self'] = a;
    const text = JSON.stringify(censor(a));
    assert.equal(text.includes('secret'), false);
    assert.match(text, /"\[depth\]"/);
    let deep: Record<string, unknown> = { access_token: 'secret' };
    for (let i = 0; i < 10; i++) deep = { inner: deep };
    assert.equal(JSON.stringify(censor(deep)).includes('secret'), false);
    const shallow = { a: { b: { c: { d: { e: { f: 'kept' } } } } } };
    assert.equal(censor(shallow), shallow);
  });
});
