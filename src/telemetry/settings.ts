/**
 * Process-wide log settings chosen on the command line (`--log-level`, a TTY for `warrant dev`), read by
 * `createLogger` when a server builds its logger. The CLI writes them once before it starts a server;
 * nothing else should. An option given to `createLogger` directly wins over these.
 */
import type { LogLevel } from './log-level.ts';

export interface LogSettings {
  /** The level from `--log-level`, else `$LOG_LEVEL` as the CLI read it; unset: `createLogger` decides. */
  readonly level?: LogLevel;
  /** Human-readable lines instead of JSON (`warrant dev` on a TTY). */
  readonly pretty?: boolean;
}

let current: LogSettings = Object.freeze({});

/** Replaces the settings (the CLI calls this once per command; tests reset with `{}`). */
export function configureLogs(settings: LogSettings): void {
  current = Object.freeze({ ...settings });
}

/** The settings the CLI chose; `{}` when no command set any. */
export function logSettings(): LogSettings {
  return current;
}
