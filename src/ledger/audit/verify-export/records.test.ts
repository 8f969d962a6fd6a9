import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalRecord } from '../../canonical-record.ts';
import { leafHash } from '../../merkle.ts';
import { fastRecord, isCanonical, leafOf, readRecord } from './records.ts';
import { VerifyState } from './state.ts';

const line = (i: number, record = canonicalRecord({ time: '2025-06-15T10:00:00Z', id: `d${i}` }, i)) =>
  `{"type":"record","index":${i},"record":${record}}`;

/** Reads record lines (text as written) into a fresh state, as `read.ts` would. */
function read(texts: string[]): VerifyState {
  const state = new VerifyState({});
  texts.forEach((text, k) => {
    const fast = fastRecord(text);
    const obj = fast ? { type: 'record', index: fast.index, record: fast.record } : JSON.parse(text);
    readRecord(state, k + 2, obj, Buffer.from(`${text}\n`), text, fast);
  });
  return state;
}

describe('fastRecord', () => {
  test("takes only the exporter's exact shape", () => {
    const text = line(12);
    const fast = fastRecord(text)!;
    assert.equal(fast.index, 12);
    assert.equal(text.slice(fast.start, -1), fast.raw);
    assert.equal(fast.record['id'], 'd12');
    for (const other of [
      '{"type":"record","index":012,"record":{}}',
      '{"type":"record","index":1,"record":[]}',
      '{"index":1,"type":"record","record":{}}',
      '{"type":"record","index":1,"record":{"a":}}',
    ])
      assert.equal(fastRecord(other), null, other);
  });
});

describe('isCanonical', () => {
  test('RFC 8785 text only, integer-like member names included', () => {
    assert.equal(isCanonical({ a: 1, b: [1, 'x'] }, '{"a":1,"b":[1,"x"]}'), true);
    assert.equal(isCanonical({ b: 1, a: 1 }, '{"b":1,"a":1}'), false);
    assert.equal(isCanonical({ a: 1.0 }, '{"a":1.0}'), false);
    const numeric = JSON.parse('{"10":1,"9":2}');
    assert.equal(isCanonical(numeric, '{"10":1,"9":2}'), true);
    assert.equal(isCanonical({ s: '\ud800' }, '{"s":"\\ud800"}'), false);
  });

  test('leafOf is the RFC 9162 leaf hash', () => {
    const bytes = Buffer.from('{"a":1}');
    assert.deepEqual(Buffer.from(leafOf(bytes)), Buffer.from(leafHash(bytes)));
    const big = Buffer.alloc(200_000, 0x61);
    assert.deepEqual(Buffer.from(leafOf(big)), Buffer.from(leafHash(big)));
  });
});

describe('readRecord', () => {
  test('records in order: each leaf in the tree, no problem', () => {
    const state = read([line(0), line(1), line(2)]);
    assert.deepEqual(state.problems, []);
    assert.equal(state.tree.size, 3);
    assert.equal(state.records, 3);
    assert.deepEqual(state.lineOf, [2, 3, 4]);
  });

  test('a gap, a repeat and reordering are named at the line where the sequence breaks', () => {
    const state = read([line(0), line(2), line(2), line(1)]);
    assert.deepEqual(
      state.problems.map((p) => p.message),
      [
        'line 3: record 2 where record 1 was expected: record 1 is missing (removed), or records were reordered',
        'line 4: record 2 appears again (first on line 3): one of the two lines was inserted or copied',
        'line 5: record 1 where record 3 was expected: records are out of order',
      ],
    );
  });

  test('a record not written as hashed is malformed, and hashed as canonical; its own index must agree', () => {
    const state = read([
      line(0, '{"time":"2025-06-15T10:00:00Z","index":0}'),
      line(1, '{"index":7,"time":"x"}'),
    ]);
    assert.deepEqual(
      state.problems.map((p) => [p.code, p.message]),
      [
        [
          'WARRANT_AUDIT_EXPORT_MALFORMED',
          'line 2: record 0 is not written exactly as hashed: the line must be {"type":"record","index":0,"record":<the record\'s RFC 8785 canonical JSON>}',
        ],
        ['WARRANT_AUDIT_EXPORT_TAMPERED', 'line 3: the record\'s own "index" is "7" but the line says 1'],
        ['WARRANT_AUDIT_EXPORT_MALFORMED', 'line 3: record 1: "time" must be an ISO 8601 date-time'],
      ],
    );
    assert.deepEqual(
      Buffer.from(state.tree.leafHash(0)),
      Buffer.from(leafOf(Buffer.from('{"index":0,"time":"2025-06-15T10:00:00Z"}'))),
    );
  });
});
