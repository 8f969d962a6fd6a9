/**
 * What the `warrant audit` subcommands share: where the ledger is (`withLedger`), the verifier keys to
 * trust, flag parsing, and where output goes (standard output, or a file written atomically).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigOverrides } from '../../../config/types.ts';
import { isWarrantError } from '../../../core/errors.ts';
import { importPrivateJwk } from '../../../core/jose/jwk.ts';
import { type AuditSource, signerNames } from '../../../ledger/audit/source.ts';
import {
  noteVerifierKey,
  parseCheckpoint,
  parseNoteVerifierKey,
  verifyCheckpoint,
} from '../../../ledger/checkpoint.ts';
import type { LedgerStore } from '../../../ledger/store/ports.ts';
import { openAtomicFile } from '../../atomic-file.ts';
import { CliError, type Io, type OptionSpec, type ParsedArgs, UsageError } from '../../command.ts';
import { loadCliConfig } from '../../config-file.ts';

/** A string option, shown in help as `--name <value>`. */
export function valueOption(
  value: string,
  description: string,
  more: { readonly short?: string; readonly multiple?: boolean } = {},
): OptionSpec {
  return { type: 'string', value, description, ...more };
}

/** `--out <file>`: write to this file instead of standard output (atomically, see `openSink`). */
export const OUT_OPTION: OptionSpec = valueOption('file', 'write to this file (default: standard output)', {
  short: 'o',
});

/** Where the ledger is: `--data` (its `ledger.db`) or the store of `--config`. */
export const LEDGER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  data: valueOption('dir', 'data directory holding ledger.db (default ./.warrant)'),
  config: valueOption('file', 'configuration file (its dataDir, or its PostgreSQL store)', { short: 'c' }),
};

export const KEY_OPTION: OptionSpec = valueOption(
  'verifier key',
  'trusted note verifier key of the ledger (name+hash+key)',
  { multiple: true },
);

export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print the result as JSON' };

export interface Opened {
  readonly source: AuditSource;
  readonly dataDir: string;
  readonly describe: string;
  /** The log's origin when it has no checkpoint to read it from: `<trustDomain>/ledger`. */
  readonly defaultOrigin: string;
}

/** Opens the configured ledger store for reading; never creates a ledger that is not there. */
export async function withLedger<T>(args: ParsedArgs, fn: (opened: Opened) => Promise<T>): Promise<T> {
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
        '../../../ledger/store/postgres/postgres-ledger-store.ts'
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
      const { openSqliteLedgerStore } = await import('../../../ledger/store/sqlite/sqlite-ledger-store.ts');
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
export function givenKeys(args: ParsedArgs, flag = 'key'): string[] {
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
export async function trustedKeys(
  args: ParsedArgs,
  opened: Opened,
): Promise<{ keys: string[]; from: string }> {
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
export function asUsage(error: unknown): never {
  if (isWarrantError(error) && error.code === 'WARRANT_AUDIT_QUERY_INVALID') {
    const field = (error as { field?: string }).field ?? '';
    const flag = field === 'query' ? 'the query' : `--${field}`;
    throw new UsageError(`${flag}${error.message.slice(field.length)}`);
  }
  throw error;
}

export function notFound(error: unknown, hint: string): never {
  if (isWarrantError(error) && error.code === 'WARRANT_AUDIT_NOT_FOUND')
    throw new CliError(error.message, hint);
  throw error;
}

/** The string flags among `keys` that are given (an empty one is a usage error). */
export function pickStrings(values: ParsedArgs['values'], keys: readonly string[]): Record<string, string> {
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

/** A flag that must be a non-negative integer. */
export function integerFlag(value: string, flag: string): number {
  if (!/^\d{1,15}$/.test(value))
    throw new UsageError(`--${flag} expects a non-negative integer, not ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * The verifier key(s) of the local ledger key (`<data>/ledger-key.jwk`, never created here): under the
 * names whose key verifies the latest checkpoint, else under the log's origin.
 */
export async function localLedgerKeys(opened: Opened): Promise<{ keys: string[]; path: string }> {
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

/** A grant in one line: `action on resource {constraints}`. */
export function grantText(grant: unknown): string {
  if (grant !== null && typeof grant === 'object') {
    const g = grant as { action?: unknown; resource?: unknown; constraints?: unknown };
    if (typeof g.action === 'string' && typeof g.resource === 'string')
      return `${g.action} on ${g.resource}${g.constraints === undefined ? '' : ` ${JSON.stringify(g.constraints)}`}`;
  }
  return JSON.stringify(grant) ?? String(grant);
}

export interface Sink {
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
export async function openSink(path: string | undefined, io: Io): Promise<Sink> {
  if (path === undefined) {
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

/** Writes `text` whole to standard output, or to the file `path` (atomically); a failure names the path. */
export async function writeOutput(path: string | undefined, io: Io, text: string): Promise<void> {
  const sink = await openSink(path, io);
  try {
    await sink.write(text);
    await sink.commit();
  } finally {
    await sink.abort();
  }
}
