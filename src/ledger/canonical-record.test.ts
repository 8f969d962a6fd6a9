import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalRecord, recordLeafHash } from './canonical-record.ts';
import { canonicalJson } from './jcs.ts';
import { leafHash } from './merkle.ts';

const reference = (record: object, index: number) => canonicalJson({ ...record, index });

test('the canonical record is byte for byte what canonicalJson writes', () => {
  const key = fc.oneof(
    fc.string(),
    fc.constantFrom(
      '0',
      '1',
      '10',
      '9',
      '01',
      '-1',
      '4294967295',
      '__proto__',
      'index2',
      'é',
      '😀',
      'a\u0000b',
    ),
  );
  const value = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    ),
  })).value;
  const record = fc.dictionary(
    key.filter((k) => k !== 'index'),
    value,
    { maxKeys: 8 },
  );
  fc.assert(
    fc.property(record, fc.nat(), (r, index) => {
      let expected: string | Error;
      try {
        expected = reference(r, index);
      } catch (error) {
        expected = error as Error;
      }
      if (expected instanceof Error) {
        assert.throws(() => canonicalRecord(r, index), TypeError);
      } else {
        assert.equal(canonicalRecord(r, index), expected);
      }
    }),
    { numRuns: 1000 },
  );
});

test('values the fast route cannot write exactly go to the reference', () => {
  const cases: object[] = [
    { b: 1, 10: 'x', 9: 'y', a: [1, 2] },
    JSON.parse('{"__proto__": {"x": 1}, "a": 2}'),
    { when: new Date(0) },
    { nested: { toJSON: () => 'custom' } },
    { nested: Object.assign(Object.create(null), { z: 1, a: 2 }) },
    { n: -0, big: 1e21, small: 1e-7 },
  ];
  for (const c of cases) assert.equal(canonicalRecord(c, 3), reference(c, 3));
  assert.throws(() => canonicalRecord({ x: Number.NaN }, 0), TypeError);
  assert.throws(() => canonicalRecord({ x: [undefined] }, 0), TypeError);
  assert.throws(() => canonicalRecord({ x: 'lone \ud800' }, 0), TypeError);
  assert.throws(() => canonicalRecord({ x: new Map() }, 0), TypeError);
  assert.throws(() => canonicalRecord({ x: 1n }, 0), TypeError);
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  assert.throws(() => canonicalRecord(cyclic, 0), TypeError);
});

test('the record leaf hash is the RFC 9162 leaf hash of the UTF-8 text', () => {
  for (const text of ['', '{"index":0}', 'é😀\u0000x', 'a'.repeat(5000), 'b']) {
    const utf8 = new TextEncoder().encode(text);
    assert.deepEqual(recordLeafHash(text), leafHash(utf8));
  }
});
