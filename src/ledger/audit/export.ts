/**
 * `export`: the ledger as JSON Lines, self-contained for offline verification (`verify-export.ts`), or as
 * OpenTelemetry spans (OTLP/JSON) where each transaction is a trace and each hop of a chain a span.
 *
 * JSON Lines format, version 1 (one JSON value per line, each line ending in `\n`):
 *
 *   {"type":"warrant-ledger-export","version":1,"origin":"<log origin>","verifierKeys":["<note verifier key>",…]}
 *   {"type":"record","index":0,"record":<record 0, exactly its RFC 8785 canonical JSON>}
 *   …                                                      (records 0..n-1, in index order)
 *   {"type":"checkpoint","note":"<C2SP signed note>"}      (every stored checkpoint of size ≤ n, ascending)
 *
 * `n` is the size of the latest checkpoint: records not yet covered by a signed checkpoint are left out,
 * so that everything in an export is signed. The record bytes on each line are the leaf data of the
 * RFC 9162 tree: leaf hash = SHA-256(0x00 || UTF-8 of the record's canonical JSON).
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { WarrantError } from '../../core/errors.ts';
import { parseCheckpoint } from '../checkpoint.ts';
import type { DecisionRecord } from '../decision-log.ts';
import { LedgerCorruptError } from '../errors.ts';
import { checkAuditQuery } from './query.ts';
import {
  type AuditRecord,
  type AuditSource,
  allCheckpoints,
  CHUNK,
  isDecision,
  PAGE,
  scan,
  toAuditRecord,
} from './source.ts';

export const EXPORT_TYPE = 'warrant-ledger-export';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  readonly type: typeof EXPORT_TYPE;
  readonly version: typeof EXPORT_VERSION;
  readonly origin: string;
  readonly verifierKeys: readonly string[];
}

export interface ExportOptions {
  /** The note verifier keys written into the header (the ledger's key; witnesses' keys). */
  readonly verifierKeys: readonly string[];
}

export interface ExportSummary {
  readonly origin: string;
  readonly records: number;
  readonly checkpoints: number;
  /** Records in the store after the latest checkpoint, left out. */
  readonly uncovered: number;
}

/** Where the lines go; a returned promise is awaited (back-pressure). */
export type Write = (text: string) => void | Promise<void>;

/**
 * Writes the JSON Lines export of the whole log up to its latest checkpoint. Throws
 * `WARRANT_AUDIT_NOT_FOUND` when no checkpoint has been signed yet (there is nothing verifiable to export).
 */
export async function exportJsonLines(
  source: AuditSource,
  write: Write,
  options: ExportOptions,
): Promise<ExportSummary> {
  if (!Array.isArray(options?.verifierKeys) || options.verifierKeys.some((k) => typeof k !== 'string'))
    throw new TypeError('verifierKeys must be an array of note verifier key strings');
  const latest = await source.latestCheckpoint();
  if (!latest)
    throw new WarrantError(
      'WARRANT_AUDIT_NOT_FOUND',
      'the ledger has no signed checkpoint yet: nothing verifiable to export',
    );
  const { origin } = parseCheckpoint(latest.note);
  const size = latest.size;
  const count = await source.count();
  const header: ExportHeader = {
    type: EXPORT_TYPE,
    version: EXPORT_VERSION,
    origin,
    verifierKeys: [...options.verifierKeys],
  };
  await write(`${JSON.stringify(header)}\n`);
  for (let from = 0; from < size; from += CHUNK) {
    const to = Math.min(size, from + CHUNK);
    const rows = await source.entries(from, to);
    // Never a file with a hole (it would not verify): a record missing from the store stops the export.
    const gap = rows.findIndex((row, i) => row.index !== from + i);
    if (gap >= 0 || rows.length !== to - from)
      throw new LedgerCorruptError(
        from + (gap >= 0 ? gap : rows.length),
        'the record is missing from the store, below the latest checkpoint: the export stopped',
      );
    let text = '';
    for (const row of rows) text += `${recordLine(row.index, row.canonical)}\n`;
    await write(text);
  }
  let checkpoints = 0;
  for (const cp of await allCheckpoints(source)) {
    if (cp.size > size) continue;
    await write(`${JSON.stringify({ type: 'checkpoint', note: cp.note })}\n`);
    checkpoints++;
  }
  return { origin, records: size, checkpoints, uncovered: Math.max(0, count - size) };
}

/** One record line: the record's canonical text embedded as is. */
export function recordLine(index: number, canonical: string): string {
  return `{"type":"record","index":${index},"record":${canonical}}`;
}

// ---------------------------------------------------------------------------------------------------------
// OpenTelemetry (OTLP/JSON, https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding)

export interface OtelOptions {
  readonly txn?: string;
  /** ISO 8601 or epoch ms; inclusive. */
  readonly since?: string | number;
  /** ISO 8601 or epoch ms; exclusive. */
  readonly until?: string | number;
  /** `service.name` of the resource (default `warrant-gateway`). */
  readonly serviceName?: string;
}

type AnyValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | { boolValue: boolean };
export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** 1 internal (a hop), 3 client (a call through the gateway). */
  readonly kind: 1 | 3;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: KeyValue[];
  readonly status: { readonly code: 0 | 1 | 2; readonly message?: string };
}

export interface OtlpTraces {
  readonly resourceSpans: {
    readonly resource: { readonly attributes: KeyValue[] };
    readonly scopeSpans: {
      readonly scope: { readonly name: string; readonly version: string };
      readonly spans: OtlpSpan[];
    }[];
  }[];
}

/** The trace id of a transaction: the first 16 bytes of SHA-256(txn), hex. */
export function traceIdOf(txn: string): string {
  return createHash('sha256').update(txn).digest('hex').slice(0, 32);
}

/**
 * The span id of a chain link: the first 8 bytes of its token hash (a base64url SHA-256, as `warrant token
 * inspect` prints it), hex; for a hash of another shape, the first 8 bytes of SHA-256 of its text.
 */
export function spanIdOfLink(hash: string): string {
  if (/^[A-Za-z0-9_-]{43}$/.test(hash)) return Buffer.from(hash, 'base64url').subarray(0, 8).toString('hex');
  return createHash('sha256').update(hash).digest('hex').slice(0, 16);
}

/** The span id of one decision (a call): the first 8 bytes of SHA-256 of its record id. */
export function spanIdOfDecision(id: string): string {
  return createHash('sha256').update(`decision:${id}`).digest('hex').slice(0, 16);
}

const str = (key: string, value: unknown): KeyValue[] =>
  typeof value === 'string' ? [{ key, value: { stringValue: value } }] : [];
const int = (key: string, value: unknown): KeyValue[] =>
  typeof value === 'number' && Number.isFinite(value)
    ? [{ key, value: { intValue: String(Math.round(value)) } }]
    : [];
const num = (key: string, value: unknown): KeyValue[] =>
  typeof value === 'number' && Number.isFinite(value) ? [{ key, value: { doubleValue: value } }] : [];

function nanos(ms: number): string {
  return (BigInt(Math.round(ms)) * 1_000_000n).toString();
}

interface HopSpan {
  span: Omit<OtlpSpan, 'startTimeUnixNano' | 'endTimeUnixNano'>;
  start: number;
  end: number;
}

/**
 * The decisions (optionally of one txn, or in a time window) as OTLP/JSON traces: one trace per txn, a span
 * per hop of the chains (the person's warrant is the root span, each delegation a child), and a client span
 * per decision under the hop that made the call. A hop spans from its first call to its last call's end.
 */
export async function exportOtel(source: AuditSource, options: OtelOptions = {}): Promise<OtlpTraces> {
  const { filter } = checkAuditQuery({
    ...(options.txn === undefined ? {} : { txn: options.txn }),
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
  });
  const decisions: AuditRecord[] = [];
  const outcomes = new Map<string, DecisionRecord>();
  if (Object.keys(filter).length === 0) {
    for await (const r of scan(source)) {
      if (isDecision(r.record)) decisions.push(r);
      else if (typeof r.record.decisionId === 'string') outcomes.set(r.record.decisionId, r.record);
    }
  } else {
    for (let after: number | undefined; ; ) {
      const page = await source.query({ ...filter, limit: PAGE, ...(after === undefined ? {} : { after }) });
      for (const e of page.items) {
        const r = toAuditRecord(e);
        if (isDecision(r.record)) decisions.push(r);
      }
      if (page.next === null || page.items.length === 0) break;
      after = page.next;
    }
    if (decisions.length > 0) {
      const first = decisions[0]!.index;
      const end = Math.min(await source.count(), decisions.at(-1)!.index + 1 + CHUNK);
      for await (const r of scan(source, first, end))
        if (r.record.kind === 'outcome' && typeof r.record.decisionId === 'string')
          outcomes.set(r.record.decisionId, r.record);
    }
  }

  const spans: OtlpSpan[] = [];
  const hops = new Map<string, HopSpan>();
  for (const { index, record: r } of decisions) {
    const txn = typeof r.txn === 'string' ? r.txn : `record-${index}`;
    const traceId = traceIdOf(txn);
    const start = Date.parse(String(r.time));
    if (!Number.isFinite(start)) continue;
    const outcome = outcomes.get(String(r.id));
    const latency = typeof outcome?.latencyMs === 'number' && outcome.latencyMs >= 0 ? outcome.latencyMs : 0;
    const end = start + latency;
    const person = r.person && typeof r.person.sub === 'string' ? r.person : undefined;
    const chain = Array.isArray(r.chain) ? r.chain : [];
    let parent: string | undefined;
    chain.forEach((link, depth) => {
      const spanId = spanIdOfLink(String(link.hash));
      const key = `${traceId}/${spanId}`;
      const hop = hops.get(key);
      if (hop) {
        hop.start = Math.min(hop.start, start);
        hop.end = Math.max(hop.end, end);
      } else {
        hops.set(key, {
          start,
          end,
          span: {
            traceId,
            spanId,
            ...(parent === undefined ? {} : { parentSpanId: parent }),
            name: depth === 0 ? `warrant ${String(link.actor)}` : `delegation to ${String(link.actor)}`,
            kind: 1,
            attributes: [
              ...str('warrant.txn', r.txn),
              ...str('warrant.person', person?.sub),
              ...str('warrant.person.issuer', person?.iss),
              ...str('warrant.actor', link.actor),
              ...str('warrant.link.hash', link.hash),
              ...int('warrant.link.depth', depth),
              ...str('warrant.task', r.task),
            ],
            status: { code: 0 },
          },
        });
      }
      parent = spanId;
    });
    const ok = r.decision === 'allow';
    spans.push({
      traceId,
      spanId: spanIdOfDecision(String(r.id)),
      ...(parent === undefined ? {} : { parentSpanId: parent }),
      name: `${String(r.action ?? 'call')} → ${String(r.recipient ?? 'unknown')}`,
      kind: 3,
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(end),
      attributes: [
        ...str('warrant.txn', r.txn),
        ...str('warrant.person', person?.sub),
        ...str('warrant.person.issuer', person?.iss),
        ...str('warrant.actor', r.caller),
        ...str('warrant.recipient', r.recipient),
        ...str('warrant.action', r.action),
        ...str('warrant.resource', r.resource),
        ...str('warrant.decision', r.decision),
        ...(Array.isArray(r.reasons) ? str('warrant.reasons', r.reasons.join('; ')) : []),
        ...str('warrant.policy_version', r.policyVersion),
        ...num('warrant.risk.score', r.risk?.score),
        ...int('warrant.trust_level', r.trustLevel),
        ...str('warrant.decision.id', r.id),
        ...int('warrant.ledger.index', index),
        ...str('warrant.gateway', r.gateway),
        ...int('http.response.status_code', outcome?.status),
      ],
      status: ok
        ? { code: typeof outcome?.status === 'number' && outcome.status >= 500 ? 2 : 1 }
        : {
            code: 2,
            message: `${String(r.decision)}: ${Array.isArray(r.reasons) ? r.reasons.join('; ') : ''}`,
          },
    });
  }
  const hopSpans: OtlpSpan[] = [...hops.values()].map((h) => ({
    ...h.span,
    startTimeUnixNano: nanos(h.start),
    endTimeUnixNano: nanos(h.end),
  }));
  return {
    resourceSpans: [
      {
        resource: { attributes: str('service.name', options.serviceName ?? 'warrant-gateway') },
        scopeSpans: [
          {
            scope: { name: 'warrant.ledger', version: String(EXPORT_VERSION) },
            spans: [...hopSpans, ...spans],
          },
        ],
      },
    ],
  };
}
