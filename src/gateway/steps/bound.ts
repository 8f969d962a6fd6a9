/**
 * Bounded autonomy (DESIGN §6), after the decision: each allowed call whose risk is above the caller's
 * effective bound — the bound of its trust level (`guard.autonomy.bounds`), tightened by the action's blast
 * radius — needs a person. Unless the warrant carries an approval (`apv`) for exactly that call, which is
 * spent here (single use, atomically in the guard store), the request's decision becomes
 * `approval_required` and a pending approval is stored for the person (or the configured group); the
 * `record` step records and answers it (403 with the approval's id and where to poll).
 *
 * Fails closed: without a guard store an approval can be neither stored nor spent, so a call above its
 * bound is refused; a store that does not answer is `WARRANT_APPROVAL_STORE_UNAVAILABLE` (503).
 */
import { randomUUID } from 'node:crypto';
import type { ErrorCode } from '../../core/errors.ts';
import { boundDigest } from '../../guard/approvals/digest.ts';
import { ApprovalError, type ApprovalRefusal, personAddress } from '../../guard/approvals/store.ts';
import { blastRadiusPoints, byLevel } from '../../guard/risk.ts';
import type { AutonomyVerdict, CallDecision } from '../authorize-call.ts';
import { type DecidedCall, type GatewayCall, type GatewayStep, need } from '../context.ts';
import { GatewayError } from '../gateway-error.ts';
import { boundOf } from './decide.ts';

/** Why a presented approval could not be spent, as the decision's code. */
const REFUSAL_CODES: Readonly<Record<ApprovalRefusal, ErrorCode>> = {
  not_found: 'WARRANT_APPROVAL_INVALID',
  mismatch: 'WARRANT_APPROVAL_INVALID',
  expired: 'WARRANT_APPROVAL_EXPIRED',
  decided: 'WARRANT_APPROVAL_INVALID',
  used: 'WARRANT_APPROVAL_USED',
  withdrawn: 'WARRANT_APPROVAL_WITHDRAWN',
  denied: 'WARRANT_APPROVAL_DENIED',
};

export const bound: GatewayStep = {
  name: 'bound',
  async run(call: GatewayCall): Promise<void> {
    const verdict = need(call.verdict, 'verdict');
    if (verdict.decision.decision !== 'allow' || verdict.decided === undefined) return;
    const trustLevel = need(call.guard, 'guard').trustLevel;
    const apv = need(call.presented, 'presented').leaf.claims.apv;
    const { autonomy } = call.gw.guardConfig;
    const base = byLevel(autonomy.bounds, trustLevel);
    // First judge every call; the approval is spent only when nothing else in the request needs a person,
    // so a batch that is refused never burns it.
    let approved: DecidedCall | undefined;
    let last: AutonomyVerdict | undefined;
    for (const decided of verdict.decided) {
      const effectiveBound = base - blastRadiusPoints(decided.action.blastRadius, autonomy.blastRadius);
      last = { bound: base, effectiveBound };
      if (decided.decision.risk.score <= effectiveBound) continue;
      // The policy saw `approved` true only for an apv of exactly this call; one apv approves one call.
      if (apv !== undefined && approved === undefined && isApprovedCall(apv, decided)) {
        approved = decided;
        continue;
      }
      const approval = await ask(call, decided, effectiveBound);
      call.verdict = {
        ...verdict,
        action: decided.action,
        resource: decided.resource,
        decision: {
          ...decided.decision,
          decision: 'approval_required',
          code: 'WARRANT_APPROVAL_REQUIRED',
          error: 'access_denied',
          reasons: [
            `risk ${decided.decision.risk.score} is above the bound ${effectiveBound} of trust level ${trustLevel}: ${decided.action.name} needs a person's approval`,
            ...(apv !== undefined && apv.action === decided.action.name && approved === undefined
              ? ['the approval the warrant carries is for another call']
              : []),
          ],
          autonomy: { bound: base, effectiveBound, ...(approval ? { approval } : {}) },
        },
      };
      return;
    }
    if (approved !== undefined && apv !== undefined) {
      const refusal = await spend(call, approved, apv.id, apv.digest);
      if (refusal !== undefined) {
        call.verdict = {
          ...verdict,
          decision: refusal,
          action: approved.action,
          resource: approved.resource,
        };
        return;
      }
      last = {
        bound: base,
        effectiveBound: base - blastRadiusPoints(approved.action.blastRadius, autonomy.blastRadius),
        approval: { id: apv.id, status: 'used' },
      };
    }
    if (last !== undefined) call.verdict = { ...verdict, decision: { ...verdict.decision, autonomy: last } };
  },
};

/** Whether the warrant's approval names this call: its action, and its digest or (narrowed) its resource. */
function isApprovedCall(apv: { action: string; digest: string }, decided: DecidedCall): boolean {
  if (apv.action !== decided.action.name || decided.digest === undefined) return false;
  return apv.digest === decided.digest || apv.digest.startsWith('narrow:');
}

/** Spends the approval on this call; a refusal is the decision to record (`undefined`: spent). */
async function spend(
  call: GatewayCall,
  decided: DecidedCall,
  id: string,
  digest: string,
): Promise<CallDecision | undefined> {
  const guard = call.gw.guard;
  const deny = (code: ErrorCode, reason: string): CallDecision => ({
    ...decided.decision,
    decision: 'deny',
    code,
    error: 'access_denied',
    reasons: [reason],
  });
  if (guard === undefined)
    return deny('WARRANT_APPROVAL_INVALID', 'no approval store: approvals cannot be used here');
  try {
    await guard.approvals.use(
      id,
      { action: decided.action.name, digest, resource: decided.resource, by: `gateway:${call.gw.id}` },
      guard.now(),
    );
    return undefined;
  } catch (error) {
    if (error instanceof ApprovalError) return deny(REFUSAL_CODES[error.refusal], error.message);
    throw new GatewayError('WARRANT_APPROVAL_STORE_UNAVAILABLE', 'the approval store is unavailable', {
      cause: error,
    });
  }
}

/** Stores a pending approval for this call; `undefined` when there is no guard store to hold it. */
async function ask(
  call: GatewayCall,
  decided: DecidedCall,
  effectiveBound: number,
): Promise<AutonomyVerdict['approval']> {
  const guard = call.gw.guard;
  if (guard === undefined) return undefined;
  const presented = need(call.presented, 'presented');
  const claims = presented.leaf.claims;
  const { approvals } = call.gw.guardConfig;
  const bound = boundOf(call, decided.call, decided.action, decided.resource, decided.reader);
  let digest: string;
  try {
    digest = boundDigest(bound);
  } catch {
    return undefined;
  }
  const now = guard.now();
  const id = randomUUID();
  const person = { sub: claims.sub, iss: claims.sub_iss };
  const contentDigest = need(call.route, 'route').signedBodies
    ? call.req.headers['content-digest']
    : undefined;
  const actors: string[] = [];
  for (let a: typeof claims.act | undefined = claims.act; a; a = a.act) actors.unshift(a.sub);
  try {
    await guard.approvals.create(
      {
        id,
        person,
        caller: claims.act.sub,
        chain: actors,
        txn: claims.txn,
        warrant: presented.leaf.hash,
        action: decided.action.name,
        resource: decided.resource,
        parameters: bound as unknown as Record<string, unknown>,
        digest,
        ...(typeof contentDigest === 'string' ? { contentDigest } : {}),
        risk: decided.decision.risk.score,
        bound: effectiveBound,
        factors: decided.decision.risk.factors,
        addressedTo: approvals.group === undefined ? personAddress(person) : `group:${approvals.group}`,
        created: now,
        expires: now + approvals.ttlSeconds,
      },
      `gateway:${call.gw.id}`,
    );
  } catch (error) {
    throw new GatewayError('WARRANT_APPROVAL_STORE_UNAVAILABLE', 'the approval store is unavailable', {
      cause: error,
    });
  }
  return { id, uri: `${call.gw.issuer}/approvals/${id}`, status: 'pending' };
}
