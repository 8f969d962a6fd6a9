import { required } from '../http/form.ts';
import { OAuthError } from '../oauth-error.ts';
import { mapToAgent } from '../trusted-issuers.ts';
import { type GrantHandler, TOKEN_TYPE } from './types.ts';

/**
 * RFC 7523 `jwt-bearer` with a workload token (Kubernetes service-account token, SPIFFE JWT-SVID, any
 * trusted OIDC issuer): the issuer's mapping rule names the agent, which must be registered and active.
 * The identity token is bound to the DPoP key the workload proves.
 */
export const jwtBearer: GrantHandler = {
  grantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
  async handle(sts, { params, dpop }) {
    const proof = await sts.dpop(dpop, sts.tokenEndpoint);
    const assertion = required(params, 'assertion');
    const workload = await sts.trustedIssuers.verify(
      assertion,
      ['kubernetes', 'spiffe', 'oidc'],
      sts.clock(),
    );
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
