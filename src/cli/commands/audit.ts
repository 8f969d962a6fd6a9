import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../config/types.ts';
import { isWarrantError } from '../../core/errors.ts';
import { importPrivateJwk } from '../../core/jose/jwk.ts';
import { type AuditSource, signerNames } from '../../ledger/audit/source.ts';
import type { TraceCall, TraceNode } from '../../ledger/audit/trace.ts';
import { noteVerifierKey, parseNoteVerifierKey } from '../../ledger/checkpoint.ts';
import type { LedgerStore } from '../../ledger/store/ports.ts';
import { printJson } from '../admin-client.ts';
import {
  CliError,
  type Command,
  EXIT,
  type Io,
  type OptionSpec,
  type ParsedArgs,
  UsageError,
} from '../command.ts';
import { loadCliConfig } from '../config-file.ts';

/** Where the ledger is: `--data` (its `ledger.db`) or the store of `--config`. */
const LEDGER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  data: {
    type: 'string',
    value: 'dir',
    description: 'data directory holding ledger.db (default ./.warrant)',
  },
  config: {
    type: 'string',
    short: 'c',
    value: 'file',
    description: 'configuration file (its dataDir, or its PostgreSQL store)',
  },
};

const KEY_OPTION: OptionSpec = {
  type: 'string',
  value: 'verifier key',
  multiple: true,
  description: 'trusted note verifier key of the ledger (name+hash+key)',
};

const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print the result as JSON' };

interface Opened {
  readonly source: AuditSource;
  readonly dataDir: string;
  readonly describe: string;
}

/** Opens the configured ledger store for reading; never creates a ledger that is not there. */
async function withLedger<T>(args: ParsedArgs, fn: (opened: Opened) => Promise<T>): Promise<T> {
  const data = args.values['data'];
  if (data === '') throw new UsageError('--data expects a directory');
  const overrides: ConfigOverrides = { dataDir: data as string | undefined };
  const config = await loadCliConfig(args.values['config'] as string | undefined, overrides);
  let store: LedgerStore;
  let describe: string;
  try {
    if (config.store.kind === 'postgres') {
      if (!config.store.url)
        throw new CliError('store.url is not set', 'Set store.url (postgres://…) in the configuration file.');
      const { openPostgresLedgerStore } = await import(
        '../../ledger/store/postgres/postgres-ledger-store.ts'
      );
      store = await openPostgresLedgerStore({ url: config.store.url });
      describe = 'the PostgreSQL ledger';
    } else {
      const path = join(config.dataDir, 'ledger.db');
      if (!existsSync(path))
        throw new CliError(
          `no ledger at ${path}`,
          'Pass --data <dir> (the data directory of `warrant dev` or the gateway) or --config <file>.',
        );
      const { openSqliteLedgerStore } = await import('../../ledger/store/sqlite/sqlite-ledger-store.ts');
      store = await openSqliteLedgerStore({ path });
      describe = path;
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot open the ledger: ${error instanceof Error ? error.message : String(error)}`,
      'Check --data / --config, and that the store is reachable.',
      { cause: error },
    );
  }
  try {
    return await fn({ source: store, dataDir: config.dataDir, describe });
  } finally {
    await store.close().catch(() => {});
  }
}

/** The `--key` flags, checked (a malformed key is a usage error). */
function givenKeys(args: ParsedArgs): string[] {
  const keys = (args.values['key'] as readonly string[] | undefined) ?? [];
  for (const k of keys) {
    try {
      parseNoteVerifierKey(k);
    } catch (error) {
      throw new UsageError(`--key: ${(error as Error).message}`);
    }
  }
  return [...keys];
}

/**
 * The verifier keys to trust: `--key`, else the public half of the local ledger key
 * (`<data>/ledger-key.jwk`, never created here) under the names that signed the latest checkpoint.
 */
async function trustedKeys(args: ParsedArgs, opened: Opened): Promise<{ keys: string[]; from: string }> {
  const given = givenKeys(args);
  if (given.length > 0) return { keys: given, from: '--key' };
  const path = join(opened.dataDir, 'ledger-key.jwk');
  if (!existsSync(path)) return { keys: [], from: 'none' };
  const latest = await opened.source.latestCheckpoint();
  try {
    const key = importPrivateJwk(JSON.parse(readFileSync(path, 'utf8')), 'EdDSA');
    const names = latest ? signerNames(latest.note) : [];
    const keys: string[] = [];
    for (const name of names) {
      try {
        keys.push(noteVerifierKey(name, key));
      } catch {
        // A name that is not a valid key name cannot be ours.
      }
    }
    return { keys, from: path };
  } catch {
    return { keys: [], from: 'none' };
  }
}

/** Maps an `AuditQueryError` (field named) to a usage error naming the flag. */
function asUsage(error: unknown): never {
  if (isWarrantError(error) && error.code === 'WARRANT_AUDIT_QUERY_INVALID') {
    const field = (error as { field?: string }).field ?? '';
    const flag = field === 'query' ? 'the query' : `--${field}`;
    throw new UsageError(`${flag}${error.message.slice(field.length)}`);
  }
  throw error;
}

function notFound(error: unknown, hint: string): never {
  if (isWarrantError(error) && error.code === 'WARRANT_AUDIT_NOT_FOUND')
    throw new CliError(error.message, hint);
  throw error;
}

// -------------------------------------------------------------------------------------------------------

export const auditTrace: Command = {
  name: 'audit trace',
  summary: 'the call tree of a transaction',
  description:
    'Rebuilds the call tree of one transaction from the chains of its decision records: the person at the\n' +
    'root, each link (hop) with the agent holding it, whom it called or delegated to and the grants it\n' +
    'held, and under each link the decisions made for its calls (allow/deny, action, resource, time,\n' +
    'response status). --json prints the tree.',
  options: {
    txn: { type: 'string', value: 'txn', description: 'the transaction (or give it as the argument)' },
    ...LEDGER_OPTIONS,
    json: JSON_OPTION,
  },
  positional: { name: '<txn>', description: 'the transaction id', required: false },
  examples: [
    'warrant audit trace --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41',
    'warrant audit trace 7f3c9a2e --json',
  ],
  async run(args, io) {
    const flag = args.values['txn'] as string | undefined;
    const positional = args.positionals[0];
    if (flag !== undefined && positional !== undefined && flag !== positional)
      throw new UsageError('give the transaction once: as the argument or with --txn');
    const txn = flag ?? positional;
    if (txn === undefined || txn === '') throw new UsageError('missing the transaction: --txn <txn>');
    const { traceTxn } = await import('../../ledger/audit/trace.ts');
    const trace = await withLedger(args, ({ source }) =>
      traceTxn(source, txn).catch((e) => notFound(e, 'Check the txn (see `warrant audit query --json`).')),
    );
    if (args.values['json'] === true) {
      printJson(io, trace);
      return EXIT.ok;
    }
    const lines: string[] = [];
    lines.push(
      `transaction ${trace.txn}: ${trace.decisions} decision(s), ${trace.denied} not allowed` +
        (trace.first ? `, ${trace.first} .. ${trace.last}` : ''),
    );
    for (const t of trace.tasks) lines.push(`task ${JSON.stringify(t)}`);
    for (const p of trace.persons) lines.push(`person ${p.sub} (${p.iss})`);
    const walk = (n: TraceNode, indent: string, last: boolean) => {
      const branch = `${indent}${last ? '└─ ' : '├─ '}`;
      const cont = `${indent}${last ? '   ' : '│  '}`;
      lines.push(`${branch}hop ${n.depth}: ${n.actor}  [link ${n.hash}]`);
      if (n.persons.length > 0)
        lines.push(`${cont}person:     ${n.persons.map((p) => `${p.sub} (${p.iss})`).join(', ')}`);
      if (n.recipients.length > 0) lines.push(`${cont}recipients: ${n.recipients.join(', ')}`);
      if (n.grants.length > 0) lines.push(`${cont}grants:     ${n.grants.map(grantText).join('; ')}`);
      for (const c of n.calls) lines.push(`${cont}${n.children.length > 0 ? '│ ' : '  '}${callText(c)}`);
      n.children.forEach((child, i) => {
        walk(child, cont, i === n.children.length - 1);
      });
    };
    trace.roots.forEach((r, i) => {
      walk(r, '', i === trace.roots.length - 1);
    });
    if (trace.unattached.length > 0) {
      lines.push('decisions without a verified chain:');
      for (const c of trace.unattached) lines.push(`  ${callText(c)}`);
    }
    for (const a of trace.anomalies) lines.push(`warning: ${a}`);
    io.out(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};

function grantText(grant: unknown): string {
  if (grant !== null && typeof grant === 'object') {
    const g = grant as { action?: unknown; resource?: unknown; constraints?: unknown };
    if (typeof g.action === 'string' && typeof g.resource === 'string')
      return `${g.action} on ${g.resource}${g.constraints === undefined ? '' : ` ${JSON.stringify(g.constraints)}`}`;
  }
  return JSON.stringify(grant) ?? String(grant);
}

function callText(c: TraceCall): string {
  const outcome =
    c.status === undefined
      ? ''
      : ` [${c.status}${c.latencyMs === undefined ? '' : `, ${c.latencyMs.toFixed(1)} ms`}]`;
  const why = c.decision === 'allow' ? '' : ` (${c.reasons.join('; ') || c.code || 'no reason recorded'})`;
  return (
    `#${c.index} ${c.time} ${c.decision.toUpperCase()} ${c.action ?? '(no action)'}` +
    `${c.resource ? ` ${c.resource}` : ''} -> ${c.recipient ?? '?'}${outcome}${why}`
  );
}

// -------------------------------------------------------------------------------------------------------

export const auditWho: Command = {
  name: 'audit who',
  summary: 'who authorised one action, with its inclusion proof',
  description:
    'The answer for one recorded action (by its ledger index): the person who authorised it (sub and\n' +
    'issuer), the chain of agents with each link hash, the grant used, the policy version, the decision\n' +
    'and its reasons, the outcome; and an RFC 9162 inclusion proof of the record against the latest signed\n' +
    'checkpoint, verified here. The checkpoint signature is checked with --key, else with the public half\n' +
    'of <data>/ledger-key.jwk when present. Exits 1 when the proof does not verify.',
  options: { key: KEY_OPTION, ...LEDGER_OPTIONS, json: JSON_OPTION },
  positional: { name: '<record>', description: 'the ledger index of the record', required: true },
  examples: [
    'warrant audit who 1742',
    'warrant audit who 1742 --key "warrant.local/ledger+1a2b3c4d+AaBb…" --json',
  ],
  async run(args, io) {
    const text = args.positionals[0]!;
    if (!/^\d{1,15}$/.test(text))
      throw new UsageError(
        `<record> must be a ledger index (a non-negative integer), not ${JSON.stringify(text)}`,
      );
    const index = Number(text);
    givenKeys(args);
    const { whoAuthorised } = await import('../../ledger/audit/who.ts');
    const { answer, from } = await withLedger(args, async (opened) => {
      const { keys, from } = await trustedKeys(args, opened);
      const answer = await whoAuthorised(opened.source, index, { verifierKeys: keys }).catch((e) => {
        if (isWarrantError(e) && e.code === 'WARRANT_AUDIT_PROOF_INVALID')
          throw new CliError(
            `${e.message} (${e.code})`,
            'The stored ledger is not what was signed: keep it as evidence and verify an export (`warrant audit verify`).',
          );
        return notFound(e, 'Give an index the ledger holds (see `warrant audit query`).');
      });
      return { answer, from };
    });
    if (args.values['json'] === true) {
      printJson(io, answer);
    } else {
      const rows: [string, string][] = [];
      const add = (k: string, v: string | undefined) => {
        if (v !== undefined && v !== '') rows.push([k, v]);
      };
      add('record', `${answer.index} (${answer.kind} ${answer.id})`);
      add('time', answer.time);
      add('person', answer.person ? `${answer.person.sub} (issuer ${answer.person.iss})` : 'not recorded');
      add('decision', answer.decision);
      add('reasons', answer.reasons.join('; '));
      add(
        'action',
        answer.action ? `${answer.action}${answer.resource ? ` on ${answer.resource}` : ''}` : undefined,
      );
      add('caller', answer.caller);
      add('recipient', answer.recipient);
      for (const [i, l] of answer.chain.entries())
        add(i === 0 ? 'chain' : '', `${l.depth}  ${l.actor}  ${l.hash}`);
      add('grant used', answer.used === undefined ? undefined : grantText(answer.used));
      add('policy', answer.policyVersion);
      add(
        'risk',
        answer.risk
          ? `${answer.risk.score} (${answer.risk.factors.map((f) => `${f.name} ${f.points}`).join(', ') || 'no factors'})`
          : undefined,
      );
      add('txn', answer.txn);
      add('task', answer.task);
      add(
        'outcome',
        answer.outcome
          ? `status ${answer.outcome.status ?? '?'}${answer.outcome.latencyMs === undefined ? '' : ` in ${answer.outcome.latencyMs.toFixed(1)} ms`} (record ${answer.outcome.index})`
          : undefined,
      );
      const p = answer.inclusion;
      if (p) {
        add(
          'proof',
          `included in the checkpoint of size ${p.size} of ${p.origin}: ${p.verified ? 'verified' : 'FAILED'}`,
        );
        add('', `root ${p.root}, leaf ${p.leafHash}, ${p.proof.length} sibling hash(es)`);
        add(
          'signature',
          p.signature === 'verified' ? `verified by ${p.verifiedBy.join(', ')} (${from})` : 'not checked',
        );
      } else add('proof', `none: ${answer.unproven}`);
      const width = Math.max(...rows.map(([k]) => k.length)) + 2;
      io.out(`${rows.map(([k, v]) => `${k.padEnd(width)}${v}`).join('\n')}\n`);
    }
    if (answer.inclusion?.signature === 'unchecked')
      io.err(
        'note: the checkpoint signature was not checked (no --key and no ledger-key.jwk in the data directory);\n' +
          'pass --key <the ledger verifier key> to check it.\n',
      );
    return EXIT.ok;
  },
};

// -------------------------------------------------------------------------------------------------------

export const auditQuery: Command = {
  name: 'audit query',
  summary: 'records by person, agent, action, decision, time',
  description:
    'Lists ledger records matching every filter given, by index. Times are ISO 8601 (2025-06-15 or\n' +
    '2025-06-15T10:00:00Z; without an offset, UTC); --since is inclusive, --until exclusive. --agent is the\n' +
    'calling agent (its SPIFFE ID). At most --limit records (default 100); when there are more, the next\n' +
    'page starts with --after <the index printed>.',
  options: {
    person: { type: 'string', value: 'sub', description: "the person's subject (root of the chain)" },
    agent: { type: 'string', value: 'spiffe id', description: 'the calling agent' },
    action: { type: 'string', value: 'action', description: 'the action, e.g. crm:contacts.read' },
    decision: {
      type: 'string',
      value: 'decision',
      description: 'allow, deny, approval_required or contained',
    },
    txn: { type: 'string', value: 'txn', description: 'the transaction' },
    since: { type: 'string', value: 'time', description: 'records at or after this time (ISO 8601)' },
    until: { type: 'string', value: 'time', description: 'records before this time (ISO 8601)' },
    limit: {
      type: 'string',
      value: 'n',
      description: 'at most this many records (default 100, at most 100000)',
    },
    after: { type: 'string', value: 'index', description: 'only records after this index (paging)' },
    ...LEDGER_OPTIONS,
    json: { type: 'boolean', description: 'print {records, next} as JSON' },
  },
  examples: [
    'warrant audit query --person alice --since 2025-06-01 --decision deny',
    'warrant audit query --agent spiffe://warrant.local/agent/researcher --action crm:contacts.read --json',
  ],
  async run(args, io) {
    const { checkAuditQuery, queryRecords } = await import('../../ledger/audit/query.ts');
    const v = args.values;
    const query = {
      ...pickStrings(v, ['person', 'agent', 'action', 'decision', 'txn', 'since', 'until']),
      ...(v['limit'] === undefined ? {} : { limit: integerFlag(v['limit'] as string, 'limit') }),
      ...(v['after'] === undefined ? {} : { after: integerFlag(v['after'] as string, 'after') }),
    };
    try {
      checkAuditQuery(query);
    } catch (error) {
      asUsage(error);
    }
    const result = await withLedger(args, ({ source }) => queryRecords(source, query));
    if (v['json'] === true) {
      printJson(io, { records: result.items.map((r) => r.record), next: result.next });
      return EXIT.ok;
    }
    const lines = result.items.map(({ index, record: r }) => {
      if (r.kind === 'outcome')
        return `#${index} ${r.time} outcome of ${r.decisionId}: status ${r.status ?? '?'}${typeof r.latencyMs === 'number' ? ` in ${r.latencyMs.toFixed(1)} ms` : ''}`;
      return (
        `#${index} ${r.time} ${String(r.decision ?? '?').toUpperCase()} ${r.action ?? '(no action)'}` +
        `${r.resource ? ` ${r.resource}` : ''} by ${r.caller ?? '?'} -> ${r.recipient ?? '?'}` +
        ` for ${r.person?.sub ?? '?'} (txn ${r.txn ?? '?'})`
      );
    });
    io.out(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    if (result.items.length === 0) io.err('no record matches\n');
    if (result.next !== null) io.err(`more records match: run again with --after ${result.next}\n`);
    return EXIT.ok;
  },
};

function pickStrings(values: ParsedArgs['values'], keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = values[k];
    if (typeof v === 'string') {
      if (v === '') throw new UsageError(`--${k} expects a value`);
      out[k] = v;
    }
  }
  return out;
}

function integerFlag(value: string, flag: string): number {
  if (!/^\d{1,15}$/.test(value))
    throw new UsageError(`--${flag} expects a non-negative integer, not ${JSON.stringify(value)}`);
  return Number(value);
}

// -------------------------------------------------------------------------------------------------------

export const auditVerify: Command = {
  name: 'audit verify',
  summary: 'verify a ledger export offline',
  description:
    'Verifies a JSON Lines ledger export (`warrant audit export`) with nothing but the file: each record\n' +
    'is re-hashed from its canonical JSON (RFC 8785), the Merkle tree (RFC 9162) rebuilt, every checkpoint\n' +
    'signature checked and its root compared with the rebuilt root, successive checkpoints checked for\n' +
    'consistency, and the indices checked to run 0..n-1. Any change, removal, reordering or insertion of a\n' +
    'record fails, naming the line. Pin the ledger key with --key; without it the key in the file itself\n' +
    'is used, which proves only that the file is self-consistent. Exits 0 when it verifies, 1 otherwise.',
  options: {
    key: KEY_OPTION,
    json: { type: 'boolean', description: 'print the verification result as JSON' },
  },
  positional: { name: '<export>', description: 'the export file (- for standard input)', required: true },
  examples: [
    'warrant audit verify ledger.jsonl --key "warrant.local/ledger+1a2b3c4d+AaBb…"',
    'warrant audit verify ledger.jsonl --json',
  ],
  async run(args, io) {
    const keys = givenKeys(args);
    const file = args.positionals[0]!;
    const { verifyExport, verifyExportFile } = await import('../../ledger/audit/verify-export.ts');
    if (file !== '-') {
      let isFile = false;
      try {
        isFile = statSync(file).isFile();
      } catch (error) {
        throw new CliError(
          `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          'Give the path of an export written by `warrant audit export`.',
        );
      }
      if (!isFile)
        throw new CliError(
          `${file} is not a file`,
          'Give the path of an export written by `warrant audit export`.',
        );
    }
    const result =
      file === '-'
        ? await verifyExport(io.stdin as AsyncIterable<Uint8Array | string>, { verifierKeys: keys })
        : await verifyExportFile(file, { verifierKeys: keys });
    if (args.values['json'] === true) printJson(io, result);
    const fromFile =
      result.keysFrom === 'file'
        ? 'note: no --key given: the checkpoints were checked against the key(s) listed in the file itself:\n' +
          result.keys.map((k) => `  ${k}\n`).join('') +
          'That shows the file is self-consistent, not that it is authentic: trust it only if you recognise\n' +
          "this key as your ledger's (compare it with the key printed by `warrant audit export`), and pin it\n" +
          'with --key next time.\n'
        : '';
    if (!result.ok) {
      if (fromFile) io.err(fromFile);
      throw new CliError(
        `${file === '-' ? 'the export' : file} does not verify: ${result.problems.length} problem(s)` +
          `${result.stopped ? ' (stopped after these)' : ''}:\n` +
          result.problems.map((p) => `  ${p.message}`).join('\n'),
        'The file is not the ledger as it was signed (changed, cut, or not an export): do not rely on it.\n' +
          'Export again from the ledger and compare, or ask for the original file.',
      );
    }
    if (args.values['json'] !== true) {
      io.out(
        `${file === '-' ? 'the export' : file}: verified\n` +
          `  origin       ${result.origin}\n` +
          `  records      ${result.records} (indices 0..${result.records - 1}, each re-hashed from its canonical JSON)\n` +
          `  checkpoints  ${result.verifiedSizes.length} signed and matching (sizes ${listSizes(result.verifiedSizes)}), consistent\n` +
          `  root         ${result.root} at size ${result.size}\n` +
          `  key(s)       ${result.keys.join(', ')} (${result.keysFrom === 'given' ? 'from --key' : 'from the file itself'})\n`,
      );
    }
    if (fromFile) io.err(fromFile);
    return EXIT.ok;
  },
};

/** Checkpoint sizes, abbreviated when there are many: `1000, 2000, 3000, …, 1000000 (1000 in all)`. */
function listSizes(sizes: readonly number[]): string {
  if (sizes.length <= 8) return sizes.join(', ');
  return `${sizes.slice(0, 3).join(', ')}, …, ${sizes.at(-1)}`;
}

// -------------------------------------------------------------------------------------------------------

export const auditExport: Command = {
  name: 'audit export',
  summary: 'export the ledger: JSON Lines or OpenTelemetry spans',
  description:
    'Writes the ledger up to its latest signed checkpoint as JSON Lines that `warrant audit verify`\n' +
    'checks offline: a header (origin and verifier keys), one line per record with its canonical JSON,\n' +
    'then the signed checkpoints (see docs/cli.md for the format). The header lists the --key values, or\n' +
    'the public half of <data>/ledger-key.jwk. With --format otel, writes OTLP/JSON traces instead: one\n' +
    'trace per transaction, a span per hop of the chain and one per decision (filter with --txn, --since,\n' +
    '--until). Writes to --out, or to standard output.',
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: 'file',
      description: 'write to this file (default: standard output)',
    },
    format: {
      type: 'string',
      value: 'jsonl|otel',
      description: 'jsonl (default, verifiable) or otel (OTLP/JSON)',
    },
    txn: { type: 'string', value: 'txn', description: 'otel: only this transaction' },
    since: { type: 'string', value: 'time', description: 'otel: decisions at or after this time (ISO 8601)' },
    until: { type: 'string', value: 'time', description: 'otel: decisions before this time (ISO 8601)' },
    key: {
      ...KEY_OPTION,
      description: 'a verifier key to list in the header (default: the local ledger key)',
    },
    ...LEDGER_OPTIONS,
  },
  examples: [
    'warrant audit export --out ledger.jsonl',
    'warrant audit export --format otel --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41 --out trace.json',
  ],
  async run(args, io) {
    const format = (args.values['format'] as string | undefined) ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'otel')
      throw new UsageError(`--format must be jsonl or otel, not ${JSON.stringify(format)}`);
    const out = args.values['out'] as string | undefined;
    if (out === '') throw new UsageError('--out expects a file');
    const filters = pickStrings(args.values, ['txn', 'since', 'until']);
    if (format === 'jsonl' && Object.keys(filters).length > 0)
      throw new UsageError(
        `--${Object.keys(filters)[0]} applies to --format otel only: a JSON Lines export is the whole log, so that it verifies`,
      );
    givenKeys(args);
    const { checkAuditQuery } = await import('../../ledger/audit/query.ts');
    try {
      checkAuditQuery(filters);
    } catch (error) {
      asUsage(error);
    }
    const { exportJsonLines, exportOtel } = await import('../../ledger/audit/export.ts');
    const sink = openSink(out, io);
    try {
      await withLedger(args, async (opened) => {
        if (format === 'otel') {
          const traces = await exportOtel(opened.source, filters);
          await sink.write(`${JSON.stringify(traces)}\n`);
          const spans = traces.resourceSpans[0]?.scopeSpans[0]?.spans.length ?? 0;
          io.err(`exported ${spans} span(s) as OTLP/JSON${out ? ` to ${out}` : ''}\n`);
          return;
        }
        const { keys } = await trustedKeys(args, opened);
        const summary = await exportJsonLines(opened.source, sink.write, { verifierKeys: keys }).catch((e) =>
          notFound(e, 'Checkpoints are written every few records and seconds; run again shortly.'),
        );
        io.err(
          `exported ${summary.records} record(s) and ${summary.checkpoints} checkpoint(s) of ${summary.origin}${out ? ` to ${out}` : ''}\n` +
            (summary.uncovered > 0
              ? `(${summary.uncovered} later record(s) are not checkpointed yet and were left out)\n`
              : '') +
            (keys.length > 0
              ? `verify with: warrant audit verify ${out ?? '<file>'} --key '${keys[0]}'\n`
              : 'warning: no verifier key is known (no --key, no ledger-key.jwk): the header lists none, and\n' +
                'verifying needs --key <the ledger verifier key>.\n'),
        );
      });
    } finally {
      await sink.close();
    }
    return EXIT.ok;
  },
};

interface Sink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

function openSink(path: string | undefined, io: Io): Sink {
  if (path === undefined)
    return {
      write: async (text) => io.out(text),
      close: async () => {},
    };
  const stream = createWriteStream(path, { mode: 0o600 });
  let failed: Error | null = null;
  stream.on('error', (e) => {
    failed = e;
  });
  const fail = (e: Error): never => {
    throw new CliError(
      `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? e.message}`,
      'Check the --out path.',
    );
  };
  return {
    async write(text) {
      if (failed) fail(failed);
      if (!stream.write(text))
        await Promise.race([once(stream, 'drain'), once(stream, 'error')]).catch(() => {});
      if (failed) fail(failed);
    },
    async close() {
      if (failed) return;
      await new Promise<void>((resolve) => stream.end(resolve));
      if (failed) fail(failed);
    },
  };
}

// -------------------------------------------------------------------------------------------------------

const REPORTS = ['excessive-agency', 'disclosure'] as const;

export const auditReport: Command = {
  name: 'audit report',
  summary: 'reports: excessive-agency | disclosure',
  description:
    'excessive-agency: per calling agent and action, the grants held against those used in the window\n' +
    '(--since/--until): grants never used, wildcard grants used for only a few actions or resources\n' +
    '(crm:* held, only crm:contacts.read used), and agents holding far more grants than the median of the\n' +
    'agents doing the same action; each finding with its counts.\n' +
    'disclosure: for one transaction (--txn), a self-contained HTML page for the person it was done for:\n' +
    'the chain drawn as a graph (person → agents → tools, with the decisions), every action, and where\n' +
    'the records sit in the signed ledger. Written to --out, or to standard output.',
  options: {
    txn: { type: 'string', value: 'txn', description: 'disclosure: the transaction' },
    out: { type: 'string', short: 'o', value: 'file', description: 'disclosure: the HTML file to write' },
    since: { type: 'string', value: 'time', description: 'excessive-agency: from this time (ISO 8601)' },
    until: { type: 'string', value: 'time', description: 'excessive-agency: before this time (ISO 8601)' },
    ...LEDGER_OPTIONS,
    json: { type: 'boolean', description: 'excessive-agency: print the report as JSON' },
  },
  positional: { name: '<report>', description: REPORTS.join(' | '), required: true },
  examples: [
    'warrant audit report excessive-agency --since 2025-06-01',
    'warrant audit report disclosure --txn 7f3c9a2e-1d4b-4c1e-9a0b-2f6e8d7c5b41 --out disclosure.html',
  ],
  async run(args, io) {
    const kind = args.positionals[0]!;
    if (!(REPORTS as readonly string[]).includes(kind))
      throw new UsageError(`unknown report ${JSON.stringify(kind)}: expected ${REPORTS.join(' or ')}`);
    const v = args.values;
    if (kind === 'disclosure') {
      for (const flag of ['since', 'until', 'json'])
        if (v[flag] !== undefined)
          throw new UsageError(`--${flag} applies to excessive-agency, not disclosure`);
      const txn = v['txn'] as string | undefined;
      if (txn === undefined || txn === '') throw new UsageError('disclosure needs --txn <txn>');
      const out = v['out'] as string | undefined;
      if (out === '') throw new UsageError('--out expects a file');
      const { disclosureReport } = await import('../../ledger/audit/disclosure.ts');
      const html = await withLedger(args, ({ source }) =>
        disclosureReport(source, txn).catch((e) =>
          notFound(e, 'Check the txn (see `warrant audit query --json`).'),
        ),
      );
      const sink = openSink(out, io);
      try {
        await sink.write(html);
      } finally {
        await sink.close();
      }
      if (out) io.err(`wrote the disclosure of transaction ${txn} to ${out}\n`);
      return EXIT.ok;
    }
    for (const flag of ['txn', 'out'])
      if (v[flag] !== undefined)
        throw new UsageError(`--${flag} applies to disclosure, not excessive-agency`);
    const window = pickStrings(v, ['since', 'until']);
    const { checkAuditQuery } = await import('../../ledger/audit/query.ts');
    try {
      checkAuditQuery(window);
    } catch (error) {
      asUsage(error);
    }
    const { excessiveAgency } = await import('../../ledger/audit/excessive-agency.ts');
    const report = await withLedger(args, ({ source }) => excessiveAgency(source, window));
    if (v['json'] === true) {
      printJson(io, report);
      return EXIT.ok;
    }
    const lines: string[] = [];
    const span =
      report.window.since || report.window.until
        ? `${report.window.since ?? 'the start'} .. ${report.window.until ?? 'now'}`
        : 'the whole ledger';
    lines.push(
      `excessive agency over ${span}: ${report.decisions} decision(s) by ${report.callers} caller(s)`,
    );
    lines.push('');
    if (report.findings.length === 0) lines.push('no findings');
    else lines.push(`findings (${report.findings.length}):`);
    for (const f of report.findings) {
      lines.push(`  ${f.severity.toUpperCase().padEnd(6)} ${f.kind.padEnd(13)} ${f.message}`);
      lines.push(
        `         evidence: ${Object.entries(f.evidence)
          .map(([k, val]) => `${k}=${Array.isArray(val) ? val.join(',') : String(val)}`)
          .join(' ')}`,
      );
      if (f.suggestion) lines.push(`         narrower: ${f.suggestion.map(grantText).join('; ')}`);
    }
    lines.push('', 'per caller and action (allowed/denied, grants held, grants used):');
    for (const r of report.rows)
      lines.push(
        `  ${r.caller}  ${r.action}  ${r.allowed}/${r.denied}  held ${r.grantsHeld}  used ${r.grantsUsed.map(grantText).join('; ') || '-'}`,
      );
    io.out(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};

export const auditCommands: readonly Command[] = [
  auditTrace,
  auditWho,
  auditQuery,
  auditVerify,
  auditExport,
  auditReport,
];
