import { WarrantError } from '../core/errors.ts';

/**
 * The stored ledger does not match what was signed: a record whose text does not hash to its stored leaf
 * hash, a gap, a checkpoint that does not verify, or leaves whose tree root is not the checkpoint's.
 * `index` is the first record that cannot be trusted (when only a checkpoint range is known to be wrong,
 * the first index of that range).
 */
export class LedgerCorruptError extends WarrantError {
  readonly index: number;
  constructor(index: number, message: string, options?: { cause?: unknown }) {
    super('WARRANT_LEDGER_CORRUPT', `ledger corrupt at index ${index}: ${message}`, options);
    this.index = index;
  }
}

/** A batch does not continue the stored log, or a checkpoint contradicts the stored one of its size. */
export class LedgerConflictError extends WarrantError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('WARRANT_LEDGER_CONFLICT', message, options);
  }
}

/** The store failed to make a batch durable: its appends reject with this (the cause kept). */
export class LedgerWriteError extends WarrantError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('WARRANT_LEDGER_WRITE_FAILED', message, options);
  }
}

/** The ledger (or its store) is closed. */
export class LedgerClosedError extends WarrantError {
  constructor(message?: string) {
    super('WARRANT_LEDGER_CLOSED', message);
  }
}
