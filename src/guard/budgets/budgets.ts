/**
 * The budgets part of the guard (DESIGN §6): the configured budgets and their spent amounts in the guard
 * store. The gateway reserves a call's charges before forwarding (`reserve`), gives them back when the call
 * was not carried out (`release`), and adds LLM tokens once the upstream reported them (`add`); operators
 * read and override limits through the admin API (`list`, `setLimit`).
 */
import type { WarrantConfig } from '../../config/types.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { type Budget, budgetsOf } from './budget.ts';
import {
  BudgetStore,
  type Charge,
  type ChargeState,
  type LimitOverride,
  type ReserveResult,
  type SpentRow,
} from './budget-store.ts';

/** A budget as operators see it: its configuration, the limit in force, and what each key has spent. */
export interface BudgetReport {
  readonly budget: Budget;
  /** The limit in force: the operator's override, else the configured one. */
  readonly limit: number;
  readonly override?: LimitOverride;
  readonly spent: readonly SpentRow[];
}

export class Budgets {
  readonly definitions: readonly Budget[];
  readonly store: BudgetStore;
  readonly #byName: ReadonlyMap<string, Budget>;

  constructor(definitions: readonly Budget[], store: BudgetStore) {
    this.definitions = definitions;
    this.store = store;
    this.#byName = new Map(definitions.map((b) => [b.name, b]));
  }

  /** Whether any budget is configured (no budget: the gateway's budget step does nothing). */
  get configured(): boolean {
    return this.definitions.length > 0;
  }

  /** The budgets a catalog action counts against. */
  of(action: string): Budget[] {
    return budgetsOf(this.definitions, action);
  }

  get(name: string): Budget | undefined {
    return this.#byName.get(name);
  }

  reserve(charges: readonly Charge[], now: number): Promise<ReserveResult> {
    return this.store.reserve(charges, now);
  }

  release(charges: readonly Charge[], now: number): Promise<void> {
    return this.store.release(charges, now);
  }

  add(budget: string, key: string, quantity: number, now: number): Promise<number> {
    return this.store.add(budget, key, quantity, now);
  }

  /** Every configured budget (or the one named) with its limit in force and its spent amounts. */
  async list(name?: string): Promise<BudgetReport[]> {
    const overrides = await this.store.overrides();
    const chosen = name === undefined ? this.definitions : this.definitions.filter((b) => b.name === name);
    const reports: BudgetReport[] = [];
    for (const budget of chosen) {
      const override = overrides.get(budget.name);
      reports.push({
        budget,
        limit: override?.limit ?? budget.limit,
        ...(override ? { override } : {}),
        spent: await this.store.spent(budget.name),
      });
    }
    return reports;
  }

  /** Overrides a configured budget's limit (recorded in the change history with who and why). */
  async setLimit(name: string, limit: number, actor: string, reason: string, now: number): Promise<number> {
    const budget = this.#byName.get(name);
    if (budget === undefined) throw new RangeError(`no budget is named ${name}`);
    const previous = (await this.store.overrides()).get(name)?.limit ?? budget.limit;
    return this.store.setLimit({ budget: name, limit, previous, actor, reason }, now);
  }
}

/** The budgets of a configuration over a guard store (none when the configuration has none). */
export function openBudgets(config: Pick<WarrantConfig, 'guard'>, store: GuardStore): Budgets {
  return new Budgets(config.guard?.budgets ?? [], new BudgetStore(store.sql, store.changes));
}

export type { Charge, ChargeState };
