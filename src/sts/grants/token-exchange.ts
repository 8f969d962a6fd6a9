import type { VerifiedDpopProof } from '../../core/dpop/index.ts';
import { WarrantError } from '../../core/errors.ts';
import {
  type Grant,
  grantsFromScope,
  grantsWithin,
  narrow,
  parseGrants,
  patternMatches,
  patternWithin,
  scopeOf,
} from '../../core/grants/index.ts';
import {
  type MayDelegate,
  type VerifiedToken,
  verifyToken,
  type WarrantClaims,
} from '../../core/tokens/index.ts';
import { type AgentParty, decideDelegation, type ResourceParty } from '../../policy/index.ts';
import type { AgentRecord } from '../../store/ports.ts';
import { authenticateClient } from '../client-auth.ts';
import { required } from '../http/form.ts';
import { fromWarrantError, OAuthError } from '../oauth-error.ts';
import { checkMayAct, type Person, verifyPersonAssertion } from '../person-assertion.ts';
import type { Sts } from '../sts.ts';
import { type GrantHandler, TOKEN_TYPE, type TokenResponse } from './types.ts';

const MAX_AUDIENCE = 2048;
const AUTHORIZATION_DETAILS_TYPE = 'warrant_grant';

/**
 * RFC 8693 token exchange. Two shapes:
 * - root: `subject_token` is a person's assertion from a trusted OIDC issuer — an ID token addressed to the
 *   caller's client id at that issuer, or an ID-JAG whose `client_id` is the caller (DESIGN §2); the caller
 *   becomes the first actor, and the delegation policy decides which of the requested grants the person may
 *   hand it;
 * - hop: `subject_token` is a warrant addressed to the caller; the child is bound to the caller's key,
 *   hash-linked to its parent, and may only narrow (grants, lifetime, depth, delegation targets).
 * Either way a DPoP proof by the caller's registered key is required, a `may_act` in the subject token must
 * name the caller, and the result is a `warrant+jwt`.
 */
export const tokenExchange: GrantHandler = {
  grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
  async handle(sts, { params, dpop }) {
    const proof = await sts.dpop(dpop, sts.tokenEndpoint);
    const caller = await authenticateCaller(sts, params, proof);
    const subjectType = required(params, 'subject_token_type');
    const subjectToken = required(params, 'subject_token');
    const requestedType = params.get('requested_token_type');
    if (requestedType !== undefined && requestedType !== TOKEN_TYPE.warrant) {
      throw new OAuthError(
        'invalid_request',
        'WARRANT_TOKEN_TYPE_UNSUPPORTED',
        'only warrants can be requested',
      );
    }
    const audience = required(params, 'audience');
    if (params.has('resource'))
      throw new OAuthError('invalid_target', 'WARRANT_AUDIENCE_NOT_ALLOWED', 'use audience, not resource');
    const recipient = await checkAudience(sts, caller, audience);
    if (subjectType === TOKEN_TYPE.idToken || subjectType === TOKEN_TYPE.idJag) {
      const person = await verifyPersonAssertion(
        sts,
        subjectToken,
        subjectType === TOKEN_TYPE.idToken ? 'id_token' : 'id_jag',
        caller,
      );
      return issueRoot(sts, params, caller, proof, person, audience, recipient);
    }
    if (subjectType === TOKEN_TYPE.warrant)
      return hop(sts, params, caller, proof, subjectToken, audience, recipient);
    throw new OAuthError(
      'invalid_request',
      'WARRANT_TOKEN_TYPE_UNSUPPORTED',
      'subject_token_type must be an ID token, an ID-JAG or a warrant',
    );
  },
};

/** A recipient the caller may obtain warrants for: one identifier, allowed for the caller, registered if an agent. */
export async function checkAudience(sts: Sts, caller: AgentRecord, audience: string): Promise<Recipient> {
  // One recipient: no whitespace or control characters, and not a pattern (`*`).
  if (audience.length > MAX_AUDIENCE || /[\s\p{Cc}*]/u.test(audience)) {
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'audience must be one recipient identifier',
    );
  }
  if (!caller.allowedAudiences.some((p) => patternMatches(p, audience))) {
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'this agent may not obtain warrants for that audience',
    );
  }
  return recipientOf(sts, audience);
}

export interface Recipient {
  readonly party: AgentParty | ResourceParty;
  readonly agent: AgentRecord | null;
}

/** The caller: `private_key_jwt`, or an identity token (`actor_token`) bound to the DPoP key. */
async function authenticateCaller(
  sts: Sts,
  params: Map<string, string>,
  proof: VerifiedDpopProof,
): Promise<AgentRecord> {
  if (params.has('client_assertion') || !params.has('actor_token')) {
    const agent = await authenticateClient(params, {
      agents: sts.store.agents,
      replay: sts.assertionReplay,
      audiences: sts.assertionAudiences,
      now: sts.clock(),
    });
    sts.requireAgentKey(agent, proof);
    if (params.has('actor_token')) {
      const actor = verifyIdentity(sts, params, proof);
      if (actor.claims.sub !== agent.id)
        throw new OAuthError(
          'invalid_client',
          'WARRANT_CLIENT_AUTH_FAILED',
          'actor_token names another agent',
        );
    }
    return agent;
  }
  const actor = verifyIdentity(sts, params, proof);
  if ((await sts.store.tokens.isRevoked(actor.hash)) !== false) {
    throw new OAuthError(
      'invalid_client',
      'WARRANT_CLIENT_AUTH_FAILED',
      'the actor token is revoked or unknown',
    );
  }
  const agent = await sts.store.agents.get(actor.claims.sub);
  if (agent === null) throw new OAuthError('invalid_client', 'WARRANT_CLIENT_AUTH_FAILED', 'unknown client');
  if (agent.status !== 'active')
    throw new OAuthError('invalid_client', 'WARRANT_AGENT_DISABLED', 'the agent is disabled');
  return agent;
}

function verifyIdentity(
  sts: Sts,
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
      keys: sts.keys.keySet(sts.clock()).resolve,
      issuer: sts.issuer,
      audience: sts.issuer,
      jkt: proof.jkt,
      now: sts.clock(),
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

async function recipientOf(sts: Sts, audience: string): Promise<Recipient> {
  if (!audience.startsWith('spiffe://')) return { party: { kind: 'resource', id: audience }, agent: null };
  const agent = await sts.store.agents.get(audience);
  if (agent === null)
    throw new OAuthError('invalid_target', 'WARRANT_AGENT_UNKNOWN', 'the audience is not a registered agent');
  if (agent.status !== 'active')
    throw new OAuthError('invalid_target', 'WARRANT_AGENT_DISABLED', 'the audience agent is disabled');
  return { party: agentParty(agent), agent };
}

const agentParty = (a: AgentRecord): AgentParty => ({
  kind: 'agent',
  id: a.id,
  tier: a.tier,
  trustLevel: a.trustLevel,
  owner: a.owner,
});

/** Grants asked for: RFC 9396 `authorization_details` of type `warrant_grant`, else `scope`. */
export function requestedGrants(params: Map<string, string>): {
  explicit: Grant[] | undefined;
  scope: string | undefined;
} {
  const details = params.get('authorization_details');
  const scope = params.get('scope');
  if (details === undefined) return { explicit: undefined, scope };
  let parsed: unknown;
  try {
    parsed = JSON.parse(details);
  } catch {
    throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', 'authorization_details is not JSON');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new OAuthError(
      'invalid_request',
      'WARRANT_REQUEST_MALFORMED',
      'authorization_details must be a non-empty array',
    );
  }
  const grants = parsed.map((d: unknown) => {
    if (
      typeof d !== 'object' ||
      d === null ||
      (d as { type?: unknown }).type !== AUTHORIZATION_DETAILS_TYPE
    ) {
      throw new OAuthError(
        'invalid_request',
        'WARRANT_REQUEST_MALFORMED',
        `authorization_details entries must have type ${AUTHORIZATION_DETAILS_TYPE}`,
      );
    }
    const { type: _t, ...grant } = d as Record<string, unknown>;
    return grant;
  });
  try {
    return { explicit: parseGrants(grants), scope };
  } catch (error) {
    throw new OAuthError('invalid_request', 'WARRANT_GRANT_INVALID', (error as Error).message, {
      cause: error,
    });
  }
}

/** `delegate_to`: space-separated audience patterns the recipient may delegate onward to. */
function requestedDelegation(params: Map<string, string>): string[] | undefined {
  const value = params.get('delegate_to');
  if (value === undefined) return undefined;
  const patterns = value.split(' ').filter(Boolean);
  if (patterns.length === 0 || patterns.length > 32)
    throw new OAuthError('invalid_request', 'WARRANT_REQUEST_MALFORMED', 'delegate_to is malformed');
  return patterns;
}

function requestedLifetime(params: Map<string, string>): number | undefined {
  const value = params.get('requested_lifetime');
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,6}$/.test(value))
    throw new OAuthError(
      'invalid_request',
      'WARRANT_REQUEST_MALFORMED',
      'requested_lifetime must be a positive integer of seconds',
    );
  return Number(value);
}

function task(params: Map<string, string>, inherited?: string): string | undefined {
  const value = params.get('task') ?? inherited;
  if (value !== undefined && (value.length > 256 || [...value].some((c) => c.charCodeAt(0) < 0x20))) {
    throw new OAuthError(
      'invalid_request',
      'WARRANT_REQUEST_MALFORMED',
      'task must be at most 256 printable characters',
    );
  }
  return value;
}

function decide(sts: Sts, input: Parameters<typeof decideDelegation>[1]): string {
  const decision = decideDelegation(sts.policy, input, sts.decisions);
  if (decision.decision !== 'allow') {
    throw new OAuthError(
      'invalid_scope',
      'WARRANT_DELEGATION_DENIED',
      `delegation policy denies: ${decision.reasons.join('; ')}`.slice(0, 500),
    );
  }
  return decision.policyVersion;
}

function respond(token: string, claims: WarrantClaims, now: number): TokenResponse {
  return {
    access_token: token,
    token_type: 'DPoP',
    expires_in: claims.exp - now,
    issued_token_type: TOKEN_TYPE.warrant,
    scope: claims.scope,
  };
}

/**
 * Issues a root warrant: the person (already verified as addressing `caller`) hands `caller` the grants the
 * delegation policy allows, for `audience`. Shared by token exchange and the jwt-bearer grant (ID-JAG). An
 * ID-JAG bounds what can be asked: the audience must be one of its `resource`s, each grant's action within
 * its `scope`, and the grants within its `authorization_details`, when it names them; with no grants
 * requested, its `authorization_details` (else its `scope`) are the request.
 */
export async function issueRoot(
  sts: Sts,
  params: Map<string, string>,
  caller: AgentRecord,
  proof: VerifiedDpopProof,
  person: Person,
  audience: string,
  recipient: Recipient,
): Promise<TokenResponse> {
  const sub = person.sub;
  if (person.resources !== undefined && !person.resources.includes(audience)) {
    throw new OAuthError(
      'invalid_target',
      'WARRANT_AUDIENCE_NOT_ALLOWED',
      'the audience is not one of the resources the ID-JAG grants',
    );
  }
  const { explicit, scope } = requestedGrants(params);
  const asked = scope ?? (explicit === undefined && person.grants === undefined ? person.scope : undefined);
  const grants =
    explicit ??
    (asked === undefined
      ? [...(person.grants ?? [])]
      : parseGrants(grantsFromScope(asked, params.get('grant_resource') ?? '*')));
  if (grants.length === 0)
    throw new OAuthError(
      'invalid_scope',
      'WARRANT_GRANT_NOT_HELD',
      'request grants with authorization_details or scope',
    );
  if (person.scope !== undefined) {
    const granted = person.scope.split(' ').filter(Boolean);
    if (!grants.every((g) => granted.some((token) => patternWithin(g.action, token))))
      throw new OAuthError(
        'invalid_scope',
        'WARRANT_GRANT_NOT_HELD',
        'the requested grants are not within the scope the ID-JAG grants',
      );
  }
  if (person.grants !== undefined && !grantsWithin(grants, person.grants))
    throw new OAuthError(
      'invalid_scope',
      'WARRANT_GRANT_NOT_HELD',
      'the requested grants are not within the authorization_details the ID-JAG grants',
    );
  decide(sts, {
    delegator: { kind: 'person', id: sub, issuer: person.issuer },
    recipient: agentParty(caller),
    grants,
    depth: 0,
    person: sub,
    ...(params.has('task') ? { task: params.get('task')! } : {}),
  });
  const now = sts.clock();
  const lifetime = Math.min(
    requestedLifetime(params) ?? sts.config.sts.warrantLifetime,
    sts.config.sts.warrantLifetime,
  );
  const delegateTo = requestedDelegation(params);
  // By default the recipient may delegate onward to what it may obtain warrants for anyway.
  const mayDelegate: MayDelegate =
    recipient.agent === null ? false : { aud: delegateTo ?? [...recipient.agent.allowedAudiences] };
  const t = task(params);
  // Last check before anything is written: an ID-JAG is spent now (a replay issues nothing).
  await person.consume();
  const { token, claims } = await sts.mintWarrant(
    {
      sub,
      sub_iss: person.issuer,
      act: { sub: caller.id },
      aud: audience,
      scope: scopeOf(grants),
      grants,
      txn: sts.newTxn(),
      ...(t === undefined ? {} : { task: t }),
      depth: 0,
      max_depth: Math.min(sts.config.sts.maxDepth, caller.maxDepth),
      may_delegate: mayDelegate,
      cnf: { jkt: proof.jkt },
      iat: now,
      exp: now + lifetime,
    },
    null,
  );
  return respond(token, claims, now);
}

async function hop(
  sts: Sts,
  params: Map<string, string>,
  caller: AgentRecord,
  proof: VerifiedDpopProof,
  subjectToken: string,
  audience: string,
  recipient: Recipient,
): Promise<TokenResponse> {
  const now = sts.clock();
  let parent: VerifiedToken<'warrant'>;
  try {
    parent = verifyToken('warrant', subjectToken, {
      keys: sts.keys.keySet(now).resolve,
      issuer: sts.issuer,
      now,
    });
  } catch (error) {
    if (error instanceof WarrantError) throw fromWarrantError(error, 'invalid_grant');
    throw error;
  }
  const p = parent.claims;
  // The chain rule (DESIGN §3): the actor of each link is the audience of the link before it. So the only
  // agent that may exchange a warrant is its recipient, proving its own key.
  if (p.aud !== caller.id) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_CALLER_NOT_AUDIENCE',
      'the caller is not the recipient of the subject warrant',
    );
  }
  // RFC 8693 §4.4: a warrant that names who may act on it is exchanged by that party only.
  checkMayAct(p.may_act, caller, sts.issuer);
  // Revocation cascades to every descendant at revoke time (and races are caught when the child is
  // recorded), so the parent's own state covers every ancestor. Unknown → fail closed.
  if ((await sts.store.tokens.isRevoked(parent.hash)) !== false) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_PARENT_REVOKED',
      'the subject warrant is revoked or unknown',
    );
  }
  if (p.depth + 1 > p.max_depth) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_CHAIN_DEPTH_EXCEEDED',
      `the delegation depth budget (${p.max_depth}) is used up`,
    );
  }
  if (p.may_delegate === false || !p.may_delegate.aud.some((pattern) => patternWithin(audience, pattern))) {
    throw new OAuthError(
      'invalid_target',
      'WARRANT_CHAIN_DELEGATION_FORBIDDEN',
      'the subject warrant does not allow delegation to that audience',
    );
  }
  if (
    p.may_delegate.tiers !== undefined &&
    (recipient.agent === null || !p.may_delegate.tiers.includes(recipient.agent.tier))
  ) {
    throw new OAuthError(
      'invalid_target',
      'WARRANT_CHAIN_DELEGATION_FORBIDDEN',
      'the subject warrant does not allow delegation to that tier',
    );
  }
  const { explicit, scope } = requestedGrants(params);
  let grants: Grant[];
  if (explicit !== undefined) {
    if (!grantsWithin(explicit, p.grants)) {
      throw new OAuthError(
        'invalid_scope',
        'WARRANT_GRANT_NOT_HELD',
        'the requested grants are not within the subject warrant grants',
      );
    }
    grants = explicit;
  } else if (scope !== undefined) {
    try {
      grants = narrow(grantsFromScope(scope), p.grants);
    } catch (error) {
      if (error instanceof WarrantError) throw fromWarrantError(error, 'invalid_scope');
      throw error;
    }
  } else {
    grants = [...p.grants];
  }
  const wanted = requestedLifetime(params);
  if (wanted !== undefined && now + wanted > p.exp) {
    throw new OAuthError(
      'invalid_grant',
      'WARRANT_CHAIN_LIFETIME_EXTENDED',
      'the requested lifetime outlives the subject warrant',
    );
  }
  const exp = Math.min(
    p.exp,
    now + Math.min(wanted ?? sts.config.sts.hopLifetime, sts.config.sts.hopLifetime),
  );
  if (exp <= Math.max(now, p.iat)) {
    throw new OAuthError('invalid_grant', 'WARRANT_TOKEN_EXPIRED', 'the subject warrant has expired');
  }
  const delegateTo = requestedDelegation(params);
  let mayDelegate: MayDelegate;
  if (recipient.party.kind === 'resource') mayDelegate = false;
  else if (delegateTo === undefined) mayDelegate = p.may_delegate;
  else {
    if (
      !delegateTo.every((c) =>
        (p.may_delegate as { aud: readonly string[] }).aud.some((q) => patternWithin(c, q)),
      )
    ) {
      throw new OAuthError(
        'invalid_target',
        'WARRANT_CHAIN_DELEGATION_FORBIDDEN',
        'delegate_to is wider than the subject warrant allows',
      );
    }
    mayDelegate = p.may_delegate.tiers
      ? { aud: delegateTo, tiers: p.may_delegate.tiers }
      : { aud: delegateTo };
  }
  const t = task(params, p.task);
  decide(sts, {
    delegator: agentParty(caller),
    recipient: recipient.party,
    grants,
    depth: p.depth + 1,
    person: p.sub,
    ...(t === undefined ? {} : { task: t }),
  });
  const { token, claims } = await sts.mintWarrant(
    {
      sub: p.sub,
      sub_iss: p.sub_iss,
      act: { sub: caller.id, act: p.act },
      aud: audience,
      scope: scopeOf(grants),
      grants,
      txn: p.txn,
      ...(t === undefined ? {} : { task: t }),
      prev: parent.hash,
      root: p.root ?? parent.hash,
      depth: p.depth + 1,
      max_depth: p.max_depth,
      may_delegate: mayDelegate,
      cnf: { jkt: proof.jkt },
      iat: Math.max(now, p.iat),
      exp,
    },
    parent.hash,
  );
  return respond(token, claims, now);
}
