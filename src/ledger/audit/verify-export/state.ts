/**
 * The one state the phases of `verifyExport` share: the anchors given, the problems found, what the
 * header said, the tree rebuilt from the records, the checkpoints read, and what the anchors vouched for.
 * Each phase reads what the earlier ones left and adds its own part.
 */
import { Buffer } from 'node:buffer';
import { type ParsedCheckpoint, parseCheckpoint, parseNoteVerifierKey } from '../../checkpoint.ts';
import { MerkleTree } from '../../merkle.ts';
import type {
  ExportProblem,
  ExportProblemCode,
  KeysFrom,
  TrustAnchor,
  VerifyExportOptions,
} from './types.ts';

const DEFAULT_MAX_PROBLEMS = 50;
/** The leaf standing for a record line that could not be read, so the numbering after it holds. */
export const EMPTY_LEAF = new Uint8Array(32);

/** A checkpoint line as read: its body, and whether a trusted key (or witness) signed it. */
export interface CheckpointSeen {
  readonly line: number;
  readonly size: number;
  readonly root: Uint8Array;
  readonly note: string;
  /** The signature verified under a trusted key and the origin is the header's. */
  readonly signed: boolean;
  /** Co-signed by a trusted witness key (and the origin is the header's). */
  readonly witnessed: boolean;
}

/** A checkpoint the verifier trusts (`--trusted-checkpoint`), parsed. */
export type TrustedCheckpoint = ParsedCheckpoint & { readonly note: string };

export class VerifyState {
  // The anchors given.
  /** Pinned log keys. */
  readonly given: readonly string[];
  readonly witnessKeys: readonly string[];
  readonly trusted: readonly TrustedCheckpoint[];
  readonly anchorGiven: boolean;
  readonly #maxProblems: number;

  // Problems, in the order found.
  readonly problems: ExportProblem[] = [];
  /** `maxProblems` were found: reading stops. */
  stopped = false;

  // The header (line 1).
  origin: string | undefined = undefined;
  /** The keys checkpoint signatures are checked against, and where they came from. */
  keys: string[];
  keysFrom: KeysFrom;
  headerOk = false;
  lastLine = 0;

  // The records, rebuilt into the tree in file order.
  readonly tree = new MerkleTree();
  /** Per tree position (file order): its line and the index it claims. */
  readonly lineOf: number[] = [];
  readonly indexOf: number[] = [];
  /** The index the next record line should carry. */
  expected = 0;
  records = 0;

  // The checkpoints, in file order.
  readonly checkpoints: CheckpointSeen[] = [];
  checkpointLines = 0;

  // What the trust anchors vouched for.
  readonly anchoredBy = new Set<TrustAnchor>();
  readonly trustedSizes: number[] = [];

  /** Checks the options: a malformed key or checkpoint is a caller mistake and throws. */
  constructor(options: VerifyExportOptions) {
    this.#maxProblems = options.maxProblems ?? DEFAULT_MAX_PROBLEMS;
    this.given = options.verifierKeys ?? [];
    this.witnessKeys = options.witnessKeys ?? [];
    // Caller mistakes: these throw WARRANT_LEDGER_NOTE_KEY_INVALID / WARRANT_LEDGER_CHECKPOINT_INVALID.
    for (const k of [...this.given, ...this.witnessKeys]) parseNoteVerifierKey(k);
    this.trusted = (options.trustedCheckpoints ?? []).map((note) => ({ note, ...parseCheckpoint(note) }));
    this.anchorGiven = this.given.length > 0 || this.witnessKeys.length > 0 || this.trusted.length > 0;
    this.keys = [...this.given];
    this.keysFrom = this.given.length > 0 ? 'given' : 'file';
  }

  problem(line: number, code: ExportProblemCode, message: string): void {
    this.problems.push({ line, code, message: line > 0 ? `line ${line}: ${message}` : message });
    if (this.problems.length >= this.#maxProblems) this.stopped = true;
  }

  malformed(line: number, message: string): void {
    this.problem(line, 'WARRANT_AUDIT_EXPORT_MALFORMED', message);
  }

  tampered(line: number, message: string): void {
    this.problem(line, 'WARRANT_AUDIT_EXPORT_TAMPERED', message);
  }

  /** Appends the leaf of the record on `line` claiming `index`. */
  addLeaf(leaf: Uint8Array, line: number, index: number): void {
    this.tree.append(leaf);
    this.lineOf.push(line);
    this.indexOf.push(index);
  }

  /** A line that could not be read, before the checkpoints, stands for the record expected there. */
  unreadRecord(line: number): void {
    if (this.checkpointLines > 0) return;
    this.addLeaf(EMPTY_LEAF, line, this.expected);
    this.expected++;
  }

  /** The checkpoint's root is the root of the rebuilt tree at its size. */
  matchesTree(c: CheckpointSeen): boolean {
    return c.size <= this.tree.size && Buffer.from(this.tree.root(c.size)).equals(Buffer.from(c.root));
  }
}
