import { Buffer } from 'node:buffer';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../config/types.ts';
import { isWarrantError } from '../../core/errors.ts';
import { importPrivateJwk } from '../../core/jose/jwk.ts';
import { type AuditSource, signerNames } from '../../ledger/audit/source.ts';
import type { TraceCall, TraceNode } from '../../ledger/audit/trace.ts';
import {
  noteVerifierKey,
  parseCheckpoint,
  parseNoteVerifierKey,
  verifyCheckpoint,
} from '../../ledger/checkpoint.ts';
import type { LedgerStore } from '../../ledger/store/ports.ts';
import { printJson } from '../admin-client.ts';
import { openAtomicFile } from '../atomic-file.ts';
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
  /** The log's origin when it has no checkpoint to read it from: `<trustDomain>/ledger`. */
  readonly defaultOrigin: string;
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
    return await fn({
      source: store,
      dataDir: config.dataDir,
      describe,
      defaultOrigin: `${config.trustDomain}/ledger`,
    });
  } finally {
    await store.close().catch(() => {});
  }
}

/** The `--key` (or `--witness-key`) flags, checked (a malformed key is a usage error). */
function givenKeys(args: ParsedArgs, flag = 'key'): string[] {
  const keys = (args.values[flag] as readonly string[] | undefined) ?? [];
  for (const k of keys) {
    try {
      parseNoteVerifierKey(k);
    } catch (error) {
      throw new UsageError(`--${flag}: ${(error as Error).message}`);
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

const ANCHOR_HELP =
  'A trust anchor is required (DESIGN §8): the file alone proves only that it agrees with itself, since\n' +
  'whoever rewrites it can re-sign it and list their own key in it. Give at least one:\n' +
  '  --key <verifier key>          the ledger key, pinned (`warrant audit key` prints it where the ledger runs);\n' +
  '  --trusted-checkpoint <file>   a checkpoint saved earlier (`warrant audit checkpoint --out <file>`, or\n' +
  '                                --save-checkpoint here): the export must reach it and be consistent with it\n' +
  '                                (RFC 9162 consistency proof), so a log rolled back or forked fails;\n' +
  '  --witness-key <verifier key>  a witness whose co-signature on the checkpoints vouches for the records.\n';

export const auditVerify: Command = {
  name: 'audit verify',
  summary: 'verify a ledger export offline, against a trust anchor',
  description:
    'Verifies a JSON Lines ledger export (`warrant audit export`) offline: each record is re-hashed from\n' +
    'its canonical JSON (RFC 8785), the Merkle tree (RFC 9162) rebuilt, every checkpoint signature checked\n' +
    'and its root compared with the rebuilt root, successive checkpoints checked for consistency, and the\n' +
    'indices checked to run 0..n-1. Any change, removal, reordering or insertion of a record fails, naming\n' +
    `the line.\n${ANCHOR_HELP}` +
    "--save-checkpoint <file> then keeps the export's latest checkpoint as the anchor for the next time\n" +
    '(it needs --key or --trusted-checkpoint: a witness vouches for records, not for the log key).\n' +
    'Exits 0 when it verifies against an anchor; 1 otherwise, naming each problem and its code\n' +
    '(WARRANT_AUDIT_NO_TRUST_ANCHOR without an anchor, WARRANT_AUDIT_EXPORT_ROLLED_BACK,\n' +
    'WARRANT_AUDIT_EXPORT_FORKED, WARRANT_AUDIT_EXPORT_TAMPERED, WARRANT_AUDIT_EXPORT_MALFORMED).',
  options: {
    key: KEY_OPTION,
    'trusted-checkpoint': {
      type: 'string',
      value: 'file',
      multiple: true,
      description: 'a checkpoint (C2SP signed note) saved earlier, trusted',
    },
    'witness-key': {
      type: 'string',
      value: 'verifier key',
      multiple: true,
      description: 'a trusted witness key: checkpoints it co-signed are anchored',
    },
    'save-checkpoint': {
      type: 'string',
      value: 'file',
      description: "on success, save the export's latest checkpoint here (the next anchor)",
    },
    json: { type: 'boolean', description: 'print the verification result as JSON' },
  },
  positional: { name: '<export>', description: 'the export file (- for standard input)', required: true },
  examples: [
    'warrant audit verify ledger.jsonl --key "$(warrant audit key)"',
    'warrant audit verify ledger.jsonl --key "warrant.local/ledger+1a2b3c4d+AaBb…" --save-checkpoint trusted.cp',
    'warrant audit verify newer.jsonl --trusted-checkpoint trusted.cp --save-checkpoint trusted.cp',
    'warrant audit verify ledger.jsonl --witness-key "witness.example/w1+5e6f7a8b+AcDd…" --json',
  ],
  async run(args, io) {
    const keys = givenKeys(args);
    const witnessKeys = givenKeys(args, 'witness-key');
    const save = args.values['save-checkpoint'] as string | undefined;
    if (save === '') throw new UsageError('--save-checkpoint expects a file');
    const trustedFiles = (args.values['trusted-checkpoint'] as readonly string[] | undefined) ?? [];
    if (trustedFiles.includes('')) throw new UsageError('--trusted-checkpoint expects a file');
    if (save !== undefined && keys.length === 0 && trustedFiles.length === 0)
      throw new UsageError(
        '--save-checkpoint needs --key or --trusted-checkpoint: a checkpoint is saved only when its log signature was checked against a key you trust',
      );
    const trustedCheckpoints = trustedFiles.map(readTrustedCheckpoint);
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
    const options = { verifierKeys: keys, witnessKeys, trustedCheckpoints };
    const result =
      file === '-'
        ? await verifyExport(io.stdin as AsyncIterable<Uint8Array | string>, options)
        : await verifyExportFile(file, options);
    if (args.values['json'] === true) printJson(io, result);
    const name = file === '-' ? 'the export' : file;
    if (!result.ok) {
      const codes = new Set(result.problems.map((p) => p.code));
      throw new CliError(
        `${name} does not verify: ${result.problems.length} problem(s)` +
          `${result.stopped ? ' (stopped after these)' : ''}:\n` +
          result.problems.map((p) => `  ${p.message} (${p.code})`).join('\n'),
        codes.has('WARRANT_AUDIT_EXPORT_ROLLED_BACK') || codes.has('WARRANT_AUDIT_EXPORT_FORKED')
          ? 'The ledger is not the one you trusted earlier: it was rolled back or rewritten. Keep this export and\n' +
              'the trusted checkpoint as evidence, and do not rely on the export.'
          : codes.size === 1 && codes.has('WARRANT_AUDIT_NO_TRUST_ANCHOR')
            ? ANCHOR_HELP.trimEnd()
            : 'The file is not the ledger as it was signed (changed, cut, or not an export): do not rely on it.\n' +
              'Export again from the ledger and compare, or ask for the original file.',
      );
    }
    if (args.values['json'] !== true) {
      io.out(
        `${name}: verified\n` +
          `  origin       ${result.origin}\n` +
          `  records      ${result.records} (indices 0..${result.records - 1}, each re-hashed from its canonical JSON)\n` +
          `  checkpoints  ${result.verifiedSizes.length} signed and matching (sizes ${listSizes(result.verifiedSizes)}), consistent\n` +
          `  root         ${result.root} at size ${result.size}\n` +
          `  key(s)       ${result.keys.join(', ')} (${KEYS_FROM[result.keysFrom]})\n` +
          `  anchor       ${describeAnchors(result)}\n`,
      );
    }
    if (save !== undefined) {
      if (result.note === undefined) throw new CliError('no checkpoint to save', 'Export again.');
      await writeFileAtomically(save, result.note);
      io.err(
        `saved the checkpoint of size ${result.size} to ${save}: verify later exports with --trusted-checkpoint ${save}\n`,
      );
    }
    return EXIT.ok;
  },
};

const KEYS_FROM = {
  given: 'from --key',
  'trusted-checkpoint': 'from the file, as signers of the trusted checkpoint',
  file: 'from the file itself',
} as const;

function describeAnchors(result: {
  anchoredBy: readonly string[];
  trustedSizes: readonly number[];
  witnessedSizes: readonly number[];
}): string {
  const parts: string[] = [];
  if (result.anchoredBy.includes('key')) parts.push('the pinned key (--key)');
  if (result.anchoredBy.includes('trusted-checkpoint'))
    parts.push(
      result.trustedSizes.length > 0
        ? `consistent with the trusted checkpoint(s) of size ${listSizes(result.trustedSizes)} (RFC 9162 consistency proof)`
        : 'the key that signed the trusted checkpoint',
    );
  if (result.anchoredBy.includes('witness'))
    parts.push(`co-signed by a trusted witness (sizes ${listSizes(result.witnessedSizes)})`);
  return parts.join('; ');
}

/** Reads a `--trusted-checkpoint` file: one C2SP checkpoint note. */
function readTrustedCheckpoint(path: string): string {
  const hint =
    'Give a checkpoint saved by `warrant audit checkpoint --out <file>` or `warrant audit verify --save-checkpoint <file>`.';
  let text: string;
  try {
    if (statSync(path).size > 1 << 20)
      throw new CliError(`--trusted-checkpoint ${path}: larger than 1 MiB`, hint);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read --trusted-checkpoint ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      hint,
    );
  }
  try {
    parseCheckpoint(text);
  } catch (error) {
    throw new CliError(`--trusted-checkpoint ${path}: ${(error as Error).message}`, hint);
  }
  return text;
}

/** Writes `text` to `path` through a temporary file renamed into place; a failure names the path. */
async function writeFileAtomically(path: string, text: string): Promise<void> {
  const sink = await openSink(path, null);
  try {
    await sink.write(text);
    await sink.commit();
  } finally {
    await sink.abort();
  }
}

/** Checkpoint sizes, abbreviated when there are many: `1000, 2000, 3000, …, 1000000 (1000 in all)`. */
function listSizes(sizes: readonly number[]): string {
  if (sizes.length <= 8) return sizes.join(', ');
  return `${sizes.slice(0, 3).join(', ')}, …, ${sizes.at(-1)}`;
}

// -------------------------------------------------------------------------------------------------------

/**
 * The verifier key(s) of the local ledger key (`<data>/ledger-key.jwk`, never created here): under the
 * names whose key verifies the latest checkpoint, else under the log's origin.
 */
async function localLedgerKeys(opened: Opened): Promise<{ keys: string[]; path: string }> {
  const path = join(opened.dataDir, 'ledger-key.jwk');
  if (!existsSync(path))
    throw new CliError(
      `no ledger key at ${path}`,
      'Run this where the ledger runs, with its --data <dir> or --config <file> (the gateway or `warrant dev` keeps its key there).',
    );
  let key: ReturnType<typeof importPrivateJwk>;
  try {
    key = importPrivateJwk(JSON.parse(readFileSync(path, 'utf8')), 'EdDSA');
  } catch (error) {
    throw new CliError(
      `${path} is not an Ed25519 private JWK: ${(error as Error).message}`,
      'Restore the ledger key file from a backup.',
    );
  }
  const latest = await opened.source.latestCheckpoint();
  const candidates = latest ? signerNames(latest.note) : [];
  const keys: string[] = [];
  for (const name of candidates) {
    try {
      const k = noteVerifierKey(name, key);
      verifyCheckpoint(latest!.note, [k]);
      keys.push(k);
    } catch {
      // Another signer (a witness), or a name that cannot be ours.
    }
  }
  if (keys.length === 0) {
    const origin = latest ? parseCheckpoint(latest.note).origin : opened.defaultOrigin;
    try {
      keys.push(noteVerifierKey(origin, key));
    } catch (error) {
      throw new CliError(`cannot name the ledger key: ${(error as Error).message}`, 'Check the trustDomain.');
    }
  }
  return { keys, path };
}

export const auditKey: Command = {
  name: 'audit key',
  summary: "print the ledger's public verifier key",
  description:
    'Prints the C2SP note verifier key of the ledger (name+hash+key: the public half of\n' +
    '<data>/ledger-key.jwk, under the name that signs its checkpoints), one per line. Give it to whoever\n' +
    'verifies an export (`warrant audit verify <export> --key <key>`): it is the trust anchor that a\n' +
    're-signed export cannot match. Run it where the ledger runs; it reads nothing but the data directory.',
  options: { ...LEDGER_OPTIONS, json: { type: 'boolean', description: 'print {keys} as JSON' } },
  examples: [
    'warrant audit key',
    'warrant audit verify ledger.jsonl --key "$(warrant audit key --data /var/lib/warrant)"',
  ],
  async run(args, io) {
    const { keys } = await withLedger(args, (opened) => localLedgerKeys(opened));
    if (args.values['json'] === true) printJson(io, { keys });
    else io.out(`${keys.join('\n')}\n`);
    return EXIT.ok;
  },
};

export const auditCheckpoint: Command = {
  name: 'audit checkpoint',
  summary: "save the ledger's latest signed checkpoint (a trust anchor)",
  description:
    "Writes the ledger's latest signed checkpoint (a C2SP signed note: origin, size, root, signatures) to\n" +
    '--out, or to standard output, after checking its signature against --key, else the public half of\n' +
    '<data>/ledger-key.jwk. Keep it: `warrant audit verify <export> --trusted-checkpoint <file>` then\n' +
    'proves a later export consistent with it (RFC 9162), so a ledger rolled back to an earlier size or\n' +
    'rewritten (forked) fails. The file is written beside its name and renamed into place.',
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: 'file',
      description: 'write to this file (default: standard output)',
    },
    key: {
      ...KEY_OPTION,
      description: 'the ledger verifier key to check it with (default: the local ledger key)',
    },
    ...LEDGER_OPTIONS,
  },
  examples: [
    'warrant audit checkpoint --out trusted.cp',
    'warrant audit verify ledger.jsonl --trusted-checkpoint trusted.cp',
  ],
  async run(args, io) {
    const out = args.values['out'] as string | undefined;
    if (out === '') throw new UsageError('--out expects a file');
    const given = givenKeys(args);
    const latest = await withLedger(args, async (opened) => {
      const keys = given.length > 0 ? given : (await localLedgerKeys(opened)).keys;
      const cp = await opened.source.latestCheckpoint();
      if (!cp)
        throw new CliError(
          'the ledger has no signed checkpoint yet',
          'Checkpoints are written every few records and seconds; run again shortly.',
        );
      try {
        verifyCheckpoint(cp.note, keys);
      } catch (error) {
        throw new CliError(
          `the latest checkpoint (size ${cp.size}) does not verify under ${keys.join(', ')}: ${(error as Error).message}`,
          'Check --key (or the data directory): a checkpoint is saved only when its signature verifies.',
        );
      }
      return cp;
    });
    const { origin, size, root } = parseCheckpoint(latest.note);
    if (out === undefined) io.out(latest.note);
    else await writeFileAtomically(out, latest.note);
    io.err(
      `checkpoint of ${origin} at size ${size} (root ${Buffer.from(root).toString('base64')})${out ? ` saved to ${out}` : ''}\n` +
        `verify later exports with: warrant audit verify <export> --trusted-checkpoint ${out ?? '<file>'}\n`,
    );
    return EXIT.ok;
  },
};

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
    '--until). Writes to standard output, or to --out: through a temporary file beside it, flushed and\n' +
    'renamed over it when complete, so a failed or killed export never leaves half a file there.',
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
    // A file is written beside --out and renamed over it once complete: a failure leaves --out as it was.
    const sink = await openSink(out, io);
    let report: string;
    try {
      report = await withLedger(args, async (opened) => {
        if (format === 'otel') {
          const traces = await exportOtel(opened.source, filters);
          await sink.write(`${JSON.stringify(traces)}\n`);
          const spans = traces.resourceSpans[0]?.scopeSpans[0]?.spans.length ?? 0;
          return `exported ${spans} span(s) as OTLP/JSON${out ? ` to ${out}` : ''}\n`;
        }
        const { keys } = await trustedKeys(args, opened);
        const summary = await exportJsonLines(opened.source, (text) => sink.write(text), {
          verifierKeys: keys,
        }).catch((e) =>
          notFound(e, 'Checkpoints are written every few records and seconds; run again shortly.'),
        );
        return (
          `exported ${summary.records} record(s) and ${summary.checkpoints} checkpoint(s) of ${summary.origin}${out ? ` to ${out}` : ''}\n` +
          (summary.uncovered > 0
            ? `(${summary.uncovered} later record(s) are not checkpointed yet and were left out)\n`
            : '') +
          (keys.length > 0
            ? `verify with: warrant audit verify ${out ?? '<file>'} --key '${keys[0]}'\n`
            : 'warning: no verifier key is known (no --key, no ledger-key.jwk): the header lists none, and\n' +
              'verifying needs --key <the ledger verifier key>.\n')
        );
      });
      await sink.commit();
    } finally {
      await sink.abort();
    }
    io.err(report);
    return EXIT.ok;
  },
};

interface Sink {
  write(text: string): Promise<void>;
  /** The output is complete: the file takes its place. */
  commit(): Promise<void>;
  /** Not complete: the file is discarded (no-op after `commit`). Never throws. */
  abort(): Promise<void>;
}

/**
 * Standard output, or the file `path` written atomically (`atomic-file.ts`): the target is replaced only
 * when the whole output is written and flushed, never left half-written.
 */
async function openSink(path: string | undefined, io: Io | null): Promise<Sink> {
  if (path === undefined) {
    if (io === null) throw new TypeError('a sink without a path needs io');
    return { write: async (text) => io.out(text), commit: async () => {}, abort: async () => {} };
  }
  const fail = (e: unknown): never => {
    throw new CliError(
      `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'Check the path: its directory must exist and be writable.',
      { cause: e },
    );
  };
  const file = await openAtomicFile(path).catch(fail);
  return {
    write: (text) => file.write(text).catch(fail),
    commit: () => file.commit().catch(fail),
    abort: () => file.abort(),
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
      const sink = await openSink(out, io);
      try {
        await sink.write(html);
        await sink.commit();
      } finally {
        await sink.abort();
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
  auditKey,
  auditCheckpoint,
  auditReport,
];
