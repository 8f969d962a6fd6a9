/**
 * What a pin is (table `tool_pins`, migration 003): per route and tool, the approved definition and its
 * digest, the definition the server showed last, and the status that decides whether the tool is listed
 * and callable.
 */
import type { Row } from '../../sql/row.ts';
import type { ToolDefinition } from './digest.ts';

/**
 * `approved`: listed and callable while the server shows the approved digest; `quarantined`: the server
 * showed another definition after approval (hidden, calls refused, drift recorded) until re-approved;
 * `pending`: never approved (first seen under `approve`, or revoked) — hidden and refused.
 */
export type PinStatus = 'approved' | 'quarantined' | 'pending';

export interface ToolPin {
  /** The route's key ({@link routeKey}). */
  readonly route: string;
  readonly tool: string;
  readonly status: PinStatus;
  /** The approved digest; absent while never approved (or revoked). */
  readonly digest?: string;
  readonly definition?: ToolDefinition;
  /** What the server showed last. */
  readonly seenDigest: string;
  readonly seenDefinition: ToolDefinition;
  /** Epoch seconds. */
  readonly firstSeen: number;
  readonly updated: number;
  /** The server announced a change of its tools (`notifications/tools/list_changed`) not yet compared. */
  readonly recheck: boolean;
}

/** One drift: the server showed `newDigest` where `oldDigest` was approved; `changed` names the fields. */
export interface ToolDrift {
  readonly route: string;
  readonly tool: string;
  readonly oldDigest: string;
  readonly newDigest: string;
  readonly changed: readonly string[];
  /** Epoch seconds. */
  readonly firstSeen: number;
  readonly lastSeen: number;
}

export const PIN_COLUMNS =
  'route, tool, status, digest, definition, seen_digest, seen_definition, first_seen, updated, recheck';

export function pinOf(row: Row): ToolPin {
  const digest = row['digest'];
  const definition = row['definition'];
  return {
    route: String(row['route']),
    tool: String(row['tool']),
    status: String(row['status']) as PinStatus,
    ...(typeof digest === 'string' ? { digest } : {}),
    ...(typeof definition === 'string' ? { definition: JSON.parse(definition) as ToolDefinition } : {}),
    seenDigest: String(row['seen_digest']),
    seenDefinition: JSON.parse(String(row['seen_definition'])) as ToolDefinition,
    firstSeen: Number(row['first_seen']),
    updated: Number(row['updated']),
    recheck: Number(row['recheck']) !== 0,
  };
}

export function driftOf(row: Row): ToolDrift {
  return {
    route: String(row['route']),
    tool: String(row['tool']),
    oldDigest: String(row['old_digest']),
    newDigest: String(row['new_digest']),
    changed: JSON.parse(String(row['changed'])) as string[],
    firstSeen: Number(row['first_seen']),
    lastSeen: Number(row['last_seen']),
  };
}

/** The subject of a pin's entries in the guard's change history: `<route> <tool>`. */
export const pinSubject = (route: string, tool: string) => `${route} ${tool}`;
