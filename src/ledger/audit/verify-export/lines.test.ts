import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitLines } from './lines.ts';

async function lines(chunks: (string | Uint8Array)[], max = 10) {
  const out: { n: number; text: string | null; length: number; terminated: boolean }[] = [];
  for await (const l of splitLines(
    (async function* () {
      yield* chunks;
    })(),
    max,
  ))
    out.push({ n: l.n, text: l.bytes?.toString('utf8') ?? null, length: l.length, terminated: l.terminated });
  return out;
}

describe('splitLines', () => {
  test('lines split across chunks are joined; the last one without a newline is marked', async () => {
    assert.deepEqual(await lines(['ab', 'c\nde', 'f\n\ngh']), [
      { n: 1, text: 'abc', length: 3, terminated: true },
      { n: 2, text: 'def', length: 3, terminated: true },
      { n: 3, text: '', length: 0, terminated: true },
      { n: 4, text: 'gh', length: 2, terminated: false },
    ]);
  });

  test('a line longer than the limit is counted, not buffered; the next line is read normally', async () => {
    assert.deepEqual(await lines(['0123456789', 'ABC\nok\n'], 10), [
      { n: 1, text: null, length: 13, terminated: true },
      { n: 2, text: 'ok', length: 2, terminated: true },
    ]);
  });

  test('bytes are split on 0x0a only (multi-byte UTF-8 across a chunk boundary survives)', async () => {
    const bytes = Buffer.from('é\n', 'utf8');
    assert.deepEqual(await lines([bytes.subarray(0, 1), bytes.subarray(1)]), [
      { n: 1, text: 'é', length: 2, terminated: true },
    ]);
  });
});
