/**
 * The per-replica options of the server commands (`warrant serve`, `warrant gateway`): every replica of a
 * deployment reads the same configuration file, and only what must differ between two replicas on one host
 * is given on the command line — the address it listens on (`--listen host:port`) and, for a gateway, its
 * name in the decision records (`--id`). `warrant cluster up` starts its replicas this way.
 */
import { type OptionSpec, type ParsedArgs, UsageError } from './command.ts';

export const LISTEN_OPTION: Readonly<Record<string, OptionSpec>> = Object.freeze({
  listen: {
    type: 'string',
    value: 'host:port',
    description: 'listen here instead of the configured address (one config file, several replicas)',
  },
});

export const REPLICA_ID_OPTION: Readonly<Record<string, OptionSpec>> = Object.freeze({
  id: {
    type: 'string',
    value: 'name',
    description: 'this replica’s name in its decision records and the ledger (default: gateway.id)',
  },
});

/** `--listen host:port` (IPv6 in brackets) as a listen address; undefined when not given. */
export function listenOverride(values: ParsedArgs['values']): { host: string; port: number } | undefined {
  const value = values['listen'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError('--listen takes one host:port');
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535)
    throw new UsageError(`--listen ${JSON.stringify(value)} is not host:port (e.g. 127.0.0.1:8080)`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `--id name`: letters, digits, `.`, `_`, `-` (it ends up in records and metrics labels). */
export function replicaId(values: ParsedArgs['values']): string | undefined {
  const value = values['id'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(value))
    throw new UsageError('--id takes a name of 1 to 64 letters, digits, ".", "_" or "-"');
  return value;
}
