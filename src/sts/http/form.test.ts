import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OAuthError } from '../oauth-error.ts';
import { parseForm } from './form.ts';

const FORM = 'application/x-www-form-urlencoded';
const form = (text: string | Buffer) => parseForm(Buffer.isBuffer(text) ? text : Buffer.from(text), FORM);

test('names and values are form-decoded: + is a space, %XX a UTF-8 byte; plain values pass as they are', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl-_';
  const params = form(`a=${jwt}&b=x+y%2Bz&c=%C3%A9t%C3%A9&d=`);
  assert.equal(params.get('a'), jwt);
  assert.equal(params.get('b'), 'x y+z');
  assert.equal(params.get('c'), 'été');
  assert.equal(params.has('d'), false, 'an empty value counts as absent');
});

test('a body that is not UTF-8 is refused, and the next body still parses (no decoder state carries over)', () => {
  assert.throws(
    () => form(Buffer.from([0x61, 0x3d, 0xc3])),
    (e: unknown) => {
      assert.ok(e instanceof OAuthError);
      assert.equal(e.code, 'WARRANT_REQUEST_MALFORMED');
      assert.match(e.message, /UTF-8/);
      return true;
    },
  );
  assert.equal(form('a=%C3%A9').get('a'), 'é');
});

test('bad percent-encoding, a repeated name and a bad name are refused', () => {
  for (const body of ['a=%E0%A4%A', 'a=%zz', 'a=1&a=2', 'a=&a=2', 'b%20c=1'])
    assert.throws(
      () => form(body),
      (e: unknown) => e instanceof OAuthError && e.code === 'WARRANT_REQUEST_MALFORMED',
      body,
    );
});
