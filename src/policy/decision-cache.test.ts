import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, DecisionCache, decisionKey } from './decision-cache.ts';
import { loadPolicySet } from './policy-set.ts';
import type { AuthorizationRequest, Decision } from './types.ts';

const SCHEMA = `
namespace T {
  entity User;
  entity Doc;
  action read appliesTo { principal: [User], resource: [Doc], context: { risk: Long, tags: Set<String> } };
}
`;

const set = loadPolicySet({
  policies: '@id("low") permit(principal, action, resource) when { context.risk < 5 };',
  schema: SCHEMA,
});

function request(risk: number, tags: string[] = []): AuthorizationRequest {
  return {
    principal: { type: 'T::User', id: 'u1' },
    action: { type: 'T::Action', id: 'read' },
    resource: { type: 'T::Doc', id: 'd1' },
    context: { risk, tags },
    entities: [],
  };
}

const allow: Decision = { decision: 'allow', reasons: ['x'], errors: [], policyVersion: 'v' };

describe('DecisionCache', () => {
  test('a repeated identical request is a hit and returns the same decision', () => {
    const cache = new DecisionCache();
    const first = set.authorize(request(1), cache);
    assert.deepEqual([cache.hits, cache.misses, cache.size], [0, 1, 1]);
    const second = set.authorize(request(1), cache);
    assert.deepEqual([cache.hits, cache.misses], [1, 1]);
    assert.equal(second, first);
  });

  test('no hit when the context differs', () => {
    const cache = new DecisionCache();
    assert.equal(set.authorize(request(1), cache).decision, 'allow');
    assert.equal(set.authorize(request(9), cache).decision, 'deny');
    assert.equal(set.authorize(request(1, ['eu']), cache).decision, 'allow');
    assert.deepEqual([cache.hits, cache.misses, cache.size], [0, 3, 3]);
  });

  test('no hit under another policy version', () => {
    const cache = new DecisionCache();
    const other = loadPolicySet({
      policies: '@id("low") permit(principal, action, resource) when { context.risk < 2 };',
      schema: SCHEMA,
    });
    assert.equal(set.authorize(request(3), cache).decision, 'allow');
    assert.equal(other.authorize(request(3), cache).decision, 'deny');
    assert.equal(cache.hits, 0);
  });

  test('is bounded, least recently used first out', () => {
    const cache = new DecisionCache(2);
    cache.set('a', allow);
    cache.set('b', allow);
    assert.equal(cache.get('a'), allow);
    cache.set('c', allow);
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), allow);
    assert.equal(cache.get('c'), allow);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  test('maxEntries must be a positive integer', () => {
    assert.throws(() => new DecisionCache(0), TypeError);
    assert.throws(() => new DecisionCache(1.5), TypeError);
  });
});

describe('decisionKey', () => {
  test('does not depend on object key order, and depends on the version', () => {
    const a = request(1);
    const b: AuthorizationRequest = {
      entities: a.entities,
      context: { tags: [], risk: 1 },
      resource: a.resource,
      action: a.action,
      principal: { id: 'u1', type: 'T::User' },
    };
    assert.equal(decisionKey(a, 'v1'), decisionKey(b, 'v1'));
    assert.notEqual(decisionKey(a, 'v1'), decisionKey(a, 'v2'));
    assert.match(decisionKey(a, 'v1'), /^[A-Za-z0-9_-]{43}$/);
  });

  test('canonical JSON sorts keys, keeps array order, drops undefined members', () => {
    assert.equal(
      canonicalJson({ b: [2, 1], a: { d: 'x', c: true }, e: undefined }),
      '{"a":{"c":true,"d":"x"},"b":[2,1]}',
    );
  });

  test('canonical JSON escapes strings as JSON.stringify does', () => {
    const value = {
      'k"ey': 'line\nbreak',
      back: 'sl\\ash',
      lone: '\ud800',
      tab: '\t',
      é: 'ü✓',
      del: '\u007f',
    };
    assert.deepEqual(JSON.parse(canonicalJson(value)), value);
    for (const text of ['a\u0001"', '\\', '\udfff', 'plain text', '\u2028'])
      assert.equal(canonicalJson(text), JSON.stringify(text));
  });
});
