import { GRANT_TYPE } from '../../core/tokens/token-types.ts';
import { OAuthError } from '../oauth-error.ts';
import {
  approvalGrants,
  approvalIdOf,
  approvalLifetime,
  checkHolder,
  loadApproval,
  mintApproval,
} from './exchange/approval.ts';
import { authenticateCaller } from './exchange/authenticate-caller.ts';
import { checkAudience, checkPersonResources } from './exchange/check-audience.ts';
import { checkDepth } from './exchange/check-depth.ts';
import { checkLifetime, rootLifetime } from './exchange/check-lifetime.ts';
import { checkParentMayAct } from './exchange/check-may-act.ts';
import { checkMayDelegate } from './exchange/check-may-delegate.ts';
import { type Check, exchangeContext, runChecks } from './exchange/context.ts';
import { decideHop, decideRoot } from './exchange/decide-delegation.ts';
import { limitMayDelegate, rootMayDelegate } from './exchange/limit-may-delegate.ts';
import { mintHop, mintRoot } from './exchange/mint.ts';
import { narrowGrants, rootGrants } from './exchange/narrow-grants.ts';
import { checkSubjectType, parseRequest } from './exchange/parse-request.ts';
import { readTask } from './exchange/read-task.ts';
import { startReads } from './exchange/start-reads.ts';
import { verifyDpop } from './exchange/verify-dpop.ts';
import { checkChainLink, checkParentLive, verifyParent } from './exchange/verify-parent.ts';
import {
  checkPeerChainLive,
  isCrossing,
  verifyPeerChain,
  watchCrossing,
} from './exchange/verify-peer-chain.ts';
import { spendAssertion, verifyPerson } from './exchange/verify-person.ts';
import { type GrantHandler, TOKEN_TYPE } from './types.ts';

/** Every exchange: who asks, for whom, with what. */
const REQUEST: readonly Check[] = [
  startReads,
  verifyDpop,
  authenticateCaller,
  parseRequest,
  checkAudience,
  checkSubjectType,
];

/**
 * A root warrant: the person (already verified as addressing the caller) hands the caller the grants the
 * delegation policy allows, for the audience. Shared with the jwt-bearer grant (ID-JAG).
 */
export const ROOT: readonly Check[] = [
  checkPersonResources,
  rootGrants,
  decideRoot,
  rootLifetime,
  rootMayDelegate,
  readTask,
  spendAssertion,
  mintRoot,
];

/** A hop: the caller narrows the warrant it received, for the next recipient. */
const HOP: readonly Check[] = [
  verifyParent,
  checkChainLink,
  checkParentMayAct,
  checkParentLive,
  checkDepth,
  checkMayDelegate,
  narrowGrants,
  checkLifetime,
  limitMayDelegate,
  readTask,
  decideHop,
  mintHop,
];

/**
 * Across a trust boundary (DESIGN §11): the subject is a trusted peer's whole chain, verified with the peer's
 * keys and limits and checked live at the peer; then the hop checks as for any parent (this deployment's
 * own delegation policy decides), and the chain is watched for revocation at the peer.
 */
const CROSSING: readonly Check[] = [
  verifyPeerChain,
  checkChainLink,
  checkParentMayAct,
  checkPeerChainLive,
  checkDepth,
  checkMayDelegate,
  narrowGrants,
  checkLifetime,
  limitMayDelegate,
  readTask,
  decideHop,
  mintHop,
  watchCrossing,
];

const PERSON: readonly Check[] = [verifyPerson, ...ROOT];

/** An approval: the caller's own warrant again, with the approved call bound in `apv` (exchange/approval.ts). */
const APPROVAL: readonly Check[] = [
  verifyParent,
  checkHolder,
  checkParentLive,
  loadApproval,
  approvalGrants,
  approvalLifetime,
  mintApproval,
];

/**
 * RFC 8693 token exchange, as ordered lists of named checks over one context (`exchange/`). Two shapes:
 * - root: `subject_token` is a person's assertion from a trusted OIDC issuer — an ID token addressed to the
 *   caller's client id at that issuer, or an ID-JAG whose `client_id` is the caller (DESIGN §2); the caller
 *   becomes the first actor, and the delegation policy decides which of the requested grants the person may
 *   hand it;
 * - hop: `subject_token` is a warrant addressed to the caller; the child is bound to the caller's key,
 *   hash-linked to its parent, and may only narrow (grants, lifetime, depth, delegation targets).
 * - approval: `subject_token` is the caller's own warrant and `approval_id` names an approved approval of a
 *   call made with it; the result is that warrant again, short-lived, carrying `apv` (exchange/approval.ts).
 * Either way a DPoP proof by the caller's registered key is required, a `may_act` in the subject token must
 * name the caller, and the result is a `warrant+jwt`.
 */
export const tokenExchange: GrantHandler = {
  grantType: GRANT_TYPE.tokenExchange,
  async handle(sts, request) {
    const ctx = exchangeContext(sts, request);
    await runChecks(REQUEST, ctx);
    if (approvalIdOf(ctx.params) !== undefined) {
      if (ctx.subjectType !== TOKEN_TYPE.warrant)
        throw new OAuthError(
          'invalid_request',
          'WARRANT_TOKEN_TYPE_UNSUPPORTED',
          'an approval is exchanged for with the warrant the call was made with',
        );
      await runChecks(APPROVAL, ctx);
      return ctx.response;
    }
    if (ctx.subjectType === TOKEN_TYPE.warrant) await runChecks(isCrossing(ctx) ? CROSSING : HOP, ctx);
    else await runChecks(PERSON, ctx);
    return ctx.response;
  },
};
