import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildChain, ISSUER } from '../../../../test/support/chains.ts';
import {
  agentIdOf,
  agentRecord,
  contextWith,
  verifiedParent,
} from '../../../../test/support/exchange-context.ts';
import { VerifiedCache } from '../../../core/chain/verified-token-cache.ts';
import { generateSigningKey } from '../../../core/jose/jwk.ts';
import { KeySet } from '../../../core/jose/key-set.ts';
import { signToken, type VerifiedToken } from '../../../core/tokens/index.ts';
import { checkChainLink, checkParentLive, verifyParent } from './verify-parent.ts';

const chain = buildChain(2);
const services = (now = chain.now) => ({
  clock: () => now,
  issuer: ISSUER,
  keys: { keySet: () => chain.keys },
});

describe('verifyParent', () => {
  test('a warrant this STS signed becomes the parent; the exchange time is taken', () => {
    const ctx = contextWith({ subjectToken: chain.tokens[1]!, services: services() as never });
    verifyParent(ctx);
    assert.equal(ctx.now, chain.now);
    assert.deepEqual(ctx.parent.claims, chain.claims[1]);
    assert.equal(ctx.parent.kind, 'warrant');
  });

  test('a warrant signed by another key, of another issuer, or expired is invalid_grant with its code', () => {
    const foreign = signToken('warrant', chain.claims[0]!, generateSigningKey());
    assert.throws(() => verifyParent(contextWith({ subjectToken: foreign, services: services() as never })), {
      error: 'invalid_grant',
    });
    const otherIssuer = { ...services(), issuer: 'https://other.example' };
    assert.throws(
      () => verifyParent(contextWith({ subjectToken: chain.tokens[0]!, services: otherIssuer as never })),
      { error: 'invalid_grant' },
    );
    const late = services(chain.claims[0]!.exp + 3600);
    assert.throws(
      () => verifyParent(contextWith({ subjectToken: chain.tokens[0]!, services: late as never })),
      {
        error: 'invalid_grant',
        code: 'WARRANT_TOKEN_EXPIRED',
      },
    );
  });

  describe('verified-parent cache', () => {
    /** Services with a cache and a key ring whose trust and key-set lookups are counted. */
    const cached = (trusted: { value: boolean }, now = chain.now) => {
      const calls = { keySet: 0 };
      const svc = {
        clock: () => now,
        issuer: ISSUER,
        verifiedParents: new VerifiedCache<VerifiedToken<'warrant'>>(),
        keys: {
          keySet: () => {
            calls.keySet++;
            return chain.keys;
          },
          trusts: () => trusted.value,
        },
      };
      return { svc, calls };
    };

    test('a repeat exchange of the same warrant is answered from the cache, not verified again', () => {
      const { svc, calls } = cached({ value: true });
      const first = contextWith({ subjectToken: chain.tokens[1]!, services: svc as never });
      verifyParent(first);
      const second = contextWith({ subjectToken: chain.tokens[1]!, services: svc as never });
      verifyParent(second);
      assert.equal(calls.keySet, 1);
      assert.equal(second.parent, first.parent);
      assert.equal(svc.verifiedParents.hits, 1);
    });

    test('a cached warrant whose signing key is no longer trusted is verified again (and refused)', () => {
      const trusted = { value: true };
      const { svc, calls } = cached(trusted);
      verifyParent(contextWith({ subjectToken: chain.tokens[1]!, services: svc as never }));
      trusted.value = false;
      const gone = { ...svc, keys: { ...svc.keys, keySet: () => new KeySet([]) } };
      assert.throws(
        () => verifyParent(contextWith({ subjectToken: chain.tokens[1]!, services: gone as never })),
        {
          error: 'invalid_grant',
        },
      );
      assert.equal(calls.keySet, 1);
    });

    test('a cached warrant past its exp is refused as expired', () => {
      const { svc } = cached({ value: true });
      verifyParent(contextWith({ subjectToken: chain.tokens[0]!, services: svc as never }));
      const exp = chain.claims[0]!.exp;
      // Inside the clock tolerance the cache still answers; past it the time check refuses.
      const late = { ...svc, clock: () => exp + 3600 };
      assert.throws(
        () => verifyParent(contextWith({ subjectToken: chain.tokens[0]!, services: late as never })),
        {
          error: 'invalid_grant',
          code: 'WARRANT_TOKEN_EXPIRED',
        },
      );
    });

    test('a cached warrant presented to an STS of another issuer is refused', () => {
      const { svc } = cached({ value: true });
      verifyParent(contextWith({ subjectToken: chain.tokens[0]!, services: svc as never }));
      const other = { ...svc, issuer: 'https://other.example' };
      assert.throws(
        () => verifyParent(contextWith({ subjectToken: chain.tokens[0]!, services: other as never })),
        {
          error: 'invalid_grant',
          code: 'WARRANT_ISSUER_MISMATCH',
        },
      );
    });
  });

  test('an identity token is not a warrant', () => {
    const key = chain.issuerKey;
    const identity = signToken(
      'identity',
      {
        iss: ISSUER,
        sub: agentIdOf('planner'),
        aud: ISSUER,
        cnf: { jkt: chain.agents[0]!.key.kid },
        tier: 'planner',
        iat: chain.now,
        exp: chain.now + 60,
        jti: 'i',
      },
      key,
    );
    const keys = { keySet: () => new KeySet([key]) };
    assert.throws(
      () => verifyParent(contextWith({ subjectToken: identity, services: { ...services(), keys } as never })),
      { error: 'invalid_grant' },
    );
  });
});

describe('checkChainLink', () => {
  test("only the parent's audience may exchange it", () => {
    const parent = verifiedParent();
    checkChainLink(contextWith({ parent, caller: agentRecord('executor') }));
    assert.throws(() => checkChainLink(contextWith({ parent, caller: agentRecord('planner') })), {
      error: 'invalid_grant',
      code: 'WARRANT_CALLER_NOT_AUDIENCE',
    });
  });
});

describe('checkParentLive', () => {
  const live = (state: boolean | null) => {
    const asked: string[] = [];
    const store = {
      tokens: {
        isRevoked: async (hash: string) => {
          asked.push(hash);
          return state;
        },
      },
    };
    return { ctx: contextWith({ parent: verifiedParent(), services: { store } as never }), asked };
  };

  test('a live parent passes; its own record is what is asked', async () => {
    const { ctx, asked } = live(false);
    await checkParentLive(ctx);
    assert.deepEqual(asked, ['hash-parent']);
  });

  test('a revoked parent, or one the store does not know, is WARRANT_PARENT_REVOKED (fail closed)', async () => {
    for (const state of [true, null])
      await assert.rejects(checkParentLive(live(state).ctx), {
        error: 'invalid_grant',
        code: 'WARRANT_PARENT_REVOKED',
      });
  });
});
