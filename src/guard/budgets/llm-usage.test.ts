import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageMeter } from './llm-usage.ts';

const meter = (...chunks: string[]): number | undefined => {
  const m = new UsageMeter();
  for (const c of chunks) m.write(Buffer.from(c));
  return m.total();
};

test('a JSON completion: usage.total_tokens, whatever the chunking', () => {
  const body = JSON.stringify({
    id: 'c',
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  });
  assert.equal(meter(body), 7);
  assert.equal(meter(body.slice(0, 10), body.slice(10, 11), body.slice(11)), 7);
});

test('a stream: the usage of the final chunk, split anywhere, multi-byte text included', () => {
  const events = [
    'data: {"choices":[{"delta":{"content":"héllo"}}],"usage":null}\n\n',
    'data: {"choices":[],"usage":{"total_tokens":42}}\n\n',
    'data: [DONE]\n\n',
  ].join('');
  const bytes = Buffer.from(events);
  const m = new UsageMeter();
  for (let i = 0; i < bytes.length; i += 3) m.write(bytes.subarray(i, i + 3));
  assert.equal(m.total(), 42);
});

test('a Responses API stream: the usage of response.completed', () => {
  assert.equal(
    meter(
      'event: response.completed\n',
      'data: {"type":"response.completed","response":{"usage":{"total_tokens":9}}}\n\n',
    ),
    9,
  );
});

test('no usage, or a usage that is not a non-negative number: nothing counted', () => {
  assert.equal(meter('data: {"choices":[]}\n\ndata: [DONE]\n\n'), undefined);
  assert.equal(meter('{"usage":{"total_tokens":"5"}}'), undefined);
  assert.equal(meter('{"usage":{"total_tokens":-1}}'), undefined);
  assert.equal(meter('not json'), undefined);
  assert.equal(meter(), undefined);
});
