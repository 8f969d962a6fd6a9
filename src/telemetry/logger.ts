/**
 * The structured logger of every server (pino): one JSON object per line on stdout, or human-readable
 * lines (pino-pretty, in this thread, no worker) for `warrant dev` on a TTY. Credentials never reach the
 * output: the header and form fields that carry tokens are censored wherever they sit (up to two levels
 * deep), and error messages and stacks have any JWT-shaped text replaced.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { serializeError } from './log-error.ts';
import { type LogLevel, parseLogLevel } from './log-level.ts';
import { logSettings } from './settings.ts';

export type { Logger } from 'pino';

/**
 * Keys whose values are credentials (HTTP headers lower-cased by Node, OAuth form fields): censored at the
 * top level, one level down (`headers.authorization`) and two (`req.headers.authorization`).
 */
export const REDACTED_KEYS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'dpop',
  'warrant-chain',
  'txn-token',
  'cookie',
  'set-cookie',
  'client_assertion',
  'subject_token',
  'actor_token',
  'assertion',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
]);

/** What replaces a censored value. */
export const CENSOR = '[redacted]';

export interface LoggerOptions {
  /** Which server logs (`sts`, `gateway`, `dev`, …); every line carries it as `service`. */
  readonly service: string;
  /** Else the CLI's `--log-level` (src/telemetry/settings.ts), else `$LOG_LEVEL`, else `info`. */
  readonly level?: string;
  /** Human-readable output; else the CLI's choice (`warrant dev` on a TTY), else JSON. */
  readonly pretty?: boolean;
  /** Where lines go; stdout by default. Tests pass a stream that collects them. */
  readonly destination?: DestinationStream;
  /** Where `LOG_LEVEL` is read; `process.env` by default. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A logger for one server. A bad level (option or `$LOG_LEVEL`) is a TypeError here, at setup, naming
 * the allowed levels.
 */
export function createLogger(options: LoggerOptions): Logger {
  if (typeof options.service !== 'string' || options.service === '')
    throw new TypeError('createLogger: service must be a non-empty string');
  const level = resolveLevel(options);
  const pretty = options.pretty ?? logSettings().pretty ?? false;
  const common = {
    level,
    base: { pid: process.pid, service: options.service },
    redact: { paths: redactPaths(REDACTED_KEYS), censor: CENSOR },
    serializers: { err: serializeError, error: serializeError },
  };
  if (pretty) {
    const out = options.destination ?? process.stdout;
    const prettify = prettyFactory({
      colorize: out === process.stdout && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      singleLine: true,
    });
    return pino(common, { write: (line: string) => void out.write(prettify(line)) });
  }
  return pino(
    {
      ...common,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label: string) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

function resolveLevel(options: LoggerOptions): LogLevel {
  if (options.level !== undefined) return parseLogLevel(options.level, 'createLogger: level');
  const chosen = logSettings().level;
  if (chosen !== undefined) return chosen;
  const fromEnv = (options.env ?? process.env)['LOG_LEVEL'];
  if (fromEnv !== undefined && fromEnv !== '') return parseLogLevel(fromEnv, 'LOG_LEVEL');
  return 'info';
}

/** pino redact paths for each key at depth 0, 1 and 2 (bracket notation for hyphenated names). */
function redactPaths(keys: readonly string[]): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    const access = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    paths.push(access.startsWith('.') ? key : access, `*${access}`, `*.*${access}`);
  }
  return paths;
}
