/** Each `warrant contain` run (table `containment_runs`): what it contained, who ran it, when, and its summary. */
import type { GuardSql } from '../store/guard-sql.ts';

export async function startRun(
  tx: GuardSql,
  run: { id: string; selector: string; actor: string; started: number },
): Promise<void> {
  await tx.run('INSERT INTO containment_runs (id, selector, actor, started) VALUES ($1, $2, $3, $4)', [
    run.id,
    run.selector,
    run.actor,
    run.started,
  ]);
}

export async function finishRun(
  tx: GuardSql,
  id: string,
  finished: number,
  summary: Readonly<Record<string, unknown>>,
): Promise<void> {
  await tx.run('UPDATE containment_runs SET finished = $2, summary = $3 WHERE id = $1', [
    id,
    finished,
    JSON.stringify(summary),
  ]);
}
