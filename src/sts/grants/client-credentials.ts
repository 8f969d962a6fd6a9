import { GRANT_TYPE } from '../../core/tokens/token-types.ts';
import { authenticateClient } from '../client-auth.ts';
import { OAuthError } from '../oauth-error.ts';
import { clientAuthContext } from './exchange/authenticate-caller.ts';
import { type GrantHandler, TOKEN_TYPE } from './types.ts';

/**
 * `client_credentials` with `private_key_jwt`: an agent proves its registered key and receives its identity
 * token (`wi+jwt`), bound to that key. A DPoP proof, when sent, must be signed by the same key.
 */
export const clientCredentials: GrantHandler = {
  grantType: GRANT_TYPE.clientCredentials,
  async handle(sts, { params, dpop }) {
    const proof = dpop === undefined ? undefined : await sts.dpop(dpop, sts.tokenEndpoint);
    const agent = await authenticateClient(params, clientAuthContext(sts));
    if (proof) sts.requireAgentKey(agent, proof);
    const audience = params.get('audience') ?? sts.issuer;
    if (audience !== sts.issuer) {
      throw new OAuthError(
        'invalid_target',
        'WARRANT_AUDIENCE_NOT_ALLOWED',
        'identity tokens are issued for this STS only',
      );
    }
    if (params.has('scope'))
      throw new OAuthError(
        'invalid_scope',
        'WARRANT_GRANT_NOT_HELD',
        'identity tokens carry no scope; exchange for a warrant',
      );
    const { token, claims } = await sts.mintIdentity(agent, audience, proof?.jkt ?? agent.jkt);
    return {
      access_token: token,
      token_type: 'DPoP',
      expires_in: claims.exp - claims.iat,
      issued_token_type: TOKEN_TYPE.identity,
    };
  },
};
