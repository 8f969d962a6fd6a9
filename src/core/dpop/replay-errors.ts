import { WarrantError } from '../errors.ts';

/**
 * The hot-state store (Redis) is down, unreachable or too slow: the command was not answered within its
 * timeout. Callers fail closed and answer 503; the connection keeps reconnecting on its own.
 */
export class HotStateUnavailableError extends WarrantError {
  constructor(message = 'the hot-state store did not answer in time', options?: { cause?: unknown }) {
    super('WARRANT_HOT_STATE_UNAVAILABLE', message, options);
  }
}

/**
 * The replay store lost its memory after this identifier became usable, so whether it was already used
 * is unknown: refused, until the identifier expires. A new proof or assertion is accepted.
 */
export class ReplayStateLostError extends WarrantError {
  /** When the loss was detected (epoch milliseconds): identifiers valid before it are refused. */
  readonly lostAt: number;

  constructor(lostAt: number) {
    super(
      'WARRANT_REPLAY_STATE_LOST',
      'the replay store lost its memory after this proof became usable; send a new one',
    );
    this.lostAt = lostAt;
  }
}
