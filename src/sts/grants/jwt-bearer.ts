import { parseCompact } from '../../core/jose/jws.ts';
import { GRANT_TYPE } from '../../core/tokens/token-types.ts';
import { required } from '../http/form.ts';
import { OAuthError } from '../oauth-error.ts';
import type { Sts } from '../sts.ts';
import { ID_JAG_TYP, mapToAgent } from '../trusted-issuers.ts';
import { authenticateClientKey } from './exchange/authenticate-caller.ts';
import { checkAudience } from './exchange/check-audience.ts';
import { type Check, type ExchangeContext, exchangeContext, runChecks } from './exchange/context.ts';
import { verifyDpop } from './exchange/verify-dpop.ts';
import { verifyPerson } from './exchange/verify-person.ts';
import { ROOT } from './token-exchange.ts';
import { type GrantHandler, TOKEN_TYPE, type TokenRequest, type TokenResponse } from './types.ts';

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
  grantType: GRANT_TYPE.jwtBearer,
  async handle(sts, request) {
    const assertion = required(request.params, 'assertion');
    if (isIdJag(assertion)) return idJagGrant(sts, request, assertion);
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

/** Whom the ID-JAG's warrant is for: RFC 8707 `resource`, never `audience`. */
function refuseAudience(ctx: Pick<ExchangeContext, 'params'>): void {
  if (ctx.params.has('audience'))
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'name the recipient with resource (RFC 8707), not audience',
    );
}

/** The recipient: the `resource` parameter, else the ID-JAG's `resource` when it names exactly one. */
function resolveResource(ctx: Pick<ExchangeContext, 'params' | 'person' | 'audience'>): void {
  const resources = ctx.person.resources;
  const audience = ctx.params.get('resource') ?? (resources?.length === 1 ? resources[0] : undefined);
  if (audience === undefined)
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'name the recipient with resource (the ID-JAG names no single resource)',
    );
  ctx.audience = audience;
}

/** An ID-JAG: the client and its key, the assertion, the recipient — then the root checks of an exchange. */
const ID_JAG: readonly Check[] = [
  verifyDpop,
  authenticateClientKey,
  refuseAudience,
  verifyPerson,
  resolveResource,
  checkAudience,
  ...ROOT,
];

async function idJagGrant(sts: Sts, request: TokenRequest, assertion: string): Promise<TokenResponse> {
  const ctx = exchangeContext(sts, request);
  ctx.subjectType = TOKEN_TYPE.idJag;
  ctx.subjectToken = assertion;
  await runChecks(ID_JAG, ctx);
  return ctx.response;
}
