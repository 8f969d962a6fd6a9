import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextWith, verifiedParent } from '../../../../test/support/exchange-context.ts';
import type { Grant } from '../../../core/grants/index.ts';
import type { Person } from '../../person-assertion.ts';
import { narrowGrants, rootGrants } from './narrow-grants.ts';

const details = (grants: Grant[]) => JSON.stringify(grants.map((g) => ({ type: 'warrant_grant', ...g })));
const notHeld = { error: 'invalid_scope', code: 'WARRANT_GRANT_NOT_HELD' };

describe('narrowGrants (hop)', () => {
  const parent = verifiedParent();

  test('nothing asked: every grant of the parent, as a copy', () => {
    const ctx = contextWith({ parent });
    narrowGrants(ctx);
    assert.deepEqual(ctx.grants, parent.claims.grants);
    assert.notEqual(ctx.grants, parent.claims.grants);
  });

  test('authorization_details within the parent grants are the grants', () => {
    const asked = [{ action: 'crm:read', resource: 'crm/accounts', constraints: { max_rows: 10 } }];
    const ctx = contextWith({ parent }, { authorization_details: details(asked) });
    narrowGrants(ctx);
    assert.deepEqual(ctx.grants, asked);
  });

  test('authorization_details wider than the parent grants are WARRANT_GRANT_NOT_HELD', () => {
    for (const asked of [
      [{ action: 'crm:delete', resource: 'crm/*' }],
      [{ action: 'crm:read', resource: 'crm/*', constraints: { max_rows: 1000 } }],
    ])
      assert.throws(
        () => narrowGrants(contextWith({ parent }, { authorization_details: details(asked) })),
        notHeld,
      );
  });

  test('a scope narrows the parent grants to those actions; an action the parent lacks is refused', () => {
    const ctx = contextWith({ parent }, { scope: 'crm:read' });
    narrowGrants(ctx);
    assert.deepEqual(ctx.grants, [parent.claims.grants[0]]);
    assert.throws(() => narrowGrants(contextWith({ parent }, { scope: 'payments:refund' })), {
      error: 'invalid_scope',
    });
  });
});

describe('rootGrants', () => {
  const person = (bounds: Partial<Person> = {}) =>
    ({ sub: 'alice', issuer: 'https://idp', ...bounds }) as Person;

  test('authorization_details, else the scope (on grant_resource, default *), are the grants', () => {
    const asked = [{ action: 'crm:read', resource: 'crm/*' }];
    const explicit = contextWith({ person: person() }, { authorization_details: details(asked) });
    rootGrants(explicit);
    assert.deepEqual(explicit.grants, asked);
    const scoped = contextWith(
      { person: person() },
      { scope: 'crm:read crm:write', grant_resource: 'crm/*' },
    );
    rootGrants(scoped);
    assert.deepEqual(scoped.grants, [
      { action: 'crm:read', resource: 'crm/*' },
      { action: 'crm:write', resource: 'crm/*' },
    ]);
    const anywhere = contextWith({ person: person() }, { scope: 'crm:read' });
    rootGrants(anywhere);
    assert.deepEqual(anywhere.grants, [{ action: 'crm:read', resource: '*' }]);
  });

  test('nothing asked and nothing granted by the assertion is WARRANT_GRANT_NOT_HELD', () => {
    assert.throws(() => rootGrants(contextWith({ person: person() })), {
      ...notHeld,
      message: 'request grants with authorization_details or scope',
    });
  });

  test("nothing asked: the ID-JAG's authorization_details, else its scope, are the request", () => {
    const granted = [{ action: 'crm:read', resource: 'crm/accounts' }];
    const fromDetails = contextWith({ person: person({ grants: granted, scope: 'crm:read' }) });
    rootGrants(fromDetails);
    assert.deepEqual(fromDetails.grants, granted);
    const fromScope = contextWith({ person: person({ scope: 'crm:read' }) });
    rootGrants(fromScope);
    assert.deepEqual(fromScope.grants, [{ action: 'crm:read', resource: '*' }]);
  });

  test('an ID-JAG bounds what is asked: actions within its scope, grants within its authorization_details', () => {
    assert.throws(
      () => rootGrants(contextWith({ person: person({ scope: 'crm:read' }) }, { scope: 'crm:write' })),
      {
        ...notHeld,
        message: 'the requested grants are not within the scope the ID-JAG grants',
      },
    );
    const granted = [{ action: 'crm:read', resource: 'crm/accounts' }];
    assert.throws(
      () =>
        rootGrants(
          contextWith(
            { person: person({ grants: granted }) },
            { scope: 'crm:read', grant_resource: 'crm/*' },
          ),
        ),
      {
        ...notHeld,
        message: 'the requested grants are not within the authorization_details the ID-JAG grants',
      },
    );
  });
});
