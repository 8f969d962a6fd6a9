/**
 * An operator approves a tool's definition on a route: the digest they reviewed must be the one the
 * server shows now (the pin's last seen definition) — approving by a digest nobody saw, or one the server
 * has since replaced, is refused, so what is approved is exactly what the operator looked at.
 */
import { WarrantError } from '../../core/errors.ts';
import type { GuardStore } from '../store/open-guard-store.ts';
import { PIN_COLUMNS, pinOf, pinSubject, type ToolPin } from './pin.ts';

export interface PinOperation {
  readonly route: string;
  readonly tool: string;
  /** Who (`admin`), and why (recorded in the change history). */
  readonly actor: string;
  readonly reason: string;
  /** Epoch seconds. */
  readonly now: number;
}

export async function approveTool(
  store: GuardStore,
  op: PinOperation & { readonly digest: string },
): Promise<ToolPin> {
  return store.sql.transaction(async (tx) => {
    const row = await tx.one(`SELECT ${PIN_COLUMNS} FROM tool_pins WHERE route = $1 AND tool = $2`, [
      op.route,
      op.tool,
    ]);
    if (row === undefined)
      throw new WarrantError('WARRANT_TOOL_UNKNOWN', 'no definition of this tool was seen on this route');
    const pin = pinOf(row);
    if (pin.seenDigest !== op.digest)
      throw new WarrantError(
        'WARRANT_TOOL_DIGEST_MISMATCH',
        'the digest is not the definition the server shows now (list the tools again)',
      );
    if (pin.status === 'approved' && pin.digest === op.digest) return pin;
    await tx.run(
      `UPDATE tool_pins SET status = 'approved', digest = seen_digest, definition = seen_definition, updated = $3
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
          status: 'approved',
          from: pin.status,
          digest: op.digest,
          ...(pin.digest === undefined ? {} : { previousDigest: pin.digest }),
        },
      },
      tx,
    );
    return {
      ...pin,
      status: 'approved',
      digest: pin.seenDigest,
      definition: pin.seenDefinition,
      updated: op.now,
    };
  });
}
