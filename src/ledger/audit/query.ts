/**
 * `query`: the ledger's records by person, agent, action, decision, transaction and time (DESIGN §8).
 *
 * Input fields are checked here, once, and a malformed one is an `AuditQueryError` naming the field, so an
 * API and a command line report the same mistakes the same way.
 */
import { WarrantError } from '../../core/errors.ts';
import type { LedgerQuery } from '../store/ports.ts';
import { type AuditRecord, type AuditSource, PAGE, toAuditRecord } from './source.ts';

/** A query as a person writes it: times in ISO 8601, `agent` is the calling agent (`caller`). */
export interface AuditQuery {
  /** The person's `sub` (the root of the chain). */
  readonly person?: string;
  /** The calling agent (its SPIFFE ID), as recorded in `caller`. */
  readonly agent?: string;
  readonly action?: string;
  readonly decision?: string;
  readonly txn?: string;
  /** Inclusive: records at or after this time (ISO 8601, or epoch ms). */
  readonly since?: string | number;
  /** Exclusive: records before this time (ISO 8601, or epoch ms). */
  readonly until?: string | number;
  /** At most this many records (1..100000, default 100). */
  readonly limit?: number;
  /** Only records with an index greater than this (the `next` of the previous answer). */
  readonly after?: number;
}

export interface AuditQueryResult {
  readonly items: AuditRecord[];
  /** Pass as `after` to get the next records; `null` when there are none. */
  readonly next: number | null;
}

/** The decisions the gateway records. */
export const DECISIONS = ['allow', 'deny', 'approval_required', 'contained'] as const;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 100_000;

/** A malformed query field; `field` names it (`since`, `limit`, …). */
export class AuditQueryError extends WarrantError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('WARRANT_AUDIT_QUERY_INVALID', `${field}: ${message}`);
    this.field = field;
  }
}

/** A query checked and in the store's terms (times in epoch ms). */
export interface CheckedQuery {
  readonly filter: Omit<LedgerQuery, 'limit' | 'after'>;
  readonly limit: number;
  readonly after?: number;
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:\d{2})?)?$/;

/**
 * An ISO 8601 date or date-time as epoch ms: `2025-06-15` (midnight UTC), `2025-06-15T10:00Z`,
 * `2025-06-15T10:00:00.123+02:00`; a date-time without an offset is UTC. Calendar-checked (no 30 February).
 */
export function parseIsoTime(value: string, field: string): number {
  const m = ISO_8601.exec(value);
  if (!m) {
    throw new AuditQueryError(
      field,
      `${show(value)} is not an ISO 8601 date or date-time (e.g. 2025-06-15 or 2025-06-15T10:00:00Z)`,
    );
  }
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(base);
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi) ||
    check.getUTCSeconds() !== Number(s)
  ) {
    throw new AuditQueryError(field, `${show(value)} is not a date that exists`);
  }
  let offset = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) throw new AuditQueryError(field, `${show(value)} has an invalid UTC offset`);
    offset = sign * (oh * 60 + om) * 60_000;
  }
  return base - offset;
}

function time(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new AuditQueryError(field, 'must be an integer (epoch ms)');
    return value;
  }
  if (typeof value !== 'string') throw new AuditQueryError(field, 'must be an ISO 8601 date-time');
  return parseIsoTime(value.trim(), field);
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    throw new AuditQueryError(field, 'must be a non-empty string');
  if (value.length > 2048) throw new AuditQueryError(field, 'is longer than 2048 characters');
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (!Number.isSafeInteger(n) || (n as number) < min || (n as number) > max)
    throw new AuditQueryError(field, `must be an integer from ${min} to ${max}`);
  return n as number;
}

/** Checks a query; throws `AuditQueryError` naming the first bad field. */
export function checkAuditQuery(query: AuditQuery): CheckedQuery {
  if (typeof query !== 'object' || query === null) throw new AuditQueryError('query', 'must be an object');
  const known = new Set(['person', 'agent', 'action', 'decision', 'txn', 'since', 'until', 'limit', 'after']);
  for (const key of Object.keys(query))
    if (!known.has(key) && (query as Record<string, unknown>)[key] !== undefined)
      throw new AuditQueryError(key, 'is not a query field');
  const decision = text(query.decision, 'decision');
  if (decision !== undefined && !(DECISIONS as readonly string[]).includes(decision))
    throw new AuditQueryError('decision', `must be one of ${DECISIONS.join(', ')} (got ${show(decision)})`);
  const since = time(query.since, 'since');
  const until = time(query.until, 'until');
  if (since !== undefined && until !== undefined && until <= since)
    throw new AuditQueryError('until', 'must be later than since');
  const filter: Record<string, string | number> = {};
  const put = (k: string, v: string | number | undefined) => {
    if (v !== undefined) filter[k] = v;
  };
  put('person', text(query.person, 'person'));
  put('caller', text(query.agent, 'agent'));
  put('action', text(query.action, 'action'));
  put('decision', decision);
  put('txn', text(query.txn, 'txn'));
  put('since', since);
  put('until', until);
  const limit = integer(query.limit, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const after = integer(query.after, 'after', 0, Number.MAX_SAFE_INTEGER);
  return { filter: filter as CheckedQuery['filter'], limit, ...(after === undefined ? {} : { after }) };
}

/** The records matching every given field, by index ascending, at most `limit` of them. */
export async function queryRecords(source: AuditSource, query: AuditQuery = {}): Promise<AuditQueryResult> {
  const { filter, limit, after: start } = checkAuditQuery(query);
  const items: AuditRecord[] = [];
  let after = start;
  for (;;) {
    const want = Math.min(PAGE, limit - items.length);
    const page = await source.query({ ...filter, limit: want, ...(after === undefined ? {} : { after }) });
    for (const e of page.items) items.push(toAuditRecord(e));
    if (page.next === null || page.items.length === 0) return { items, next: null };
    after = page.next;
    if (items.length >= limit) return { items, next: after };
  }
}

function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}
