/**
 * The plan of a containment (what `--dry-run` shows, and what a run carries out): the live warrants the
 * revocation reaches, the breakers to trip, and every allowed action under the selection with what becomes
 * of it — compensated (newest first), already compensated by an earlier run, or left for a person
 * (irreversible, compensable, no compensation registered, or its inputs not kept). Reads only.
 */
import { WarrantError } from '../../core/errors.ts';
import type { DecisionRecord } from '../../ledger/decision-log.ts';
import type { CatalogEntry } from '../catalog.ts';
import { type ActionRecord, actionsUnder } from './actions-under.ts';
import { type CompensationInputs, compensationInputsOf } from './compensation-inputs.ts';
import { type CompensationRequest, compensationRequest } from './compensation-request.ts';
import { ContainError } from './contain-error.ts';
import { ContainmentSteps } from './containment-steps.ts';
import type { ContainContext } from './context.ts';
import { type ResolvedTarget, resolveTarget } from './resolve-target.ts';
import type { BreakerKey, ContainedAction, ContainPlan, ContainSelector } from './types.ts';

/** A planned action with what running it needs. */
export interface PlannedAction {
  readonly view: ContainedAction;
  /** The decision record. */
  readonly source: DecisionRecord;
  readonly entry?: CatalogEntry;
  readonly inputs?: CompensationInputs;
}

export interface BuiltPlan {
  readonly plan: ContainPlan;
  readonly target: ResolvedTarget;
  readonly actions: readonly PlannedAction[];
}

export async function buildPlan(
  ctx: ContainContext,
  selector: ContainSelector,
  runId = 'planned',
): Promise<BuiltPlan> {
  let target: ResolvedTarget;
  let records: ActionRecord[];
  let inputs: Map<string, CompensationInputs>;
  let steps: Awaited<ReturnType<ContainmentSteps['of']>>;
  try {
    const source = await ctx.ledger.source();
    target = await resolveTarget(ctx.sts, selector, source);
    if (!target.known) {
      throw new ContainError(
        'WARRANT_CONTAIN_TARGET_UNKNOWN',
        `nothing is known under ${describe(selector)}: no warrant, agent or recorded action`,
      );
    }
    records = await actionsUnder(source, target);
    const ids = records.map((r) => r.audit.record.id);
    inputs = await compensationInputsOf(ctx.guard.store.sql, ids);
    steps = await new ContainmentSteps(ctx.guard.store.sql).of(ids);
  } catch (error) {
    if (error instanceof WarrantError) throw error;
    throw new ContainError('WARRANT_CONTAIN_UNAVAILABLE', 'the ledger or the guard store cannot be read', {
      cause: error,
    });
  }
  const catalog = ctx.catalog();
  const routes = ctx.routes();
  const actions: PlannedAction[] = records.map(({ audit, status }) => {
    const r = audit.record;
    const entry = catalog.actions.find((a) => a.name === r.action);
    const kept = inputs.get(r.id);
    const base = {
      decisionId: r.id,
      index: audit.index,
      time: r.time,
      action: r.action ?? '(none)',
      caller: r.caller ?? '',
      txn: r.txn ?? null,
      person: r.person?.sub ?? null,
      reversibility: entry?.reversibility ?? ('unknown' as const),
      ...((status ?? kept?.status) === undefined ? {} : { status: (status ?? kept?.status)! }),
    };
    const step = steps.get(r.id);
    const request =
      entry?.compensation !== undefined && kept !== undefined
        ? compensationRequest(entry, kept, routes, runId)
        : undefined;
    const call = (req: CompensationRequest) => ({
      method: req.method,
      url: req.url,
      idempotencyKey: req.idempotencyKey,
    });
    if (step?.state === 'done') {
      return {
        source: r,
        view: {
          ...base,
          handling: 'compensated',
          note: `compensated before (status ${step.status ?? 'unknown'})`,
          ...(request && !('missing' in request) ? { compensation: call(request) } : {}),
        },
      };
    }
    const manual = (note: string): PlannedAction => ({
      source: r,
      view: { ...base, handling: 'manual', note },
    });
    if (entry === undefined) return manual('the action is not in the catalog');
    if (entry.reversibility === 'irreversible') return manual('irreversible: a person must handle it');
    if (entry.reversibility === 'compensable')
      return manual('compensable: a person decides how to compensate it');
    if (entry.compensation === undefined)
      return manual('reversible, but the catalog registers no compensation for it');
    if (kept === undefined) {
      return manual(
        status !== undefined && (status < 200 || status > 299)
          ? `the call failed (status ${status}): nothing to undo, check it`
          : 'the values its compensation needs were not kept (no 2xx JSON answer seen by the gateway)',
      );
    }
    if (request === undefined || 'missing' in request) return manual(request?.missing ?? 'no compensation');
    return {
      source: r,
      view: { ...base, handling: 'compensate', compensation: call(request) },
      entry,
      inputs: kept,
    };
  });
  const order = actions
    .filter((a) => a.view.handling === 'compensate')
    .sort((a, b) => b.view.index - a.view.index)
    .map((a) => a.view.decisionId);
  const plan: ContainPlan = {
    selector,
    revoke: { live: target.live.length },
    breakers: breakersFor(target, actions),
    actions: actions.map((a) => a.view),
    compensationOrder: order,
  };
  return { plan, target, actions };
}

function breakersFor(target: ResolvedTarget, actions: readonly PlannedAction[]): BreakerKey[] {
  const { selector } = target;
  if ('txn' in selector) return [{ txn: selector.txn }];
  if ('agent' in selector) return [{ agent: selector.agent }];
  if ('warrant' in selector) return target.token?.txn ? [{ txn: target.token.txn }] : [];
  const txns = new Set(actions.map((a) => a.view.txn).filter((t): t is string => t !== null));
  for (const t of target.live) if (t.txn) txns.add(t.txn);
  return [...txns].sort().map((txn) => ({ txn }));
}

export function describe(selector: ContainSelector): string {
  if ('warrant' in selector) return `warrant ${selector.warrant}`;
  if ('txn' in selector) return `transaction ${selector.txn}`;
  if ('agent' in selector) return `agent ${selector.agent}`;
  return `person ${selector.person}`;
}
