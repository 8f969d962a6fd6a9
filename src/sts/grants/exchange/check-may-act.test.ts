import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentRecord, contextWith, STS, verifiedParent } from '../../../../test/support/exchange-context.ts';
import { checkParentMayAct } from './check-may-act.ts';

const caller = agentRecord('executor');
const services = { issuer: STS } as never;
const check = (may_act: unknown) =>
  checkParentMayAct(contextWith({ parent: verifiedParent({ may_act } as never), caller, services }));

describe('checkParentMayAct', () => {
  test('no may_act, or one naming the caller (with this STS as iss, if any), passes', () => {
    check(undefined);
    check({ sub: caller.id });
    check({ sub: caller.id, iss: STS });
  });

  test('a may_act naming another party, another issuer, or malformed is WARRANT_MAY_ACT_MISMATCH', () => {
    for (const mayAct of [
      { sub: agentRecord('other').id },
      { sub: caller.id, iss: 'https://x' },
      'x',
      { iss: STS },
    ])
      assert.throws(() => check(mayAct), { error: 'invalid_grant', code: 'WARRANT_MAY_ACT_MISMATCH' });
  });
});
