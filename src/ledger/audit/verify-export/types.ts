/** The public shapes of `verifyExport` (re-exported by `../verify-export.ts`). */

export type ExportProblemCode =
  | 'WARRANT_AUDIT_EXPORT_MALFORMED'
  | 'WARRANT_AUDIT_EXPORT_TAMPERED'
  | 'WARRANT_AUDIT_NO_TRUST_ANCHOR'
  | 'WARRANT_AUDIT_EXPORT_ROLLED_BACK'
  | 'WARRANT_AUDIT_EXPORT_FORKED';

/** What vouched for the export: pinned keys, a trusted checkpoint, a witness's co-signature. */
export type TrustAnchor = 'key' | 'trusted-checkpoint' | 'witness';

/** Where the keys the checkpoint signatures were checked against came from. */
export type KeysFrom = 'given' | 'trusted-checkpoint' | 'file';

export interface ExportProblem {
  /** The 1-based line the problem is on (0: the file as a whole). */
  readonly line: number;
  readonly code: ExportProblemCode;
  /** Starts with `line N: `. */
  readonly message: string;
}

export interface ExportVerification {
  readonly ok: boolean;
  readonly origin?: string;
  /** Record lines read. */
  readonly records: number;
  /** Checkpoint lines read. */
  readonly checkpoints: number;
  /** Sizes of the checkpoints that verified (signature and root), ascending. */
  readonly verifiedSizes: number[];
  /** The largest verified checkpoint: its size and root (base64). */
  readonly size?: number;
  readonly root?: string;
  /**
   * The keys the checkpoint signatures were checked against, and where they came from: pinned (given),
   * the header keys that signed a trusted checkpoint (trusted-checkpoint), or the header alone (file:
   * they prove nothing by themselves).
   */
  readonly keysFrom: KeysFrom;
  readonly keys: string[];
  /** Every record is vouched for by a trust anchor (and nothing else is wrong: then `ok`). */
  readonly anchored: boolean;
  /** The anchors that vouched for (part of) the export. */
  readonly anchoredBy: TrustAnchor[];
  /** Sizes of the trusted checkpoints the export was proven consistent with. */
  readonly trustedSizes: number[];
  /** Sizes of the checkpoints co-signed by a trusted witness and matching the records. */
  readonly witnessedSizes: number[];
  /** The note of the latest checkpoint that verified (as in the file), to save as a trusted checkpoint. */
  readonly note?: string;
  readonly problems: ExportProblem[];
  /** Reading stopped after `maxProblems` problems. */
  readonly stopped: boolean;
}

export interface VerifyExportOptions {
  /**
   * Pinned note verifier keys of the log (a trust anchor). Without any, the header keys that signed a
   * trusted checkpoint are used, else the header's keys (which prove nothing by themselves).
   */
  readonly verifierKeys?: readonly string[];
  /** Checkpoint notes (C2SP signed notes) the verifier trusts, saved earlier (a trust anchor). */
  readonly trustedCheckpoints?: readonly string[];
  /** Note verifier keys of witnesses the verifier trusts: a checkpoint they co-signed is anchored. */
  readonly witnessKeys?: readonly string[];
  /** Stop after this many problems (default 50). */
  readonly maxProblems?: number;
}
