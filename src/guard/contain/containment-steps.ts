/**
 * The state of each action a containment handles (table `containment_steps`, one row per decision id, for
 * every run of every selector): `pending` → `running` (claimed, its compensation is being sent) → `done` or
 * `failed`; `manual` for what a person handles. A compensation is sent only by the run that claimed its
 * step: the claim is one atomic UPDATE, so two runs (or a run and its re-run) never both send it. A step
 * left `running` by a run that died is claimed again once its claim expired (`claimed_until`), and re-sent
 * with the same Idempotency-Key — at least once, deduplicated by the upstream.
 */
import type { GuardSql } from '../store/guard-sql.ts';

export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'manual';

export interface StepRow {
  readonly decisionId: string;
  readonly selector: string;
  readonly runId: string;
  readonly action: string;
  readonly state: StepState;
  readonly attempts: number;
  /** Epoch ms. */
  readonly claimedUntil: number;
  readonly status: number | null;
  readonly error: string | null;
}

export class ContainmentSteps {
  readonly #sql: GuardSql;

  constructor(sql: GuardSql) {
    this.#sql = sql;
  }

  /** Adds the steps not known yet (a step of an earlier run keeps its state). */
  async add(
    steps: readonly { decisionId: string; action: string; state: 'pending' | 'manual' }[],
    selector: string,
    runId: string,
    nowMs: number,
    tx: GuardSql = this.#sql,
  ): Promise<void> {
    for (const s of steps) {
      await tx.run(
        `INSERT INTO containment_steps (decision_id, selector, run_id, action, state, attempts, claimed_until, updated)
         VALUES ($1, $2, $3, $4, $5, 0, 0, $6) ON CONFLICT (decision_id) DO NOTHING`,
        [s.decisionId, selector, runId, s.action, s.state, nowMs],
      );
    }
  }

  /** The known steps of the given decisions, by decision id. */
  async of(decisionIds: readonly string[]): Promise<Map<string, StepRow>> {
    const out = new Map<string, StepRow>();
    for (const id of decisionIds) {
      const row = await this.#sql.one(
        'SELECT decision_id, selector, run_id, action, state, attempts, claimed_until, status, error FROM containment_steps WHERE decision_id = $1',
        [id],
      );
      if (row === undefined) continue;
      out.set(id, {
        decisionId: String(row['decision_id']),
        selector: String(row['selector']),
        runId: String(row['run_id']),
        action: String(row['action']),
        state: String(row['state']) as StepState,
        attempts: Number(row['attempts']),
        claimedUntil: Number(row['claimed_until']),
        status: row['status'] === null ? null : Number(row['status']),
        error: row['error'] === null ? null : String(row['error']),
      });
    }
    return out;
  }

  /**
   * Claims the step for `runId` until `nowMs + leaseMs`: resolves `true` when this run may send the
   * compensation — the step was pending, failed before, listed for a person by an earlier plan (the catalog
   * since registered a compensation), or left running by a run whose claim expired.
   */
  async claim(decisionId: string, runId: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const changed = await this.#sql.run(
      `UPDATE containment_steps SET state = 'running', run_id = $2, attempts = attempts + 1, claimed_until = $3, updated = $4
       WHERE decision_id = $1 AND (state IN ('pending', 'failed', 'manual') OR (state = 'running' AND claimed_until < $4))`,
      [decisionId, runId, nowMs + leaseMs, nowMs],
    );
    return changed === 1;
  }

  /** Ends the step this run claimed: `done` or `failed`, with the upstream's status or the failure's class. */
  async finish(
    decisionId: string,
    runId: string,
    state: 'done' | 'failed',
    outcome: { status?: number; error?: string },
    nowMs: number,
    tx: GuardSql = this.#sql,
  ): Promise<boolean> {
    const changed = await tx.run(
      `UPDATE containment_steps SET state = $3, status = $4, error = $5, claimed_until = 0, updated = $6
       WHERE decision_id = $1 AND run_id = $2 AND state = 'running'`,
      [decisionId, runId, state, outcome.status ?? null, outcome.error ?? null, nowMs],
    );
    return changed === 1;
  }
}
