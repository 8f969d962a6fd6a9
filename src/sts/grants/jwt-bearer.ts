import { parseCompact } from '../../core/jose/jws.ts';
import { authenticateClient } from '../client-auth.ts';
import { required } from '../http/form.ts';
import { OAuthError } from '../oauth-error.ts';
import { verifyPersonAssertion } from '../person-assertion.ts';
import type { Sts } from '../sts.ts';
import { ID_JAG_TYP, mapToAgent } from '../trusted-issuers.ts';
import { checkAudience, issueRoot } from './token-exchange.ts';
import { type GrantHandler, TOKEN_TYPE, type TokenResponse } from './types.ts';

/**
 * RFC 7523 `jwt-bearer`, with two kinds of assertion told apart by their explicit `typ`:
 * - an ID-JAG (`typ: oauth-id-jag+jwt`, draft-ietf-oauth-identity-assertion-authz-grant §4.4): the client
 *   authenticates (`private_key_jwt` and a DPoP proof by its registered key), the ID-JAG's `client_id` must be
 *   that agent and its `aud` this STS, and the result is a root warrant for the agent — addressed to the
 *   RFC 8707 `resource` parameter, or to the ID-JAG's `resource` claim when it names exactly one;
 * - a workload token (Kubernetes service-account token, SPIFFE JWT-SVID, any trusted OIDC issuer): the
 *   issuer's mapping rule names the agent, which must be registered and active, and the result is its
 *   identity token bound to the DPoP key the workload proves.
 */
export const jwtBearer: GrantHandler = {
  grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  async handle(sts, request) {
    const assertion = required(request.params, 'assertion');
    if (isIdJag(assertion)) return idJagGrant(sts, request.params, request.dpop, assertion);
    const proof = await sts.dpop(request.dpop, sts.tokenEndpoint);
    const workload = await sts.trustedIssuers.verify(assertion, 'workload', sts.clock());
    const agentId = mapToAgent(workload);
    const agent = await sts.store.agents.get(agentId);
    if (agent === null)
      throw new OAuthError(
        'invalid_grant',
        'WARRANT_AGENT_UNKNOWN',
        'the workload maps to no registered agent',
      );
    if (agent.status !== 'active')
      throw new OAuthError('invalid_grant', 'WARRANT_AGENT_DISABLED', 'the agent is disabled');
    const { token, claims } = await sts.mintIdentity(agent, sts.issuer, proof.jkt);
    return {
      access_token: token,
      token_type: 'DPoP',
      expires_in: claims.exp - claims.iat,
      issued_token_type: TOKEN_TYPE.identity,
    };
  },
};

/** Whether the assertion declares itself an ID-JAG (only its header is read here; verification follows). */
function isIdJag(assertion: string): boolean {
  try {
    const typ = parseCompact(assertion, { algorithms: 'external' }).header['typ'];
    return typeof typ === 'string' && typ.toLowerCase() === ID_JAG_TYP;
  } catch {
    return false;
  }
}

async function idJagGrant(
  sts: Sts,
  params: Map<string, string>,
  dpop: string | undefined,
  assertion: string,
): Promise<TokenResponse> {
  const proof = await sts.dpop(dpop, sts.tokenEndpoint);
  const caller = await authenticateClient(params, {
    agents: sts.store.agents,
    replay: sts.assertionReplay,
    audiences: sts.assertionAudiences,
    now: sts.clock(),
  });
  sts.requireAgentKey(caller, proof);
  if (params.has('audience'))
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'name the recipient with resource (RFC 8707), not audience',
    );
  const person = await verifyPersonAssertion(sts, assertion, 'id_jag', caller);
  const audience =
    params.get('resource') ?? (person.resources?.length === 1 ? person.resources[0] : undefined);
  if (audience === undefined)
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'name the recipient with resource (the ID-JAG names no single resource)',
    );
  const recipient = await checkAudience(sts, caller, audience);
  return issueRoot(sts, params, caller, proof, person, audience, recipient);
}
