/**
 * An operator withdraws a tool's approval on a route: it becomes `pending` (hidden, calls refused) until
 * approved again — also under `tofu`, where only a tool never seen is trusted on first sight.
 */
import { WarrantError } from '../../core/errors.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import type { PinOperation } from './approve-tool.ts';
import { PIN_COLUMNS, pinOf, pinSubject, type ToolPin } from './pin.ts';

export async function revokeTool(store: GuardStore, op: PinOperation): Promise<ToolPin> {
  return store.sql.transaction(async (tx) => {
    const row = await tx.one(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE route = $1 AND tool = $2`, [
      op.route,
      op.tool,
    ]);
    if (row === undefined)
      throw new WarrantError('WARRANT_TOOL_UNKNOWN', 'no definition of this tool was seen on this route');
    const pin = pinOf(row);
    if (pin.status === 'pending' && pin.digest === undefined) return pin;
    await tx.run(
      `UPDATE tool_pins SET status = 'pending', digest = NULL, definition = NULL, updated = $3
       WHERE route = $1 AND tool = $2`,
      [op.route, op.tool, op.now],
    );
    await store.changes.record(
      {
        time: op.now,
        kind: 'tool',
        subject: pinSubject(op.route, op.tool),
        actor: op.actor,
        reason: op.reason,
        detail: {
          route: op.route,
          tool: op.tool,
          status: 'pending',
          from: pin.status,
          ...(pin.digest === undefined ? {} : { revokedDigest: pin.digest }),
        },
      },
      tx,
    );
    const { digest: _d, definition: _def, ...rest } = pin;
    return { ...rest, status: 'pending', updated: op.now };
  });
}
