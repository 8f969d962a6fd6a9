/** The log levels (pino's), most to least severe; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** `value` as a log level; a TypeError naming the allowed ones otherwise (`source` says where it came from). */
export function parseLogLevel(value: string, source = 'log level'): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new TypeError(`${source} must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(value)})`);
}
