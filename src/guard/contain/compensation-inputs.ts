/**
 * The values a compensation needs, kept per allowed call (table `compensation_inputs`): written by the gateway
 * once the upstream answered 2xx, read by `warrant contain`. Only the values the catalog's compensation
 * names are kept — never a whole request, response or token.
 */
import type { GuardSql } from '../store/guard-sql.ts';

export interface CompensationInputs {
  /** The decision record's id: the call these values belong to. */
  readonly decisionId: string;
  /** Epoch seconds. */
  readonly time: number;
  readonly txn: string | null;
  readonly person: string | null;
  readonly caller: string;
  /** The audience of the route the call went through (its upstream receives the compensation). */
  readonly route: string;
  readonly action: string;
  /** The upstream's status. */
  readonly status: number;
  /** The values found, by name (a value the call or answer did not hold is absent). */
  readonly values: Readonly<Record<string, unknown>>;
}

/** Stores the inputs of one call (a second write for the same decision changes nothing). */
export async function saveCompensationInputs(sql: GuardSql, inputs: CompensationInputs): Promise<void> {
  await sql.run(
    `INSERT INTO compensation_inputs (decision_id, time, txn, person, caller, route, action, status, vals)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (decision_id) DO NOTHING`,
    [
      inputs.decisionId,
      inputs.time,
      inputs.txn,
      inputs.person,
      inputs.caller,
      inputs.route,
      inputs.action,
      inputs.status,
      JSON.stringify(inputs.values),
    ],
  );
}

/** The stored inputs of the given decisions, by decision id. */
export async function compensationInputsOf(
  sql: GuardSql,
  decisionIds: readonly string[],
): Promise<Map<string, CompensationInputs>> {
  const found = new Map<string, CompensationInputs>();
  // One lookup per id keeps the SQL identical on both databases (no array parameters); plans are small.
  for (const id of decisionIds) {
    const row = await sql.one(
      'SELECT decision_id, time, txn, person, caller, route, action, status, vals FROM compensation_inputs WHERE decision_id = $1',
      [id],
    );
    if (row === undefined) continue;
    found.set(id, {
      decisionId: String(row['decision_id']),
      time: Number(row['time']),
      txn: row['txn'] === null ? null : String(row['txn']),
      person: row['person'] === null ? null : String(row['person']),
      caller: String(row['caller']),
      route: String(row['route']),
      action: String(row['action']),
      status: Number(row['status']),
      values: JSON.parse(String(row['vals'])) as Record<string, unknown>,
    });
  }
  return found;
}
