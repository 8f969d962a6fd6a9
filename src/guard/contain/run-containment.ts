/**
 * Runs a containment (DESIGN §6, "Contain"): plan, revoke the whole subtree (the STS cascades to every
 * descendant; gateways learn it from the status lists and the revocation feed within their staleness
 * bound), trip the involved breakers, send the compensations of reversible actions newest first, and list
 * what a person must handle. Every step is recorded in the guard store and handed to the ledger
 * (ledger-inbox.ts) in the same transaction as its state.
 *
 * Idempotent and resumable: each compensation is claimed atomically before it is sent (containment-steps.ts);
 * a step done by an earlier run is not sent again; a step a dead run left `running` is re-sent (after its
 * claim expired) with the same Idempotency-Key, which is what lets the upstream apply it once. A failed
 * compensation is recorded and reported, the others continue, and the next run retries it.
 */
import { randomUUID } from 'node:crypto';
import { WarrantError } from '../../core/errors.ts';
import type { DecisionRecord } from '../../ledger/decision-log.ts';
import type { GuardSql } from '../store/guard-sql.ts';
import { type BuiltPlan, buildPlan, type PlannedAction } from './build-plan.ts';
import { compensationRequest } from './compensation-request.ts';
import { ContainError } from './contain-error.ts';
import { finishRun, startRun } from './containment-runs.ts';
import { ContainmentSteps } from './containment-steps.ts';
import type { ContainContext } from './context.ts';
import { enqueueLedgerRecord } from './ledger-inbox.ts';
import { sendCompensation } from './send-compensation.ts';
import { tripBreakers } from './trip-breakers.ts';
import {
  type ContainProgress,
  type ContainResult,
  type ContainSelector,
  type ContainStep,
  selectorKey,
} from './types.ts';

type LedgerStep = NonNullable<DecisionRecord['containment']>['step'];

export async function runContainment(
  ctx: ContainContext,
  selector: ContainSelector,
  options: { readonly actor: string; readonly onProgress?: ContainProgress },
): Promise<ContainResult> {
  const runId = randomUUID();
  const nowMs = ctx.nowMs ?? Date.now;
  const built = await buildPlan(ctx, selector, runId);
  const key = selectorKey(selector);
  const steps = new ContainmentSteps(ctx.guard.store.sql);
  const reported: ContainStep[] = [];
  const report = (step: ContainStep) => {
    reported.push(step);
    options.onProgress?.(step);
  };
  const scope = scopeOf(selector);
  /** Writes a step's ledger record and guard change in `tx` (with the state change it describes). */
  const record = async (
    tx: GuardSql,
    step: LedgerStep,
    outcome: 'done' | 'failed' | 'skipped',
    detail: Record<string, unknown>,
    about?: PlannedAction,
  ) => {
    const v = about?.view;
    const source = about?.source;
    await enqueueLedgerRecord(tx, {
      id: randomUUID(),
      kind: 'containment',
      time: new Date(nowMs()).toISOString(),
      gateway: 'control-plane',
      ...(v
        ? {
            decisionId: v.decisionId,
            action: v.action,
            ...(v.txn ? { txn: v.txn } : {}),
            ...(source?.person ? { person: source.person } : {}),
          }
        : scope),
      containment: { run: runId, selector: key, step, outcome, detail },
    });
    await ctx.guard.store.changes.record(
      {
        time: Math.floor(nowMs() / 1000),
        kind: 'containment',
        subject: key,
        actor: options.actor,
        reason: `${step} ${outcome}`,
        detail: { run: runId, ...(v ? { decisionId: v.decisionId, action: v.action } : {}), ...detail },
      },
      tx,
    );
  };

  try {
    await ctx.guard.store.sql.transaction(async (tx) => {
      await startRun(tx, { id: runId, selector: key, actor: options.actor, started: nowMs() });
      await steps.add(
        built.actions
          .filter((a) => a.view.handling !== 'compensated')
          .map((a) => ({
            decisionId: a.view.decisionId,
            action: a.view.action,
            state: a.view.handling === 'compensate' ? ('pending' as const) : ('manual' as const),
          })),
        key,
        runId,
        nowMs(),
        tx,
      );
      await record(tx, 'started', 'done', {
        live: built.plan.revoke.live,
        actions: built.plan.actions.length,
        compensations: built.plan.compensationOrder.length,
      });
    });
  } catch (error) {
    throw unavailable(error);
  }

  // 1. Revoke: every live warrant of the selection and every descendant.
  const revoked = await ctx.sts
    .revoke(built.target.revoke, `contained (run ${runId})`)
    .catch((error: unknown) => {
      throw unavailable(error);
    });
  await ctx.guard.store.sql.transaction((tx) => record(tx, 'revoke', 'done', { revoked: revoked.length }));
  report({ step: 'revoke', outcome: 'done', detail: { revoked: revoked.length } });

  // 2. Trip the breakers involved.
  const tripped = await tripBreakers(ctx.guard, built.plan.breakers, `contained (run ${runId})`);
  for (const step of tripped) {
    await ctx.guard.store.sql.transaction((tx) => record(tx, 'breaker', step.outcome, { ...step.detail }));
    report(step);
  }

  // 3. Compensations, newest first.
  const byId = new Map(built.actions.map((a) => [a.view.decisionId, a]));
  let compensated = 0;
  let failed = 0;
  let already = built.actions.filter((a) => a.view.handling === 'compensated').length;
  const leaseMs = ctx.compensationTimeoutMs * 2;
  for (const id of built.plan.compensationOrder) {
    const planned = byId.get(id)!;
    const base = { step: 'compensate' as const, decisionId: id, action: planned.view.action };
    if (!(await steps.claim(id, runId, nowMs(), leaseMs))) {
      const state = (await steps.of([id])).get(id);
      if (state?.state === 'done') already++;
      report({
        ...base,
        outcome: 'skipped',
        detail: {
          reason: state?.state === 'done' ? 'already compensated' : 'being compensated by another run',
        },
      });
      continue;
    }
    const request = compensationRequest(planned.entry!, planned.inputs!, ctx.routes(), runId);
    const sent =
      'missing' in request
        ? { ok: false, error: 'NOT_BUILT' }
        : await sendCompensation(request, ctx.compensationTimeoutMs, ctx.fetch);
    const outcome = sent.ok ? 'done' : 'failed';
    const detail = {
      ...('missing' in request
        ? {}
        : { method: request.method, url: request.url, idempotencyKey: request.idempotencyKey }),
      ...(sent.status === undefined ? {} : { status: sent.status }),
      ...(sent.error === undefined ? {} : { error: sent.error }),
    };
    await ctx.guard.store.sql.transaction(async (tx) => {
      const finished = await steps.finish(id, runId, outcome, sent, nowMs(), tx);
      // Another run took the step over meanwhile (this one outlived its claim): its outcome stands.
      if (finished) await record(tx, 'compensate', outcome, detail, planned);
    });
    if (sent.ok) compensated++;
    else failed++;
    report({ ...base, outcome, detail });
  }

  // 4. What a person must handle: recorded in the ledger once (by the run that first listed it).
  const manual = built.actions.filter((a) => a.view.handling === 'manual');
  const listed = await steps.of(manual.map((a) => a.view.decisionId));
  for (const a of manual) {
    const detail = { reversibility: a.view.reversibility, note: a.view.note ?? '' };
    if (listed.get(a.view.decisionId)?.runId === runId)
      await ctx.guard.store.sql.transaction((tx) => record(tx, 'manual', 'skipped', detail, a));
    report({
      step: 'manual',
      outcome: 'skipped',
      decisionId: a.view.decisionId,
      action: a.view.action,
      detail,
    });
  }

  const summary = {
    compensated,
    alreadyCompensated: already,
    failed,
    manual: manual.length,
    breakersTripped: tripped.filter((s) => s.outcome === 'done').length,
    breakersUnavailable: tripped.filter((s) => s.outcome !== 'done').length,
  };
  await ctx.guard.store.sql.transaction(async (tx) => {
    await finishRun(tx, runId, nowMs(), { ...summary, revoked: revoked.length });
    await record(tx, 'finished', failed > 0 ? 'failed' : 'done', { ...summary, revoked: revoked.length });
  });
  return { run: runId, dryRun: false, plan: built.plan, revoked: revoked.length, steps: reported, summary };
}

/** The plan only: `--dry-run` reads and changes nothing. */
export async function planContainment(
  ctx: ContainContext,
  selector: ContainSelector,
): Promise<BuiltPlan['plan']> {
  return (await buildPlan(ctx, selector)).plan;
}

function scopeOf(selector: ContainSelector): Partial<DecisionRecord> {
  if ('txn' in selector) return { txn: selector.txn };
  if ('agent' in selector) return { caller: selector.agent };
  return {};
}

function unavailable(error: unknown): WarrantError {
  if (error instanceof WarrantError) return error;
  return new ContainError('WARRANT_CONTAIN_UNAVAILABLE', 'the guard store cannot record the containment', {
    cause: error,
  });
}
