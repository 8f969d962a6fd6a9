import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from './jcs.ts';

/** A double from its IEEE 754 bit pattern, as RFC 8785 Appendix B lists them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('RFC 8785 examples', () => {
  test('§3.2.2: the sample object (literals, numbers, string escapes)', () => {
    // The input of RFC 8785 §3.2.2, as JSON text (so the number literals are parsed as written).
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals": [null, true, false]}',
    );
    assert.equal(
      canonicalJson(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('§3.2.3: member sorting by UTF-16 code units', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        '"1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        '"\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    const out = canonicalJson(input);
    assert.equal(
      out,
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // The emoji (a surrogate pair, U+D83D…) sorts before U+FB33 by code units, though after it by code point.
    assert.ok(out.indexOf('\ud83d\ude00') < out.indexOf('\ufb33'));
  });

  test('Appendix B: number serialisation', () => {
    const samples: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'], // -0
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, want] of samples) assert.equal(canonicalJson(fromBits(bits)), want, bits);
    for (const bits of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
      assert.throws(() => canonicalJson(fromBits(bits)), TypeError, bits);
    }
  });

  test('number samples', () => {
    assert.equal(canonicalJson(1e21), '1e+21');
    assert.equal(canonicalJson(1e20), '100000000000000000000');
    assert.equal(canonicalJson(1e-7), '1e-7');
    assert.equal(canonicalJson(1e-6), '0.000001');
    assert.equal(canonicalJson(-0), '0');
    assert.equal(canonicalJson([-0]), '[0]');
    assert.equal(canonicalJson(Number('333333333.33333329')), '333333333.3333333');
    assert.equal(canonicalJson(4.5), '4.5');
    assert.equal(canonicalJson(0.1 + 0.2), '0.30000000000000004');
  });
});

describe('canonicalJson', () => {
  test('no whitespace, nested members sorted, literals', () => {
    assert.equal(
      canonicalJson({ b: [1, { z: null, a: true }], a: 'x', c: {} }),
      '{"a":"x","b":[1,{"a":true,"z":null}],"c":{}}',
    );
    assert.equal(canonicalJson([]), '[]');
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson(false), 'false');
    assert.equal(canonicalJson(''), '""');
  });

  test('keys compare by UTF-16 code units, not by locale or code point', () => {
    assert.equal(canonicalJson({ b: 1, B: 2, a: 3, A: 4, _: 5 }), '{"A":4,"B":2,"_":5,"a":3,"b":1}');
    assert.equal(canonicalJson({ '10': 1, '9': 2, '1': 3 }), '{"1":3,"10":1,"9":2}');
    // U+FF5E (one code unit, 0xFF5E) sorts after U+1F600 (surrogates 0xD83D 0xDE00).
    assert.equal(canonicalJson({ '\uff5e': 1, '😀': 2 }), '{"😀":2,"\uff5e":1}');
  });

  test('strings are escaped as JSON.stringify escapes them', () => {
    assert.equal(
      canonicalJson('\u0000\u001f\b\f\n\r\t"\\/\u007f\u2028é'),
      '"\\u0000\\u001f\\b\\f\\n\\r\\t\\"\\\\/\u007f\u2028é"',
    );
  });

  test('undefined members are left out; toJSON is honoured', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
    assert.equal(canonicalJson({ t: new Date(0) }), '{"t":"1970-01-01T00:00:00.000Z"}');
    assert.equal(canonicalJson(Object.assign(Object.create(null), { y: 1, x: 2 })), '{"x":2,"y":1}');
  });

  test('refuses what JSON cannot say, with a TypeError naming where', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = { back: cyclic };
    const bad: [unknown, RegExp][] = [
      [Number.NaN, /NaN/],
      [{ a: [1, Number.POSITIVE_INFINITY] }, /\$\.a\[1\]: Infinity/],
      [-Number.POSITIVE_INFINITY, /-Infinity/],
      [undefined, /undefined/],
      [[1, undefined], /\$\[1\]: undefined/],
      [() => 1, /function/],
      [{ f: () => 1 }, /\$\.f: a function/],
      [10n, /bigint/],
      [{ n: 10n }, /\$\.n: a bigint/],
      [Symbol('s'), /symbol/],
      [cyclic, /\$\.self\.back: cyclic/],
      [new Map([[1, 2]]), /Map/],
      [new Uint8Array(2), /Uint8Array/],
      [{ s: 'a\ud800b' }, /lone surrogate/],
      [{ 'a\udc00': 1 }, /lone surrogate/],
    ];
    for (const [value, message] of bad)
      assert.throws(() => canonicalJson(value), { name: 'TypeError', message });
  });

  test('shared (non-cyclic) references are fine', () => {
    const shared = { x: 1 };
    assert.equal(canonicalJson({ a: shared, b: [shared, shared] }), '{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
  });

  test('property: the output is JSON that parses back to the same value, and re-canonicalises to itself', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        const parsed: unknown = JSON.parse(text);
        assert.deepEqual(parsed, JSON.parse(JSON.stringify(value)));
        assert.equal(canonicalJson(parsed), text);
      }),
      { numRuns: 300 },
    );
  });

  test('property: member order of the input does not matter', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), (dict) => {
        const reversed = Object.fromEntries(Object.entries(dict).reverse());
        assert.equal(canonicalJson(reversed), canonicalJson(dict));
      }),
      { numRuns: 200 },
    );
  });
});
