/**
 * Step 6, the decision record (DESIGN §7, §8): allow or deny, the decision is appended to the decision log
 * and must be durable before anything else happens — a record that cannot be made durable is a 503 and
 * nothing is forwarded. A denied call is answered once its record is written (403, the decision's code).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { BreakerView } from '../../guard/breakers/state.ts';
import type { DecisionRecord } from '../../ledger/decision-log.ts';
import { type GatewayCall, type GatewayStep, need } from '../context.ts';
import { GatewayError, jsonRpcIdOf } from '../gateway-error.ts';
import { txnTokenFor } from './forward-headers.ts';

export const record: GatewayStep = {
  name: 'record',
  async run(call: GatewayCall): Promise<void> {
    const { decision } = need(call.verdict, 'verdict');
    const id = randomUUID();
    const entry = decisionRecord(call, id);
    // The write starts first (the ledger hands the batch to its writer thread; the file log writes and
    // starts its fdatasync), then the Txn-Token is signed while the record becomes durable — inline at one
    // request at a time, so the signature must not hold up the write. Dropped if the record fails.
    const durable = startAppend(call, entry);
    if (decision.decision === 'allow') {
      call.txnToken = txnTokenFor(call, id);
      call.txnToken.catch(() => {});
    }
    try {
      await durable;
    } catch (cause) {
      call.gw.appended(false);
      throw new GatewayError(
        'WARRANT_DECISION_NOT_RECORDED',
        'the decision could not be recorded; nothing was forwarded',
        { cause },
      );
    }
    call.gw.appended(true);
    call.gw.metrics.decision(decision.decision, decision.code);
    call.decisionId = id;
    if (decision.decision === 'approval_required') throw approvalRequired(call);
    if (decision.decision !== 'allow')
      throw new GatewayError(
        decision.code ?? 'WARRANT_CALL_DENIED',
        decision.reasons.join('; ').slice(0, 300),
        { retryAfter: call.retryAfter },
      );
  },
};

/** The sink's append, started; a sink that throws instead of rejecting fails the same way. */
function startAppend(call: GatewayCall, entry: DecisionRecord): Promise<unknown> {
  try {
    return call.gw.decisions.append(entry);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The answer to a call that needs a person's approval: 403 `WARRANT_APPROVAL_REQUIRED` with the approval's
 * id and where to poll it (absent when no approval could be stored); on an MCP or A2A route a JSON-RPC error
 * response to the request carrying the same.
 */
function approvalRequired(call: GatewayCall): GatewayError {
  const { decision } = need(call.verdict, 'verdict');
  const approval = decision.autonomy?.approval;
  const protocol = need(call.route, 'route').protocol;
  const rpc = protocol === 'mcp' || protocol === 'a2a';
  return new GatewayError('WARRANT_APPROVAL_REQUIRED', decision.reasons.join('; ').slice(0, 300), {
    ...(approval?.uri === undefined
      ? {}
      : { data: { approval_id: approval.id, approval_uri: approval.uri } }),
    ...(rpc ? { jsonRpcId: jsonRpcIdOf(call.body) } : {}),
  });
}

/** The record of the request's decision: who, on whose behalf, what, under which grant, why. No token. */
export function decisionRecord(call: GatewayCall, id: string): DecisionRecord {
  const { decision, action, resource } = need(call.verdict, 'verdict');
  const presented = need(call.presented, 'presented');
  const route = need(call.route, 'route');
  const { req, body } = call;
  const c = presented.leaf.claims;
  const digest = createHash('sha256').update(`${req.method} ${req.url}\n`);
  if (body) digest.update(body);
  const links = presented.chain?.links ?? [presented.leaf];
  return {
    id,
    kind: 'decision',
    time: new Date().toISOString(),
    gateway: call.gw.id,
    decision: decision.decision,
    reasons: decision.reasons,
    ...(decision.code ? { code: decision.code } : {}),
    person: { sub: c.sub, iss: c.sub_iss },
    caller: c.act.sub,
    recipient: route.audience,
    ...(action ? { action: action.name, resource: resource ?? route.audience } : {}),
    granted: c.grants,
    ...(decision.used ? { used: decision.used } : {}),
    ...(decision.values ? { parameters: decision.values } : {}),
    chain: links.map((l) =>
      l.claims.iss === call.gw.issuer
        ? { hash: l.hash, actor: l.claims.act.sub }
        : { hash: l.hash, actor: l.claims.act.sub, iss: l.claims.iss },
    ),
    ...(presented.chain?.boundary ? { boundary: presented.chain.boundary } : {}),
    txn: c.txn,
    ...(c.task ? { task: c.task } : {}),
    policyVersion: decision.policyVersion,
    risk: decision.risk,
    ...(decision.autonomy ? { bound: decision.autonomy } : {}),
    trustLevel: need(call.guard, 'guard').trustLevel,
    ...(call.budgets === undefined
      ? {}
      : {
          budgets: call.budgets.states.map((b) => ({
            name: b.name,
            key: b.key,
            limit: b.limit,
            spent: b.spent,
            quantity: b.quantity,
          })),
        }),
    ...(call.sandboxed === undefined ? {} : { sandboxed: true, sandbox: call.sandboxed }),
    ...(call.breakers ? { breakers: call.breakers.check.breakers.map(recordedBreaker) } : {}),
    requestDigest: digest.digest('base64url'),
    // The request's W3C trace: from a record to its trace, and back.
    traceId: call.trace.traceId,
  };
}

/** A breaker as the record keeps it: its key and state, and why and until when when it is not closed. */
function recordedBreaker(b: BreakerView): NonNullable<DecisionRecord['breakers']>[number] {
  return {
    key: b.key,
    state: b.state,
    ...(b.trigger === undefined ? {} : { trigger: b.trigger }),
    ...(b.until === undefined ? {} : { until: b.until }),
  };
}
