/**
 * The spent amounts of the budgets and the limits operators set, in the guard store (tables
 * `guard_budget_spent`, `guard_budget_limits`, migration 004). The store is the one shared truth: every
 * gateway replica reserves against the same rows, and a reservation is a conditional UPDATE
 * (`spent + q <= limit`), so two gateways on one PostgreSQL (or one SQLite file) can never both take the
 * last of a budget — the second's UPDATE waits for the first's row lock, then sees the new amount.
 *
 * Amounts are kept as integers in millionths of the counted unit (cents stay exact; sums never drift).
 */
import type { GuardChanges } from '../store/changes.ts';
import type { GuardSql } from '../store/guard-sql.ts';

/** Millionths: the stored unit. */
const SCALE = 1_000_000;
const toUnits = (x: number): number => Math.round(x * SCALE);
const fromUnits = (u: unknown): number => Number(u) / SCALE;

/** One budget's charge for a request: `quantity` more under `key`, within `limit` (the configured one). */
export interface Charge {
  readonly budget: string;
  readonly key: string;
  readonly quantity: number;
  /** The configured limit; an operator's override in the store wins over it. */
  readonly limit: number;
  /**
   * `reserve`: the quantity is reserved when it fits. `check`: nothing is reserved — the charge passes
   * while the spent amount is below the limit (LLM tokens, counted after the answer).
   */
  readonly mode: 'reserve' | 'check';
}

/** A budget's state for a request: its limit in force, the spent amount (after the charge when it passed). */
export interface ChargeState {
  readonly name: string;
  readonly key: string;
  readonly limit: number;
  readonly spent: number;
  readonly quantity: number;
}

export type ReserveResult =
  | { readonly ok: true; readonly states: readonly ChargeState[] }
  /** `exceeded` would have crossed its limit (nothing was reserved, for any budget). */
  | { readonly ok: false; readonly exceeded: ChargeState };

export interface SpentRow {
  readonly budget: string;
  readonly key: string;
  readonly spent: number;
  /** Epoch seconds of the last change. */
  readonly updated: number;
}

export interface LimitOverride {
  readonly budget: string;
  readonly limit: number;
  readonly time: number;
  readonly actor: string;
  readonly reason: string;
}

/** Thrown inside a reservation's transaction to roll it back. */
class Exceeded extends Error {
  readonly state: ChargeState;
  constructor(state: ChargeState) {
    super('budget exceeded');
    this.state = state;
  }
}

const UPSERT_ZERO =
  'INSERT INTO guard_budget_spent (budget, scope_key, spent, updated) VALUES ($1, $2, 0, $3) ON CONFLICT (budget, scope_key) DO NOTHING';
const RESERVE =
  'UPDATE guard_budget_spent SET spent = spent + $3, updated = $4 WHERE budget = $1 AND scope_key = $2 AND spent + $3 <= $5 RETURNING spent';
const SPENT = 'SELECT spent FROM guard_budget_spent WHERE budget = $1 AND scope_key = $2';
const CAP = 'SELECT cap FROM guard_budget_limits WHERE budget = $1';

export class BudgetStore {
  readonly #sql: GuardSql;
  readonly #changes: GuardChanges;

  constructor(sql: GuardSql, changes: GuardChanges) {
    this.#sql = sql;
    this.#changes = changes;
  }

  /**
   * Reserves every charge, or none: in one transaction, rows in a fixed order (two reservations of the same
   * rows queue, never deadlock), each row created at 0 first, then raised only if it stays within its limit.
   */
  async reserve(charges: readonly Charge[], now: number): Promise<ReserveResult> {
    const ordered = [...charges].sort((a, b) =>
      a.budget === b.budget ? compare(a.key, b.key) : compare(a.budget, b.budget),
    );
    try {
      const states = await this.#sql.transaction(async (tx) => {
        const out: ChargeState[] = [];
        for (const charge of ordered) out.push(await reserveOne(tx, charge, now));
        return out;
      });
      return { ok: true, states };
    } catch (error) {
      if (error instanceof Exceeded) return { ok: false, exceeded: error.state };
      throw error;
    }
  }

  /** Gives reserved quantities back (a call that was not carried out); never below 0. */
  async release(charges: readonly Charge[], now: number): Promise<void> {
    const ordered = [...charges].sort((a, b) =>
      a.budget === b.budget ? compare(a.key, b.key) : compare(a.budget, b.budget),
    );
    await this.#sql.transaction(async (tx) => {
      for (const c of ordered) {
        await tx.run(
          'UPDATE guard_budget_spent SET spent = CASE WHEN spent > $3 THEN spent - $3 ELSE 0 END, updated = $4 WHERE budget = $1 AND scope_key = $2',
          [c.budget, c.key, toUnits(c.quantity), now],
        );
      }
    });
  }

  /** Adds what was used after the fact (LLM tokens an upstream reported), past the limit if need be. */
  async add(budget: string, key: string, quantity: number, now: number): Promise<number> {
    const row = await this.#sql.one(
      'INSERT INTO guard_budget_spent (budget, scope_key, spent, updated) VALUES ($1, $2, $3, $4) ON CONFLICT (budget, scope_key) DO UPDATE SET spent = guard_budget_spent.spent + excluded.spent, updated = excluded.updated RETURNING spent',
      [budget, key, toUnits(quantity), now],
    );
    return fromUnits(row?.['spent']);
  }

  /** The spent amounts of `budget` (or of every budget), largest first (at most `limit` rows). */
  async spent(budget?: string, limit = 1000): Promise<SpentRow[]> {
    const rows =
      budget === undefined
        ? await this.#sql.all(
            'SELECT budget, scope_key, spent, updated FROM guard_budget_spent ORDER BY budget, spent DESC, scope_key LIMIT $1',
            [limit],
          )
        : await this.#sql.all(
            'SELECT budget, scope_key, spent, updated FROM guard_budget_spent WHERE budget = $1 ORDER BY spent DESC, scope_key LIMIT $2',
            [budget, limit],
          );
    return rows.map((r) => ({
      budget: String(r['budget']),
      key: String(r['scope_key']),
      spent: fromUnits(r['spent']),
      updated: Number(r['updated']),
    }));
  }

  /** The limits operators set, by budget name. */
  async overrides(): Promise<Map<string, LimitOverride>> {
    const rows = await this.#sql.all('SELECT budget, cap, time, actor, reason FROM guard_budget_limits');
    return new Map(
      rows.map((r) => [
        String(r['budget']),
        {
          budget: String(r['budget']),
          limit: fromUnits(r['cap']),
          time: Number(r['time']),
          actor: String(r['actor']),
          reason: String(r['reason']),
        },
      ]),
    );
  }

  /**
   * Sets `budget`'s limit over the configured one, and records the change (kind `budget`, with the limit
   * before and after) in the same transaction. Resolves the change id.
   */
  async setLimit(
    change: { budget: string; limit: number; previous: number; actor: string; reason: string },
    now: number,
  ): Promise<number> {
    return this.#sql.transaction(async (tx) => {
      await tx.run(
        'INSERT INTO guard_budget_limits (budget, cap, time, actor, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (budget) DO UPDATE SET cap = excluded.cap, time = excluded.time, actor = excluded.actor, reason = excluded.reason',
        [change.budget, toUnits(change.limit), now, change.actor, change.reason.slice(0, 500)],
      );
      return this.#changes.record(
        {
          time: now,
          kind: 'budget',
          subject: change.budget,
          actor: change.actor,
          reason: change.reason,
          detail: { limit: { from: change.previous, to: change.limit } },
        },
        tx,
      );
    });
  }
}

async function reserveOne(tx: GuardSql, charge: Charge, now: number): Promise<ChargeState> {
  const cap = await tx.one(CAP, [charge.budget]);
  const limit = cap === undefined ? charge.limit : fromUnits(cap['cap']);
  const state = (spent: number): ChargeState => ({
    name: charge.budget,
    key: charge.key,
    limit,
    spent,
    quantity: charge.quantity,
  });
  if (charge.mode === 'check') {
    const row = await tx.one(SPENT, [charge.budget, charge.key]);
    const spent = row === undefined ? 0 : fromUnits(row['spent']);
    if (spent >= limit) throw new Exceeded(state(spent));
    return state(spent);
  }
  await tx.run(UPSERT_ZERO, [charge.budget, charge.key, now]);
  const row = await tx.one(RESERVE, [
    charge.budget,
    charge.key,
    toUnits(charge.quantity),
    now,
    toUnits(limit),
  ]);
  if (row !== undefined) return state(fromUnits(row['spent']));
  const current = await tx.one(SPENT, [charge.budget, charge.key]);
  throw new Exceeded(state(fromUnits(current?.['spent'])));
}

/** Code-unit order (the same on every process; locale-independent). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
