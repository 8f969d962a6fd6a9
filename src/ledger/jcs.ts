/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value, so that a hash or signature
 * over a record does not depend on who serialised it.
 *
 * - objects: members sorted by key, comparing UTF-16 code units (what `Array.prototype.sort` does);
 *   no whitespace; members whose value is `undefined` are left out, as `JSON.stringify` does;
 * - numbers: the ECMAScript shortest round-trip form (`JSON.stringify`), so -0 is `0`, 1e21 is `1e+21`;
 * - strings: escaped as `JSON.stringify` escapes them (`\"`, `\\`, `\b \f \n \r \t`, other controls as
 *   `\u00xx`, everything else as is);
 * - values with a `toJSON` method (a `Date`) are replaced by its result, as in `JSON.stringify`.
 *
 * Refused with a `TypeError` (never silently dropped or mangled): non-finite numbers, BigInt, functions,
 * symbols, `undefined` at the top level or inside an array, strings with lone surrogates (not I-JSON,
 * RFC 7493), objects that are neither plain objects nor arrays (a `Map` would otherwise become `{}`), and
 * cycles.
 */

export function canonicalJson(value: unknown): string {
  const trail: (string | number)[] = [];
  const ancestors = new Set<object>();

  const fail = (why: string): never => {
    let where = '$';
    for (const step of trail) where += typeof step === 'number' ? `[${step}]` : `.${step}`;
    throw new TypeError(`canonicalJson: ${where}: ${why}`);
  };

  const serialise = (input: unknown, key: string): string => {
    let v = input;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON: (key: string) => unknown }).toJSON(key);
    }
    switch (typeof v) {
      case 'string':
        if (!v.isWellFormed()) fail('string has a lone surrogate (not I-JSON)');
        return JSON.stringify(v);
      case 'number':
        if (!Number.isFinite(v)) fail(`${v} is not a JSON number`);
        return JSON.stringify(v);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'object':
        break;
      case 'undefined':
        return fail('undefined is not a JSON value');
      default:
        return fail(`a ${typeof v} is not a JSON value`);
    }
    if (v === null) return 'null';
    if (ancestors.has(v)) fail('cyclic structure');
    ancestors.add(v);
    let out: string;
    if (Array.isArray(v)) {
      out = '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ',';
        trail.push(i);
        out += serialise(v[i], String(i));
        trail.pop();
      }
      out += ']';
    } else {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const name = (proto as { constructor?: { name?: string } } | null)?.constructor?.name;
        fail(`a ${name || 'non-plain'} object is not a JSON value`);
      }
      const record = v as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      out = '{';
      for (const k of keys) {
        const member = record[k];
        if (member === undefined) continue;
        trail.push(k);
        if (!k.isWellFormed()) fail('member name has a lone surrogate (not I-JSON)');
        if (out.length > 1) out += ',';
        out += `${JSON.stringify(k)}:${serialise(member, k)}`;
        trail.pop();
      }
      out += '}';
    }
    ancestors.delete(v);
    return out;
  };

  return serialise(value, '');
}
