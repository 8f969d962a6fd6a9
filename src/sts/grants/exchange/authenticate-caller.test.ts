import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { agentRecord, contextWith, NOW, STS } from '../../../../test/support/exchange-context.ts';
import { tokenHash } from '../../../core/jose/hash.ts';
import { generateSigningKey } from '../../../core/jose/jwk.ts';
import { signCompact } from '../../../core/jose/jws.ts';
import { KeySet } from '../../../core/jose/key-set.ts';
import { signToken } from '../../../core/tokens/index.ts';
import type { AgentRecord } from '../../../store/ports.ts';
import { OAuthError } from '../../oauth-error.ts';
import { TOKEN_TYPE } from '../types.ts';
import { authenticateCaller, authenticateClientKey } from './authenticate-caller.ts';

const stsKey = generateSigningKey();
const plannerKey = generateSigningKey();
const planner = agentRecord('planner', { publicJwk: plannerKey.jwk, jkt: plannerKey.kid });
const other = agentRecord('other');

/** The services authentication reads: a store of `agents`, token states, a replay set, this STS's key. */
function services(agents: AgentRecord[] = [planner], revoked: Record<string, boolean | null> = {}) {
  const seen = new Set<string>();
  return {
    issuer: STS,
    clock: () => NOW,
    assertionAudiences: [STS],
    assertionReplay: {
      consume: async (ns: string, id: string) => !seen.has(`${ns} ${id}`) && !!seen.add(`${ns} ${id}`),
    },
    keys: { keySet: () => new KeySet([stsKey]) },
    store: {
      agents: { get: async (id: string) => agents.find((a) => a.id === id) ?? null },
      tokens: { isRevoked: async (hash: string) => (hash in revoked ? revoked[hash]! : false) },
    },
    requireAgentKey(agent: AgentRecord, proof: { jkt: string }) {
      if (proof.jkt !== agent.jkt)
        throw new OAuthError('invalid_dpop_proof', 'WARRANT_DPOP_KEY_MISMATCH', 'not the agent key');
    },
  };
}

const clientAssertion = (agentId = planner.id) =>
  signCompact(
    { typ: 'JWT' },
    { iss: agentId, sub: agentId, aud: STS, jti: randomUUID(), iat: NOW, exp: NOW + 60 },
    plannerKey,
  );

const identityToken = (sub = planner.id, jkt = plannerKey.kid) =>
  signToken(
    'identity',
    { iss: STS, sub, aud: STS, cnf: { jkt }, tier: 'planner', iat: NOW, exp: NOW + 300, jti: randomUUID() },
    stsKey,
  );

const withClient = (extra: Record<string, string> = {}) => ({
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: clientAssertion(),
  ...extra,
});
const withActor = (token: string, type: string = TOKEN_TYPE.identity) => ({
  actor_token: token,
  actor_token_type: type,
});

const proof = { jkt: plannerKey.kid } as never;
const authFailed = { error: 'invalid_client', code: 'WARRANT_CLIENT_AUTH_FAILED' };

describe('authenticateCaller', () => {
  test('private_key_jwt with a DPoP proof by the same agent key authenticates the agent', async () => {
    const ctx = contextWith({ services: services() as never, proof }, withClient());
    await authenticateCaller(ctx);
    assert.equal(ctx.caller, planner);
  });

  test('a DPoP proof by another key is refused after the client assertion', async () => {
    const ctx = contextWith(
      { services: services() as never, proof: { jkt: 'jkt-other' } as never },
      withClient(),
    );
    await assert.rejects(authenticateCaller(ctx), { code: 'WARRANT_DPOP_KEY_MISMATCH' });
    assert.equal(ctx.caller, undefined);
  });

  test('an actor_token sent beside the client assertion must name the same agent', async () => {
    const same = contextWith(
      { services: services() as never, proof },
      withClient(withActor(identityToken())),
    );
    await authenticateCaller(same);
    assert.equal(same.caller, planner);
    const mismatch = contextWith(
      { services: services([planner, other]) as never, proof },
      withClient(withActor(identityToken(other.id))),
    );
    await assert.rejects(authenticateCaller(mismatch), {
      ...authFailed,
      message: 'actor_token names another agent',
    });
  });

  test('an identity token alone (actor_token) bound to the DPoP key authenticates its live, active agent', async () => {
    const ctx = contextWith(
      { services: services() as never, proof },
      withActor(identityToken(), TOKEN_TYPE.jwt),
    );
    await authenticateCaller(ctx);
    assert.equal(ctx.caller, planner);
  });

  test('an actor_token of another type, or bound to another key, is refused', async () => {
    await assert.rejects(
      authenticateCaller(
        contextWith({ services: services() as never, proof }, withActor(identityToken(), TOKEN_TYPE.warrant)),
      ),
      { error: 'invalid_request', code: 'WARRANT_TOKEN_TYPE_UNSUPPORTED' },
    );
    const elsewhere = identityToken(planner.id, generateSigningKey().kid);
    await assert.rejects(
      authenticateCaller(contextWith({ services: services() as never, proof }, withActor(elsewhere))),
      authFailed,
    );
  });

  test('a revoked or unknown identity token, an unknown agent, a disabled agent: each refused', async () => {
    const token = identityToken();
    for (const state of [true, null]) {
      const ctx = contextWith(
        { services: services([planner], { [tokenHash(token)]: state }) as never, proof },
        withActor(token),
      );
      await assert.rejects(authenticateCaller(ctx), {
        ...authFailed,
        message: 'the actor token is revoked or unknown',
      });
    }
    await assert.rejects(
      authenticateCaller(contextWith({ services: services([]) as never, proof }, withActor(token))),
      { ...authFailed, message: 'unknown client' },
    );
    const disabled = { ...planner, status: 'disabled' as const };
    await assert.rejects(
      authenticateCaller(contextWith({ services: services([disabled]) as never, proof }, withActor(token))),
      { error: 'invalid_client', code: 'WARRANT_AGENT_DISABLED' },
    );
  });
});

describe('authenticateClientKey', () => {
  test('takes no actor_token: private_key_jwt is required', async () => {
    const ctx = contextWith({ services: services() as never, proof }, withActor(identityToken()));
    await assert.rejects(authenticateClientKey(ctx), authFailed);
    const client = contextWith({ services: services() as never, proof }, withClient());
    await authenticateClientKey(client);
    assert.equal(client.caller, planner);
  });
});
