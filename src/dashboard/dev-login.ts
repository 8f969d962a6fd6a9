/**
 * `POST /admin/dev/login` `{person, agent, form?}` — development only (`warrant dev login`): a person's
 * assertion from `warrant dev`'s identity provider (src/dashboard/dev-idp.ts), addressed to one agent, so a
 * developer can start a chain (`subject_token` of the root exchange) without signing tokens by hand.
 *
 * - `form: "id-jag"` (default): an ID-JAG whose `aud` is this STS and `client_id` the agent's SPIFFE ID —
 *   usable by that agent only, once (its `jti` is consumed at the exchange).
 * - `form: "id-token"`: an OpenID Connect ID token addressed to the agent's client id at the dev provider
 *   (the agent's `clientIds[<dev issuer>]`); refused when it has none.
 *
 * Behind the admin credential like every admin endpoint. Where the dev provider is off (`warrant serve`
 * without `sts.devUserIssuer.enabled`) the endpoint does not exist: 404 `WARRANT_NOT_FOUND`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TOKEN_TYPE } from '../core/tokens/token-types.ts';
import { type AdminExtension, bad, jsonBody, str } from '../sts/admin-input.ts';
import { sendJson } from '../sts/http/respond.ts';
import { OAuthError } from '../sts/oauth-error.ts';
import type { Sts } from '../sts/sts.ts';
import type { DevIdp } from './dev-idp.ts';

/** A person's name at the dev provider: printable ASCII, no surrounding spaces, 1..256 characters. */
const PERSON = /^[!-~]([ -~]{0,254}[!-~])?$/;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SPIFFE = /^spiffe:\/\/[a-z0-9.-]{1,253}\/[!-~]{1,2000}$/;
/** Lifetime of what the dev provider signs (seconds); see dev-idp.ts. */
const LIFETIME = 300;

export function devLoginAdmin(devIdp: DevIdp | undefined, sts: Sts): AdminExtension {
  return async (req: IncomingMessage, res: ServerResponse, _url: URL, parts: readonly string[]) => {
    if (parts[0] !== 'dev') return false;
    if (devIdp === undefined)
      throw new OAuthError(
        'not_found',
        'WARRANT_NOT_FOUND',
        'the dev identity provider is off: person assertions are minted only by `warrant dev`',
      );
    if (parts.length !== 2 || parts[1] !== 'login' || req.method !== 'POST')
      throw new OAuthError('not_found', 'WARRANT_NOT_FOUND', 'no such admin endpoint');
    const body = await jsonBody(req);
    const person = str(body, 'person');
    if (!PERSON.test(person))
      throw bad('person must be 1..256 printable ASCII characters without surrounding spaces');
    const ref = str(body, 'agent');
    if (!NAME.test(ref) && !SPIFFE.test(ref))
      throw bad('agent must be a name (lowercase letters, digits, dashes) or a spiffe:// ID');
    const form = str(body, 'form', 'id-jag');
    if (form !== 'id-jag' && form !== 'id-token') throw bad('form must be id-jag or id-token');
    const id = ref.startsWith('spiffe://') ? ref : `spiffe://${sts.config.trustDomain}/agent/${ref}`;
    const agent = await sts.store.agents.get(id);
    if (agent === null)
      throw new OAuthError('not_found', 'WARRANT_AGENT_UNKNOWN', 'no agent with that id or name');
    if (agent.status !== 'active')
      throw new OAuthError('invalid_request', 'WARRANT_AGENT_DISABLED', 'the agent is disabled');
    if (form === 'id-jag') {
      sendJson(res, 200, {
        person,
        agent: agent.id,
        issuer: devIdp.issuer,
        form,
        subject_token: devIdp.idJag(person, agent.id, sts.issuer),
        subject_token_type: TOKEN_TYPE.idJag,
        expires_in: LIFETIME,
      });
      return true;
    }
    const clientId = agent.clientIds[devIdp.issuer];
    if (clientId === undefined)
      throw new OAuthError(
        'invalid_request',
        'WARRANT_AGENT_CLIENT_ID_MISSING',
        `the agent has no client id at the dev identity provider (${devIdp.issuer}): use the default form (id-jag), or register one`,
      );
    sendJson(res, 200, {
      person,
      agent: agent.id,
      issuer: devIdp.issuer,
      form,
      subject_token: devIdp.idToken(person, clientId),
      subject_token_type: TOKEN_TYPE.idToken,
      expires_in: LIFETIME,
    });
    return true;
  };
}
