import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateSigningKey } from '../../../core/jose/jwk.ts';
import { noteVerifierKey } from '../../checkpoint.ts';
import { readExport } from './read.ts';
import { VerifyState } from './state.ts';

const HEADER = JSON.stringify({
  type: 'warrant-ledger-export',
  version: 1,
  origin: 'test.example/ledger',
  verifierKeys: [noteVerifierKey('test.example/ledger', generateSigningKey('EdDSA'))],
});

async function read(...chunks: (string | Uint8Array)[]): Promise<VerifyState> {
  const state = new VerifyState({});
  await readExport(
    (async function* () {
      yield* chunks;
    })(),
    state,
  );
  return state;
}

const messages = (s: VerifyState) => s.problems.map((p) => p.message);

describe('readExport', () => {
  test('an empty file is named, as is a first line that is not a header', async () => {
    assert.deepEqual(messages(await read()), ['line 1: the file is empty: line 1 must be the export header']);
    const notJson = await read('hello\n{"type":"record"}\n');
    assert.equal(notJson.lastLine, 1, 'reading stops at line 1');
    assert.match(messages(notJson)[0]!, /^line 1: not JSON: /);
  });

  test('lines that cannot be read stand for the record expected there, so later lines keep their numbers', async () => {
    const s = await read(`${HEADER}\n`, Buffer.from([0xff, 0xfe, 0x0a]), '\n', '{"type":"note"}\n');
    assert.deepEqual(messages(s), [
      'line 2: not UTF-8 text (binary data?)',
      'line 3: an empty line',
      'line 4: unknown line type "note": expected "record" or "checkpoint"',
    ]);
    assert.deepEqual([s.tree.size, s.expected, s.lineOf], [3, 3, [2, 3, 4]]);
  });

  test('a last line without a newline, and a second header, are named', async () => {
    const s = await read(`${HEADER}\n${HEADER}`);
    assert.deepEqual(messages(s), [
      'line 2: the last line does not end with a newline (truncated file?)',
      'line 2: a second header: only line 1 is a header (two exports joined?)',
    ]);
  });

  test('reading stops after maxProblems problems', async () => {
    const state = new VerifyState({ maxProblems: 2 });
    await readExport(
      (async function* () {
        yield `${HEADER}\nx\ny\nz\n`;
      })(),
      state,
    );
    assert.deepEqual([state.problems.length, state.stopped, state.lastLine], [2, true, 3]);
  });

  test('a stream that fails is a problem of the file as a whole', async () => {
    const state = new VerifyState({});
    await readExport(
      (async function* () {
        yield `${HEADER}\n`;
        throw Object.assign(new Error('read failed'), { code: 'EIO' });
      })(),
      state,
    );
    assert.deepEqual(messages(state), ['cannot read the export: EIO: read failed']);
  });
});
