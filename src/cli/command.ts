import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

/** Exit codes that mean something (DESIGN §10): 0 ok, 1 failure, 2 usage. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

/** Where a command reads and writes; `process` in `main.ts`, something else in tests. */
export interface Io {
  readonly stdin: Readable;
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Standard output is a terminal (`warrant dev` then writes human-readable logs). */
  readonly stdoutIsTTY?: boolean;
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Shown in help as `--name <value>`; strings only. */
  readonly value?: string;
  readonly description: string;
  /** The flag may be given several times; its value is then a string array. */
  readonly multiple?: boolean;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
  /** How many arguments `name` stands for (default 1): all of them when required. */
  readonly count?: number;
}

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  readonly positionals: readonly string[];
}

export interface Command {
  /** One or two words: `keygen`, `config validate`. */
  readonly name: string;
  /** One line for `warrant --help`. */
  readonly summary: string;
  /** What it does, for `warrant <name> --help`. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly positional?: PositionalSpec;
  readonly examples: readonly string[];
  /** True for commands of DESIGN §10 that are listed but not built yet. */
  readonly coming?: boolean;
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** The command line is wrong: exit 2 with a pointer to `--help`. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command could not do its job: exit 1, with what to do next. */
export class CliError extends Error {
  override name = 'CliError';
  readonly hint: string;
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.hint = hint;
  }
}

/** Strict flag parsing: unknown flags, missing values and unexpected positionals are usage errors. */
export function parseCommandArgs(command: Command, args: readonly string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(command.options)) {
    options[name] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({
      args: joinDashValues(command, args),
      options,
      allowPositionals: command.positional !== undefined,
      strict: true,
    });
    const count = command.positional?.count ?? 1;
    if (positionals.length > count)
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[count])}`);
    if (command.positional?.required && positionals.length < count) {
      throw new UsageError(`missing argument ${command.positional.name}`);
    }
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(describeParseError(error));
  }
}

/**
 * `--warrant -Qk3…`: a value that starts with a dash (one token hash in 64 does: base64url) is, to
 * node:util parseArgs, an ambiguous option, refused. When the next argument is not one of this command's
 * options (nor `--`), it is the string option's value: passed on as `--warrant=-Qk3…`. An option name
 * after a string option stays an option (`--warrant --json` is still refused as missing its value).
 * The same goes for a command's positional argument (`warrant revoke -Qk3…`): an argument shaped like a
 * token hash (43 characters of base64url) that is not one of the command's options is passed on after
 * `--`, as a positional. Any other unknown dash argument is still refused.
 */
function joinDashValues(command: Command, args: readonly string[]): string[] {
  const shorts = new Map<string, string>();
  for (const [name, spec] of Object.entries(command.options)) if (spec.short) shorts.set(spec.short, name);
  const isOption = (arg: string): boolean => {
    if (arg === '--' || arg === '--help' || arg === '-h') return true;
    if (arg.startsWith('--')) return Object.hasOwn(command.options, arg.slice(2).split('=')[0]!);
    return [...arg.slice(1)].every((c) => shorts.has(c));
  };
  const out: string[] = [];
  const dashPositionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (command.positional !== undefined && TOKEN_HASH.test(arg) && !isOption(arg)) {
      dashPositionals.push(arg);
      continue;
    }
    const name = arg.startsWith('--') ? arg.slice(2) : /^-[^-]$/.test(arg) ? shorts.get(arg[1]!) : undefined;
    const next = args[i + 1];
    if (
      name !== undefined &&
      Object.hasOwn(command.options, name) &&
      command.options[name]!.type === 'string' &&
      next !== undefined &&
      next.length > 1 &&
      next.startsWith('-') &&
      !isOption(next)
    ) {
      out.push(`--${name}=${next}`);
      i++;
      continue;
    }
    out.push(arg);
  }
  if (dashPositionals.length > 0) {
    const end = out.indexOf('--');
    if (end < 0) out.push('--', ...dashPositionals);
    else out.splice(end + 1, 0, ...dashPositionals);
  }
  return out;
}

/** A token hash that starts with a dash: SHA-256 in base64url, 43 characters. */
const TOKEN_HASH = /^-[A-Za-z0-9_-]{42}$/;

function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted ?? '')}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.replace(/^Option /, 'option ');
    default:
      return message;
  }
}

/** `true` when the arguments ask for help (before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** The help page of one command: usage, description, options, examples. */
export function commandHelp(command: Command): string {
  const lines: string[] = [];
  const flags = Object.entries(command.options).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    return { left: `${short}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}`, spec };
  });
  flags.push({ left: '-h, --help', spec: { type: 'boolean', description: 'show this help' } });
  const positional = command.positional
    ? command.positional.required
      ? ` ${command.positional.name}`
      : ` [${command.positional.name}]`
    : '';
  lines.push(
    `Usage: warrant ${command.name}${positional}${Object.keys(command.options).length > 0 ? ' [options]' : ''}`,
  );
  lines.push('');
  lines.push(
    command.coming ? `${command.description}\n\nNot implemented yet (coming).` : command.description,
  );
  if (command.positional) {
    lines.push('', 'Arguments:', `  ${command.positional.name.padEnd(24)}${command.positional.description}`);
  }
  lines.push('', 'Options:');
  const width = Math.max(24, ...flags.map((f) => f.left.length + 2));
  for (const { left, spec } of flags) {
    lines.push(`  ${left.padEnd(width)}${spec.description}${spec.multiple ? ' (repeatable)' : ''}`);
  }
  if (command.examples.length > 0) {
    lines.push('', command.examples.length === 1 ? 'Example:' : 'Examples:');
    for (const example of command.examples) lines.push(`  ${example}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Parses a TCP port flag: an integer from 0 (any free port) to 65535. */
export function parsePort(value: string, flag = '--port'): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${flag} expects an integer from 0 to 65535`);
  }
  return Number(value);
}
