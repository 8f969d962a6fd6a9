/** Reading pins and drift (no change): one route's, one tool's. */
import type { GuardSql } from '../store/guard-sql.ts';
import { driftOf, PIN_COLUMNS, pinOf, type ToolDrift, type ToolPin } from './pin.ts';

/** Every pin of `route`, by tool name. */
export async function readPins(sql: GuardSql, route: string): Promise<Map<string, ToolPin>> {
  const rows = await sql.all(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE route = $1 ORDER BY tool`, [route]);
  return new Map(rows.map((row) => [String(row['tool']), pinOf(row)]));
}

/** The pin of one tool, if it was ever seen on `route`. */
export async function readPin(sql: GuardSql, route: string, tool: string): Promise<ToolPin | undefined> {
  const row = await sql.one(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE route = $1 AND tool = $2`, [
    route,
    tool,
  ]);
  return row === undefined ? undefined : pinOf(row);
}

/** The drift recorded on `route` (of one tool when given), newest first, at most `limit`. */
export async function readDrift(
  sql: GuardSql,
  route: string,
  tool?: string,
  limit = 500,
): Promise<ToolDrift[]> {
  const rows =
    tool === undefined
      ? await sql.all(
          'SELECT route, tool, old_digest, new_digest, changed, first_seen, last_seen FROM tool_drift WHERE route = $1 ORDER BY id DESC LIMIT $2',
          [route, limit],
        )
      : await sql.all(
          'SELECT route, tool, old_digest, new_digest, changed, first_seen, last_seen FROM tool_drift WHERE route = $1 AND tool = $2 ORDER BY id DESC LIMIT $3',
          [route, tool, limit],
        );
  return rows.map(driftOf);
}

/** Whether anything is pinned on `route`. */
export async function hasPins(sql: GuardSql, route: string): Promise<boolean> {
  return (await sql.one('SELECT 1 AS one FROM tool_pins WHERE route = $1 LIMIT 1', [route])) !== undefined;
}
