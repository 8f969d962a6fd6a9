import type { VerifiedDpopProof } from '../../../core/dpop/index.ts';
import { WarrantError } from '../../../core/errors.ts';
import { type VerifiedToken, verifyToken } from '../../../core/tokens/index.ts';
import type { AgentRecord } from '../../../store/ports.ts';
import { authenticateClient, type ClientAuthContext } from '../../client-auth.ts';
import { OAuthError } from '../../oauth-error.ts';
import { TOKEN_TYPE } from '../types.ts';
import type { ExchangeContext, ExchangeServices } from './context.ts';
import { agentsWithReads, type StartedReads } from './start-reads.ts';

type ClientServices = Pick<
  ExchangeServices,
  'store' | 'assertionReplay' | 'assertionAudiences' | 'clock' | 'requireAgentKey'
>;
type IdentityServices = Pick<ExchangeServices, 'keys' | 'issuer' | 'clock'>;

/** What `private_key_jwt` authentication reads, now. */
export function clientAuthContext(
  services: Pick<ExchangeServices, 'store' | 'assertionReplay' | 'assertionAudiences' | 'clock'>,
  reads?: StartedReads,
): ClientAuthContext {
  return {
    agents: agentsWithReads(services.store.agents, reads),
    replay: services.assertionReplay,
    audiences: services.assertionAudiences,
    now: services.clock(),
  };
}

/** `private_key_jwt`, and the DPoP proof signed by that agent's registered key. */
async function clientWithKey(
  services: ClientServices,
  params: Map<string, string>,
  proof: VerifiedDpopProof,
  reads?: StartedReads,
): Promise<AgentRecord> {
  const agent = await authenticateClient(params, clientAuthContext(services, reads));
  services.requireAgentKey(agent, proof);
  return agent;
}

type CallerContext = Pick<ExchangeContext, 'params' | 'proof' | 'caller'> & {
  readonly reads?: StartedReads | undefined;
  readonly services: ClientServices & IdentityServices;
};

/** The caller of a grant that takes no `actor_token`: `private_key_jwt` and a DPoP proof by the agent's key. */
export async function authenticateClientKey(ctx: CallerContext): Promise<void> {
  ctx.caller = await clientWithKey(ctx.services, ctx.params, ctx.proof);
}

/**
 * The caller of an exchange: `private_key_jwt` (an `actor_token` sent beside it must name the same agent), or
 * an identity token (`actor_token`) bound to the DPoP key, still live, of an active agent.
 */
export async function authenticateCaller(ctx: CallerContext): Promise<void> {
  const { services, params, proof } = ctx;
  if (params.has('client_assertion') || !params.has('actor_token')) {
    const agent = await clientWithKey(services, params, proof, ctx.reads);
    if (params.has('actor_token')) {
      const actor = verifyIdentity(services, params, proof);
      if (actor.claims.sub !== agent.id)
        throw new OAuthError(
          'invalid_client',
          'WARRANT_CLIENT_AUTH_FAILED',
          'actor_token names another agent',
        );
    }
    ctx.caller = agent;
    return;
  }
  const actor = verifyIdentity(services, params, proof);
  if ((await services.store.tokens.isRevoked(actor.hash)) !== false) {
    throw new OAuthError(
      'invalid_client',
      'WARRANT_CLIENT_AUTH_FAILED',
      'the actor token is revoked or unknown',
    );
  }
  const agent = await services.store.agents.get(actor.claims.sub);
  if (agent === null) throw new OAuthError('invalid_client', 'WARRANT_CLIENT_AUTH_FAILED', 'unknown client');
  if (agent.status !== 'active')
    throw new OAuthError('invalid_client', 'WARRANT_AGENT_DISABLED', 'the agent is disabled');
  ctx.caller = agent;
}

function verifyIdentity(
  services: IdentityServices,
  params: Map<string, string>,
  proof: VerifiedDpopProof,
): VerifiedToken<'identity'> {
  const type = params.get('actor_token_type');
  if (type !== TOKEN_TYPE.identity && type !== TOKEN_TYPE.jwt) {
    throw new OAuthError(
      'invalid_request',
      'WARRANT_TOKEN_TYPE_UNSUPPORTED',
      'actor_token_type must be a Warrant identity token',
    );
  }
  try {
    return verifyToken('identity', params.get('actor_token'), {
      keys: services.keys.keySet(services.clock()).resolve,
      issuer: services.issuer,
      audience: services.issuer,
      jkt: proof.jkt,
      now: services.clock(),
    });
  } catch (error) {
    if (error instanceof WarrantError) {
      throw new OAuthError('invalid_client', 'WARRANT_CLIENT_AUTH_FAILED', `actor_token: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}
