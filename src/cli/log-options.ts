/**
 * The log options of the server commands (`warrant dev`, `serve`, `gateway`): `--log-level`, else
 * `$LOG_LEVEL`, checked before anything starts and handed to the servers' loggers through
 * src/telemetry/settings.ts; human-readable lines for `warrant dev` on a terminal.
 */
import { LOG_LEVELS, type LogLevel, parseLogLevel } from '../telemetry/log-level.ts';
import { configureLogs } from '../telemetry/settings.ts';
import { type OptionSpec, type ParsedArgs, UsageError } from './command.ts';

export const LOG_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.freeze({
  'log-level': {
    type: 'string',
    value: 'level',
    description: `log level: ${LOG_LEVELS.join(', ')} (default $LOG_LEVEL, else info)`,
  },
});

/**
 * Reads `--log-level` and `$LOG_LEVEL` (a bad value is a usage error naming the allowed levels) and
 * sets the log settings of this process; `pretty` asks for human-readable lines.
 */
export function applyLogOptions(
  values: ParsedArgs['values'],
  env: Readonly<Record<string, string | undefined>>,
  pretty: boolean,
): void {
  const flag = values['log-level'];
  const fromEnv = env['LOG_LEVEL'];
  let level: LogLevel | undefined;
  if (typeof flag === 'string') level = checked(flag, '--log-level');
  else if (fromEnv !== undefined && fromEnv !== '') level = checked(fromEnv, 'LOG_LEVEL');
  configureLogs({ ...(level === undefined ? {} : { level }), pretty });
}

function checked(value: string, source: string): LogLevel {
  try {
    return parseLogLevel(value, source);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
