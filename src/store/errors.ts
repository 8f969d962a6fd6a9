import { WarrantError } from '../core/errors.ts';

/** A record with the same identifier already exists (agent id, key thumbprint, token hash or jti, kid). */
export class StoreConflictError extends WarrantError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('WARRANT_STORE_CONFLICT', message, options);
  }
}

/** A mutation named a record that does not exist. */
export class StoreNotFoundError extends WarrantError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('WARRANT_STORE_NOT_FOUND', message, options);
  }
}

/** The database carries migrations this code does not know: it was written by a newer Warrant. */
export class StoreSchemaError extends WarrantError {
  constructor(message?: string, options?: { cause?: unknown }) {
    super('WARRANT_STORE_SCHEMA_UNSUPPORTED', message, options);
  }
}
