import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBody } from './body.ts';

/** A request-like body: `chunks` pulled one by one (`pulled()` counts them), `contentLength` declared. */
function body(chunks: string[], contentLength?: number) {
  let pulled = 0;
  const req = {
    headers: contentLength === undefined ? {} : { 'content-length': String(contentLength) },
    async *[Symbol.asyncIterator]() {
      for (const c of chunks) {
        pulled++;
        yield Buffer.from(c);
      }
    },
  };
  return Object.assign(req, { pulled: () => pulled });
}

const tooLarge = () => new Error('too large');

test('readBody: the whole body under the limit', async () => {
  assert.equal((await readBody(body(['ab', 'cd']), 4, tooLarge)).toString(), 'abcd');
  assert.equal((await readBody(body([]), 0, tooLarge)).length, 0);
});

test('readBody: a declared length over the limit is refused before anything is read', async () => {
  const req = body(['abcdef'], 6);
  await assert.rejects(readBody(req, 5, tooLarge), /too large/);
  assert.equal(req.pulled(), 0);
});

test('readBody: a streamed body is cut as soon as it passes the limit', async () => {
  const req = body(['abc', 'def', 'ghi']);
  await assert.rejects(readBody(req, 5, tooLarge), /too large/);
  assert.equal(req.pulled(), 2, 'nothing read past the chunk that crossed the limit');
});
