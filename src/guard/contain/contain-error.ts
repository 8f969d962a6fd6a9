import { WarrantError } from '../../core/errors.ts';

/** A containment that cannot start: an unknown target, or the ledger / guard store unavailable. */
export class ContainError extends WarrantError {}
