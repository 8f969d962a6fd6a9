/**
 * Property tests of the grant algebra over realistic grants: patterns from small alphabets (so that
 * containment actually happens), every constraint kind, and arbitraries that narrow, coarsen or widen.
 */

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { GrantError } from '../errors.ts';
import { DATA_CLASSES, dataClassRank } from './data-class.ts';
import { type Grant, isValidGrant, parseGrant } from './grant.ts';
import { grantsWithin, isWithin } from './is-within.ts';
import { narrow } from './narrow.ts';
import { patternMatches, patternMeet, patternWithin } from './pattern.ts';

const RUNS = { numRuns: 600 };

type Arb<T> = fc.Arbitrary<T>;
type Cons = Record<string, unknown>;

const ACTION_ALPHABET = ['a', 'b', ':'];
const RESOURCE_ALPHABET = ['x', 'y', '/'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const ENUM_POOLS: Record<string, string[]> = { currency: CURRENCIES, method: METHODS };

const word = (alphabet: string[], maxLength: number): Arb<string> =>
  fc.array(fc.constantFrom(...alphabet), { maxLength }).map((a) => a.join(''));

/** An exact string or a prefix pattern over `alphabet`. */
const patternArb = (alphabet: string[]): Arb<string> =>
  fc
    .tuple(word(alphabet, 3), fc.boolean())
    .filter(([body, star]) => star || body.length > 0)
    .map(([body, star]) => (star ? `${body}*` : body));

const actionArb = patternArb(ACTION_ALPHABET);
const resourceArb = patternArb(RESOURCE_ALPHABET);
const maxArb = fc.integer({ min: 0, max: 40 }).map((n) => n / 2);

const constraintArbs: Record<string, Arb<unknown>> = {
  max_amount: maxArb,
  max_rows: maxArb,
  data_class: fc.constantFrom(...DATA_CLASSES),
  destination: fc.uniqueArray(resourceArb, { minLength: 1, maxLength: 3 }),
  currency: fc.shuffledSubarray(CURRENCIES, { minLength: 1 }),
  method: fc.shuffledSubarray(METHODS, { minLength: 1 }),
};
const constraintsArb: Arb<Cons> = fc.record(constraintArbs, { requiredKeys: [], noNullPrototype: true });

function build(action: string, resource: string, constraints: Cons | undefined): Grant {
  return constraints === undefined ? { action, resource } : { action, resource, constraints };
}

const grantArb: Arb<Grant> = fc
  .tuple(actionArb, resourceArb, fc.option(constraintsArb, { nil: undefined }))
  .map(([a, r, c]) => build(a, r, c));

const uniq = (xs: readonly string[]): string[] => [...new Set(xs)];
const consOf = (g: Grant): Cons => ({ ...(g.constraints ?? {}) });

// ---- narrowing: an arbitrary grant within a given one --------------------------------------------------

function narrowPattern(p: string, alphabet: string[]): Arb<string> {
  if (!p.endsWith('*')) return fc.constant(p);
  const q = p.slice(0, -1);
  return fc
    .tuple(word(alphabet, 2), fc.boolean())
    .filter(([ext, star]) => star || q.length + ext.length > 0)
    .map(([ext, star]) => q + ext + (star ? '*' : ''));
}

function narrowValue(key: string, v: unknown): Arb<unknown> {
  if (key.startsWith('max_')) return fc.integer({ min: 0, max: (v as number) * 2 }).map((n) => n / 2);
  if (key === 'data_class') return fc.constantFrom(...DATA_CLASSES.slice(0, dataClassRank(v) + 1));
  const list = v as string[];
  if (key === 'destination') {
    return fc
      .tuple(...list.map((p) => narrowPattern(p, RESOURCE_ALPHABET)))
      .chain((ps) => fc.shuffledSubarray(uniq(ps), { minLength: 1 }));
  }
  return fc.shuffledSubarray(list, { minLength: 1 });
}

/** A random grant within `g`: narrower patterns, every constraint kept tighter or equal, maybe new ones. */
function narrowing(g: Grant): Arb<Grant> {
  const c = consOf(g);
  const kept = fc.record(Object.fromEntries(Object.keys(c).map((k) => [k, narrowValue(k, c[k])])), {
    noNullPrototype: true,
  });
  return fc
    .tuple(
      narrowPattern(g.action, ACTION_ALPHABET),
      narrowPattern(g.resource, RESOURCE_ALPHABET),
      kept,
      constraintsArb,
    )
    .map(([action, resource, narrowed, extra]) => {
      const added = Object.fromEntries(Object.entries(extra).filter(([k]) => !(k in c)));
      const constraints = { ...added, ...narrowed };
      return build(action, resource, Object.keys(constraints).length === 0 ? g.constraints : constraints);
    });
}

// ---- coarsening: an arbitrary grant that contains a given one ------------------------------------------

function coarsenPattern(p: string): Arb<string> {
  const body = p.endsWith('*') ? p.slice(0, -1) : p;
  return fc
    .integer({ min: 0, max: body.length + 1 })
    .map((cut) => (cut > body.length ? p : `${body.slice(0, cut)}*`));
}

function coarsenValue(key: string, v: unknown): Arb<unknown> {
  if (key.startsWith('max_')) return fc.integer({ min: 0, max: 10 }).map((n) => (v as number) + n / 2);
  if (key === 'data_class') return fc.constantFrom(...DATA_CLASSES.slice(dataClassRank(v)));
  const list = v as string[];
  if (key === 'destination') {
    return fc
      .tuple(fc.tuple(...list.map(coarsenPattern)), fc.array(resourceArb, { maxLength: 2 }))
      .map(([ps, extra]) => uniq([...ps, ...extra]));
  }
  return fc
    .shuffledSubarray([...(ENUM_POOLS[key] ?? []), 'QQQ'])
    .chain((more) =>
      fc.shuffledSubarray(uniq([...list, ...more]), { minLength: uniq([...list, ...more]).length }),
    );
}

/** A random grant that `g` is within: wider patterns, a subset of its constraints, each looser or equal. */
function coarsening(g: Grant): Arb<Grant> {
  const c = consOf(g);
  const model = Object.fromEntries(Object.keys(c).map((k) => [k, coarsenValue(k, c[k])]));
  return fc
    .tuple(
      coarsenPattern(g.action),
      coarsenPattern(g.resource),
      fc.record(model, { requiredKeys: [], noNullPrototype: true }),
    )
    .map(([action, resource, constraints]) => build(action, resource, constraints));
}

// ---- widening: a change to a within-grant that makes it exceed its parent ------------------------------

type Widen = (child: Grant) => Grant;

function widenPattern(p: string): string | undefined {
  if (p === '*') return undefined;
  if (!p.endsWith('*')) return `${p}*`;
  return `${p.slice(0, -2)}*`;
}

function withConstraints(g: Grant, change: (c: Cons) => void): Grant {
  const c = consOf(g);
  change(c);
  return build(g.action, g.resource, c);
}

/** Every widening that applies to a child of `parent`; each one makes the child not within `parent`. */
function widenings(parent: Grant): Widen[] {
  const out: Widen[] = [];
  const action = widenPattern(parent.action);
  if (action !== undefined) out.push((c) => ({ ...c, action }));
  const resource = widenPattern(parent.resource);
  if (resource !== undefined) out.push((c) => ({ ...c, resource }));
  const pc = consOf(parent);
  for (const [key, v] of Object.entries(pc)) {
    out.push((g) => withConstraints(g, (c) => delete c[key]));
    if (key.startsWith('max_')) out.push((g) => withConstraints(g, (c) => (c[key] = (v as number) + 0.5)));
    if (key === 'data_class' && dataClassRank(v) < DATA_CLASSES.length - 1) {
      out.push((g) => withConstraints(g, (c) => (c[key] = DATA_CLASSES[dataClassRank(v) + 1])));
    }
    if (key === 'currency' || key === 'method') {
      const extra = [...ENUM_POOLS[key]!, 'QQQ'].find((x) => !(v as string[]).includes(x))!;
      out.push((g) => withConstraints(g, (c) => (c[key] = [...(c[key] as string[]), extra])));
    }
    if (key === 'destination' && !(v as string[]).includes('*')) {
      out.push((g) => withConstraints(g, (c) => (c[key] = [...(c[key] as string[]), 'zz*'])));
    }
  }
  return out;
}

// ---- properties --------------------------------------------------------------------------------------

/** Every string over the alphabets plus one foreign character, up to length 4: enough to witness non-containment. */
const SAMPLE: string[] = (() => {
  const chars = [...ACTION_ALPHABET, 'z'];
  let level = [''];
  const all = [''];
  for (let n = 1; n <= 4; n++) {
    level = level.flatMap((s) => chars.map((ch) => s + ch));
    all.push(...level);
  }
  return all;
})();

describe('grant algebra properties', () => {
  test('generated grants are well-formed', () => {
    fc.assert(
      fc.property(grantArb, (g) => {
        assert.deepEqual(parseGrant(g), g);
      }),
      RUNS,
    );
  });

  test('patternWithin and patternMeet agree with matching over every short string', () => {
    fc.assert(
      fc.property(actionArb, actionArb, (a, b) => {
        const semantic = SAMPLE.every((s) => !patternMatches(a, s) || patternMatches(b, s));
        assert.equal(patternWithin(a, b), semantic);
        const m = patternMeet(a, b);
        for (const s of SAMPLE) {
          const both = patternMatches(a, s) && patternMatches(b, s);
          assert.equal(m === undefined ? false : patternMatches(m, s), both);
        }
      }),
      RUNS,
    );
  });

  test('isWithin is reflexive', () => {
    fc.assert(
      fc.property(grantArb, (g) => isWithin(g, g)),
      RUNS,
    );
  });

  test('random narrowings are within, and narrowing twice is transitive', () => {
    const chain = grantArb.chain((a) => narrowing(a).chain((b) => narrowing(b).map((c) => ({ a, b, c }))));
    fc.assert(
      fc.property(chain, ({ a, b, c }) => {
        assert.ok(isValidGrant(b) && isValidGrant(c));
        assert.ok(isWithin(b, a), 'b within a');
        assert.ok(isWithin(c, b), 'c within b');
        assert.ok(isWithin(c, a), 'c within a');
      }),
      RUNS,
    );
  });

  test('isWithin is transitive on random triples', () => {
    fc.assert(
      fc.property(
        grantArb,
        grantArb,
        grantArb,
        (a, b, c) => !(isWithin(a, b) && isWithin(b, c)) || isWithin(a, c),
      ),
      { numRuns: 1000 },
    );
  });

  test('isWithin is antisymmetric up to equal meaning: mutual containment implies equal action and resource', () => {
    fc.assert(
      fc.property(grantArb, grantArb, (a, b) => {
        if (isWithin(a, b) && isWithin(b, a)) assert.ok(a.action === b.action && a.resource === b.resource);
      }),
      RUNS,
    );
  });

  test('a random widening of a within-grant is not within', () => {
    const pair = grantArb.chain((p) =>
      narrowing(p).chain((c) => {
        const ws = widenings(p);
        return ws.length === 0
          ? fc.constant({ p, c, w: c, ok: false })
          : fc.integer({ min: 0, max: ws.length - 1 }).map((i) => ({ p, c, w: ws[i]!(c), ok: true }));
      }),
    );
    fc.assert(
      fc.property(pair, ({ p, c, w, ok }) => {
        fc.pre(ok);
        assert.ok(isWithin(c, p), 'the narrowed child is within');
        assert.ok(isValidGrant(w), 'the widened child is well-formed');
        assert.ok(!isWithin(w, p), 'the widened child is not within');
      }),
      RUNS,
    );
  });

  test('coarsenings contain the grant', () => {
    fc.assert(
      fc.property(
        grantArb.chain((x) => coarsening(x).map((y) => ({ x, y }))),
        ({ x, y }) => {
          assert.ok(isValidGrant(y));
          assert.ok(isWithin(x, y));
        },
      ),
      RUNS,
    );
  });

  test('narrow never widens, covers every request, and fails only when a request meets nothing', () => {
    const sets = fc.array(grantArb, { minLength: 1, maxLength: 3 }).chain((held) =>
      fc
        .array(
          fc.oneof(
            grantArb,
            fc.constantFrom(...held).chain(narrowing),
            fc.constantFrom(...held).chain(coarsening),
          ),
          {
            minLength: 1,
            maxLength: 3,
          },
        )
        .map((requested) => ({ held, requested })),
    );
    fc.assert(
      fc.property(sets, ({ held, requested }) => {
        let out: Grant[];
        try {
          out = narrow(requested, held);
        } catch (e) {
          assert.ok(e instanceof GrantError && e.code === 'WARRANT_GRANT_NOT_HELD', String(e));
          assert.ok(requested.some((r) => held.every((h) => !isWithin(r, h) && !isWithin(h, r))));
          return;
        }
        for (const o of out) {
          assert.ok(
            held.some((h) => isWithin(o, h)),
            'within some held grant',
          );
          assert.ok(
            requested.some((r) => isWithin(o, r)),
            'within some requested grant',
          );
        }
        for (const r of requested)
          assert.ok(
            out.some((o) => isWithin(o, r)),
            'every request is represented',
          );
        assert.ok(grantsWithin(out, held));
        if (grantsWithin(requested, held))
          assert.ok(grantsWithin(requested, out), 'nothing held and asked is lost');
      }),
      RUNS,
    );
  });

  test('narrow of a grant with itself gives it back', () => {
    fc.assert(
      fc.property(grantArb, (g) => {
        assert.deepEqual(narrow([g], [g]), [g]);
      }),
      RUNS,
    );
  });

  test('narrow is exact when the request is within the held grant', () => {
    fc.assert(
      fc.property(
        grantArb.chain((h) => narrowing(h).map((r) => ({ h, r }))),
        ({ h, r }) => {
          const out = narrow([r], [h]);
          assert.equal(out.length, 1);
          assert.ok(isWithin(out[0]!, r) && isWithin(r, out[0]!));
        },
      ),
      RUNS,
    );
  });

  test('narrow is the greatest lower bound: whatever is within both sides is within the meet', () => {
    const triple = grantArb.chain((x) => fc.tuple(fc.constant(x), coarsening(x), coarsening(x)));
    fc.assert(
      fc.property(triple, ([x, r, h]) => {
        const out = narrow([r], [h]);
        assert.equal(out.length, 1);
        assert.ok(isWithin(x, out[0]!));
      }),
      RUNS,
    );
  });
});
