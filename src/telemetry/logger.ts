/**
 * The structured logger of every server (pino): one JSON object per line on stdout, or human-readable
 * lines (pino-pretty, in this thread, no worker) for `warrant dev` on a TTY. Credentials never reach the
 * output: the header and form fields that carry tokens are censored wherever they sit in a logged object
 * (src/telemetry/censor.ts) and at the top level of a child logger's bindings, and error messages and
 * stacks have any JWT-shaped text replaced.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { CENSOR, censor, REDACTED_KEYS } from './censor.ts';
import { serializeError } from './log-error.ts';
import { type LogLevel, parseLogLevel } from './log-level.ts';
import { logSettings } from './settings.ts';

export type { Logger } from 'pino';

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
    // Top-level keys through pino (they cover child bindings too); any depth through `censor`.
    redact: {
      paths: REDACTED_KEYS.map((k) => (/^[a-z_]+$/.test(k) ? k : `[${JSON.stringify(k)}]`)),
      censor: CENSOR,
    },
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
    return pino(
      { ...common, formatters: { log: censor } },
      { write: (line: string) => void out.write(prettify(line)) },
    );
  }
  return pino(
    {
      ...common,
      timestamp: isoTime,
      formatters: { level: (label: string) => ({ level: label }), log: censor },
    },
    options.destination ?? stdout(),
  );
}

let shared: DestinationStream | undefined;

/**
 * Standard output, written asynchronously and flushed at exit, shared by every logger of the process
 * (the STS and the gateway of `warrant dev`), so their lines never interleave.
 */
function stdout(): DestinationStream {
  shared ??= bufferedDestination(1);
  return shared;
}

/** How long a line may wait in the buffer of {@link bufferedDestination} when traffic is light. */
export const LOG_FLUSH_MS = 100;

/**
 * A pino destination (sonic-boom, asynchronous) that gathers lines up to 4 KiB and writes them in one
 * call, and at the latest {@link LOG_FLUSH_MS} after they were logged; pino flushes it at exit. One write
 * per access line cost the gateway ~30 µs of main-thread CPU per request (BENCH_GW_PROFILE=1: sonic-boom
 * `actualWrite` → `fs.write`); gathered, a write carries ~10 lines. What a `kill -9` can lose is the
 * lines of the last 100 ms — never a decision: those are in the ledger before anything is forwarded.
 */
export function bufferedDestination(dest: number | string): ReturnType<typeof pino.destination> {
  const out = pino.destination({ dest, sync: false, minLength: 4096 });
  const timer = setInterval(() => {
    // `_len` (bytes waiting) is sonic-boom's own; when a version lacks it, flush anyway.
    const waiting = (out as unknown as { _len?: number })._len;
    if (waiting === 0) return;
    try {
      out.flush();
    } catch {
      // Destroyed (the process is ending) or not open yet: the next tick or the exit flush writes it.
    }
  }, LOG_FLUSH_MS);
  timer.unref();
  out.once('close', () => clearInterval(timer));
  return out;
}

function resolveLevel(options: LoggerOptions): LogLevel {
  if (options.level !== undefined) return parseLogLevel(options.level, 'createLogger: level');
  const chosen = logSettings().level;
  if (chosen !== undefined) return chosen;
  const fromEnv = (options.env ?? process.env)['LOG_LEVEL'];
  if (fromEnv !== undefined && fromEnv !== '') return parseLogLevel(fromEnv, 'LOG_LEVEL');
  return 'info';
}

// `"time":"<ISO 8601 UTC>"`, the part up to the seconds computed once per second (toISOString per line
// would cost more than the rest of an access line).
let second = -1;
let prefix = '';
function isoTime(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    prefix = `,"time":"${new Date(s * 1000).toISOString().slice(0, 20)}`;
  }
  const ms = now - s * 1000;
  return `${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}
