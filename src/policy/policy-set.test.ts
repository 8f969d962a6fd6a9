import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PolicyError } from './policy-error.ts';
import {
  DEFAULT_POLICY_FILES,
  DEFAULT_SCHEMA_FILE,
  loadDefaultPolicySet,
  loadPolicyFiles,
  loadPolicySet,
} from './policy-set.ts';
import type { AuthorizationRequest } from './types.ts';

const SCHEMA = `
namespace T {
  entity User = { level: Long };
  entity Doc;
  action read, write appliesTo { principal: [User], resource: [Doc], context: { risk: Long } };
}
`;

function request(overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return {
    principal: { type: 'T::User', id: 'u1' },
    action: { type: 'T::Action', id: 'read' },
    resource: { type: 'T::Doc', id: 'd1' },
    context: { risk: 1 },
    entities: [
      { uid: { type: 'T::User', id: 'u1' }, attrs: { level: 1 }, parents: [] },
      { uid: { type: 'T::Doc', id: 'd1' }, attrs: {}, parents: [] },
    ],
    ...overrides,
  };
}

function policyError(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${error}`);
    assert.equal(error.code, 'WARRANT_POLICY_INVALID');
    assert.equal(error.name, 'PolicyError');
    return error;
  }
  assert.fail('expected a PolicyError');
}

describe('loadPolicySet', () => {
  test('a valid set loads, with policy ids from @id annotations in source order', () => {
    const set = loadPolicySet({
      policies:
        '@id("b-first") permit(principal, action, resource);\n@id("a-second") forbid(principal, action, resource) when { context.risk > 5 };',
      schema: SCHEMA,
    });
    assert.deepEqual(set.policyIds, ['b-first', 'a-second']);
    assert.match(set.version, /^sha256:[0-9a-f]{64}$/);
  });

  test('policies without @id get Cedar-style ids in source order, also past ten', () => {
    const policies = Array.from(
      { length: 12 },
      (_, i) => `permit(principal, action, resource) when { context.risk == ${i} };`,
    );
    const set = loadPolicySet({ policies: policies.join('\n'), schema: SCHEMA });
    assert.deepEqual(
      set.policyIds,
      policies.map((_, i) => `policy${i}`),
    );
    assert.deepEqual(set.authorize(request({ context: { risk: 10 } })).reasons, ['policy10']);
  });

  test('the version is SHA-256 over policies, separator and schema; stable across loads', () => {
    const policies = '@id("p") permit(principal, action, resource);';
    const a = loadPolicySet({ policies, schema: SCHEMA });
    const b = loadPolicySet({ policies, schema: SCHEMA, name: 'other name' });
    const expected = createHash('sha256').update(`${policies}\n--schema--\n${SCHEMA}`).digest('hex');
    assert.equal(a.version, `sha256:${expected}`);
    assert.equal(b.version, a.version);
  });

  test('the version changes when a policy or the schema changes', () => {
    const base = loadPolicySet({ policies: '@id("p") permit(principal, action, resource);', schema: SCHEMA });
    const policy = loadPolicySet({
      policies: '@id("p") permit(principal, action, resource) when { context.risk < 3 };',
      schema: SCHEMA,
    });
    const schema = loadPolicySet({
      policies: '@id("p") permit(principal, action, resource);',
      schema: `${SCHEMA}\n`,
    });
    assert.notEqual(policy.version, base.version);
    assert.notEqual(schema.version, base.version);
  });

  test('a syntax error is WARRANT_POLICY_INVALID naming the line and the problem', () => {
    const error = policyError(() =>
      loadPolicySet({
        policies: '// one\n\npermit(principal, actio, resource);',
        schema: SCHEMA,
        name: 'mine',
      }),
    );
    assert.equal(error.diagnostics[0]?.source, 'mine');
    assert.equal(error.diagnostics[0]?.line, 3);
    assert.match(error.message, /mine:3:\d+: .*invalid variable in the policy scope: actio/);
  });

  test('a policy that fails schema validation (unknown attribute) is WARRANT_POLICY_INVALID naming the policy', () => {
    const error = policyError(() =>
      loadPolicySet({
        policies:
          '@id("ok") permit(principal, action, resource);\n@id("typo") permit(principal, action, resource) when { context.rsik > 1 };',
        schema: SCHEMA,
      }),
    );
    assert.equal(error.diagnostics[0]?.policyId, 'typo');
    assert.equal(error.diagnostics[0]?.line, 2);
    assert.match(
      error.message,
      /policy "typo": attribute `rsik` in context .* not found; did you mean `risk`\?/,
    );
  });

  test('a type error against the schema is WARRANT_POLICY_INVALID', () => {
    const error = policyError(() =>
      loadPolicySet({
        policies: '@id("t") permit(principal, action, resource) when { principal.level == "x" };',
        schema: SCHEMA,
      }),
    );
    assert.equal(error.diagnostics[0]?.policyId, 't');
  });

  test('an invalid schema is WARRANT_POLICY_INVALID located in the schema', () => {
    const error = policyError(() =>
      loadPolicySet({ policies: '', schema: 'namespace T { entity A = { x: Strin }; }' }),
    );
    assert.equal(error.diagnostics[0]?.source, 'schema');
    assert.match(error.message, /schema:1:\d+: failed to resolve type: Strin/);
  });

  test('duplicate policy ids and templates are rejected', () => {
    policyError(() =>
      loadPolicySet({
        policies:
          '@id("x") permit(principal, action, resource);\n@id("x") forbid(principal, action, resource);',
        schema: SCHEMA,
      }),
    );
    policyError(() =>
      loadPolicySet({ policies: 'permit(principal == ?principal, action, resource);', schema: SCHEMA }),
    );
  });

  test('non-string sources are caller mistakes', () => {
    assert.throws(() => loadPolicySet({ policies: undefined as never, schema: SCHEMA }), TypeError);
  });
});

describe('authorize', () => {
  test('deny by default: no permit, no reasons', () => {
    const set = loadPolicySet({ policies: '', schema: SCHEMA });
    const decision = set.authorize(request());
    assert.deepEqual(decision, { decision: 'deny', reasons: [], errors: [], policyVersion: set.version });
    assert.ok(Object.isFrozen(decision) && Object.isFrozen(decision.reasons));
  });

  test('a permit allows and is the reason', () => {
    const set = loadPolicySet({
      policies: '@id("all") permit(principal, action, resource);',
      schema: SCHEMA,
    });
    assert.deepEqual(set.authorize(request()), {
      decision: 'allow',
      reasons: ['all'],
      errors: [],
      policyVersion: set.version,
    });
  });

  test('forbid overrides permit', () => {
    const set = loadPolicySet({
      policies: `
        @id("all") permit(principal, action, resource);
        @id("too-risky") forbid(principal, action, resource) when { context.risk > 5 };`,
      schema: SCHEMA,
    });
    assert.equal(set.authorize(request({ context: { risk: 1 } })).decision, 'allow');
    const denied = set.authorize(request({ context: { risk: 9 } }));
    assert.equal(denied.decision, 'deny');
    assert.deepEqual(denied.reasons, ['too-risky']);
  });

  test('an evaluation error denies even when another policy permits', () => {
    const set = loadPolicySet({
      policies: `
        @id("all") permit(principal, action, resource);
        @id("overflow") permit(principal, action, resource) when { context.risk * 9223372036854775807 > 0 };`,
      schema: SCHEMA,
    });
    const decision = set.authorize(request({ context: { risk: 2 } }));
    assert.equal(decision.decision, 'deny');
    assert.deepEqual(decision.reasons, []);
    assert.equal(decision.errors.length, 1);
    assert.match(decision.errors[0]!, /^overflow: .*overflow/);
  });

  test('a missing entity is an evaluation error, and a deny', () => {
    const set = loadPolicySet({
      policies: '@id("level") permit(principal, action, resource) when { principal.level > 0 };',
      schema: SCHEMA,
      validateRequests: false,
    });
    const decision = set.authorize(request({ entities: [] }));
    assert.equal(decision.decision, 'deny');
    assert.match(decision.errors[0]!, /^level: .*does not exist/);
  });

  test('a request that does not match the schema is denied with the error', () => {
    const set = loadPolicySet({
      policies: '@id("all") permit(principal, action, resource);',
      schema: SCHEMA,
    });
    const wrongType = set.authorize(request({ context: { risk: 'high' } }));
    assert.equal(wrongType.decision, 'deny');
    assert.match(wrongType.errors[0]!, /^request rejected: context .* is not valid/);
    const unknownAction = set.authorize(request({ action: { type: 'T::Action', id: 'delete' } }));
    assert.equal(unknownAction.decision, 'deny');
    assert.equal(unknownAction.errors.length, 1);
  });

  test('policies scoped to one action never apply to another; open scopes apply to all', () => {
    const set = loadPolicySet({
      policies: `
        @id("read-only") permit(principal, action == T::Action::"read", resource);
        @id("listed") permit(principal, action in [T::Action::"read", T::Action::"write"], resource) when { context.risk == 0 };
        @id("stop") forbid(principal, action, resource) when { context.risk > 5 };`,
      schema: SCHEMA,
    });
    const write = { type: 'T::Action', id: 'write' };
    assert.deepEqual(set.authorize(request({ context: { risk: 1 } })).reasons, ['read-only']);
    assert.deepEqual(set.authorize(request({ action: write, context: { risk: 1 } })).decision, 'deny');
    assert.deepEqual(set.authorize(request({ action: write, context: { risk: 0 } })).reasons, ['listed']);
    assert.deepEqual(set.authorize(request({ action: write, context: { risk: 6 } })).reasons, ['stop']);
    assert.deepEqual(set.authorize(request({ context: { risk: 6 } })).reasons, ['stop']);
  });
});

describe('loadPolicyFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-policy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads several policy files and the schema; the version covers the joined text', () => {
    const a = join(dir, 'a.cedar');
    const b = join(dir, 'b.cedar');
    const schema = join(dir, 'schema.cedarschema');
    writeFileSync(a, '@id("a") permit(principal, action, resource);');
    writeFileSync(b, '@id("b") forbid(principal, action, resource) when { context.risk > 5 };');
    writeFileSync(schema, SCHEMA);
    const set = loadPolicyFiles([a, b], schema);
    assert.deepEqual(set.policyIds, ['a', 'b']);
    assert.equal(set.name, 'a.cedar+b.cedar');
    assert.equal(
      set.version,
      loadPolicySet({ policies: `${readFileSync(a, 'utf8')}\n${readFileSync(b, 'utf8')}`, schema: SCHEMA })
        .version,
    );
  });

  test('a syntax error names its file and line', () => {
    const good = join(dir, 'good.cedar');
    const bad = join(dir, 'bad.cedar');
    const schema = join(dir, 'schema2.cedarschema');
    writeFileSync(good, '@id("a") permit(principal, action, resource);\n');
    writeFileSync(bad, '\n@id("b") permit(principal, action, resource) when { context.risk > };\n');
    writeFileSync(schema, SCHEMA);
    const error = policyError(() => loadPolicyFiles([good, bad], schema));
    assert.equal(error.diagnostics[0]?.source, bad);
    assert.equal(error.diagnostics[0]?.line, 2);
  });

  test('the default policies load against the default schema, without warnings', () => {
    const set = loadDefaultPolicySet();
    assert.equal(DEFAULT_POLICY_FILES.length, 2);
    assert.ok(DEFAULT_SCHEMA_FILE.endsWith('schema.cedarschema'));
    assert.deepEqual(set.warnings, []);
    for (const id of [
      'person-to-agent',
      'agent-to-agent',
      'admin-needs-trust',
      // Risk is bounded after the policy (guard.autonomy.bounds), no longer refused by it.
      'call-granted',
    ]) {
      assert.ok(set.policyIds.includes(id), id);
    }
  });
});
