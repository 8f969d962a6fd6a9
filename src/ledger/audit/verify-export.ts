/**
 * `verify`: checks a JSON Lines ledger export (see `export.ts`) fully offline — nothing but the file and a
 * trust anchor (DESIGN §8).
 *
 * - every record line is exactly `{"type":"record","index":i,"record":<canonical JSON>}` and its record
 *   bytes are byte-identical to `canonicalJson(record)` (RFC 8785); indices run 0..n-1 with no gap,
 *   repeat or reordering; the record's own `index` member agrees;
 * - the RFC 9162 tree is rebuilt from the leaf hashes of those bytes, in file order;
 * - every checkpoint is a C2SP signed note for the header's origin, signed by a trusted key, whose root is
 *   the rebuilt root at its size; successive checkpoints are consistent (RFC 9162 consistency proofs);
 * - every record is covered by a verified checkpoint;
 * - and a trust anchor vouches for every record. The file alone proves only that it agrees with itself:
 *   whoever rewrites it can re-sign it and list their own key in the header. The anchors are
 *   - pinned log keys (`verifierKeys`): the checkpoints must be signed by one of them;
 *   - checkpoints the verifier trusts (`trustedCheckpoints`, saved earlier): the export must reach each
 *     one's size (else `WARRANT_AUDIT_EXPORT_ROLLED_BACK`) and be consistent with it, proven with an
 *     RFC 9162 consistency proof from it to the export's latest checkpoint (else
 *     `WARRANT_AUDIT_EXPORT_FORKED`); without pinned keys, the header keys that signed a trusted
 *     checkpoint are the log's keys (a re-signed export lists none that did);
 *   - witness keys (`witnessKeys`): a checkpoint co-signed by a trusted witness vouches for the records
 *     it covers (not for the log's key: a co-signature covers the checkpoint body only).
 *   With none, or when the anchors given vouch for only part of the records, verification fails with
 *   `WARRANT_AUDIT_NO_TRUST_ANCHOR`.
 *
 * It never throws on the file's content: every failure is a problem naming the line and what is wrong,
 * and reading stops after `maxProblems`. Lines over 1 MiB are refused without being buffered.
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  type ParsedCheckpoint,
  parseCheckpoint,
  parseNoteVerifierKey,
  verifyCheckpoint,
} from '../checkpoint.ts';
import { canonicalJson } from '../jcs.ts';
import { MerkleTree, verifyConsistency } from '../merkle.ts';
import { EXPORT_TYPE, EXPORT_VERSION } from './export.ts';

/** The longest line accepted: 1 MiB. */
export const MAX_LINE_BYTES = 1 << 20;
const DEFAULT_MAX_PROBLEMS = 50;

export type ExportProblemCode =
  | 'WARRANT_AUDIT_EXPORT_MALFORMED'
  | 'WARRANT_AUDIT_EXPORT_TAMPERED'
  | 'WARRANT_AUDIT_NO_TRUST_ANCHOR'
  | 'WARRANT_AUDIT_EXPORT_ROLLED_BACK'
  | 'WARRANT_AUDIT_EXPORT_FORKED';

/** What vouched for the export: pinned keys, a trusted checkpoint, a witness's co-signature. */
export type TrustAnchor = 'key' | 'trusted-checkpoint' | 'witness';

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
  readonly keysFrom: 'given' | 'trusted-checkpoint' | 'file';
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

interface Line {
  readonly n: number;
  /** `null` when the line is longer than the limit. */
  readonly bytes: Buffer | null;
  readonly length: number;
  readonly terminated: boolean;
}

/** Splits a byte stream into lines without ever buffering more than `max` bytes of one line. */
async function* splitLines(input: AsyncIterable<Uint8Array | string>, max: number): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let length = 0;
  let over = false;
  let n = 0;
  for await (const chunk of input) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(10, pos);
      const end = nl < 0 ? buf.length : nl;
      if (!over) {
        if (length + (end - pos) > max) {
          over = true;
          parts = [];
        } else if (end > pos) parts.push(buf.subarray(pos, end));
      }
      length += end - pos;
      if (nl < 0) break;
      n++;
      yield {
        n,
        bytes: over ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts),
        length,
        terminated: true,
      };
      parts = [];
      length = 0;
      over = false;
      pos = nl + 1;
    }
  }
  if (length > 0) {
    n++;
    yield { n, bytes: over ? null : Buffer.concat(parts), length, terminated: false };
  }
}

interface CheckpointSeen {
  readonly line: number;
  readonly size: number;
  readonly root: Uint8Array;
  readonly note: string;
  /** The signature verified under a trusted key and the origin is the header's. */
  readonly signed: boolean;
  /** Co-signed by a trusted witness key (and the origin is the header's). */
  readonly witnessed: boolean;
}

const RECORD_PREFIX = '{"type":"record","index":';
const EMPTY_LEAF = new Uint8Array(32);
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Verifies an export read from `input` (bytes or text chunks). Never throws on the content. */
export async function verifyExport(
  input: AsyncIterable<Uint8Array | string>,
  options: VerifyExportOptions = {},
): Promise<ExportVerification> {
  const maxProblems = options.maxProblems ?? DEFAULT_MAX_PROBLEMS;
  const given = options.verifierKeys ?? [];
  const witnessKeys = options.witnessKeys ?? [];
  // Caller mistakes: these throw WARRANT_LEDGER_NOTE_KEY_INVALID / WARRANT_LEDGER_CHECKPOINT_INVALID.
  for (const k of [...given, ...witnessKeys]) parseNoteVerifierKey(k);
  const trusted = (options.trustedCheckpoints ?? []).map((note) => ({ note, ...parseCheckpoint(note) }));
  const anchorGiven = given.length > 0 || witnessKeys.length > 0 || trusted.length > 0;
  const problems: ExportProblem[] = [];
  let stopped = false;
  const problem = (line: number, code: ExportProblemCode, message: string): void => {
    problems.push({ line, code, message: line > 0 ? `line ${line}: ${message}` : message });
    if (problems.length >= maxProblems) stopped = true;
  };
  const malformed = (line: number, message: string) =>
    problem(line, 'WARRANT_AUDIT_EXPORT_MALFORMED', message);
  const tampered = (line: number, message: string) => problem(line, 'WARRANT_AUDIT_EXPORT_TAMPERED', message);

  let origin: string | undefined;
  let keys: string[] = [...given];
  let keysFrom: 'given' | 'trusted-checkpoint' | 'file' = given.length > 0 ? 'given' : 'file';
  const tree = new MerkleTree();
  /** Per tree position (file order): its line and the index it claims. */
  const lineOf: number[] = [];
  const indexOf: number[] = [];
  let expected = 0;
  let records = 0;
  const checkpoints: CheckpointSeen[] = [];
  let checkpointLines = 0;
  let lastLine = 0;
  let headerOk = false;

  const addLeaf = (leaf: Uint8Array, line: number, index: number): void => {
    tree.append(leaf);
    lineOf.push(line);
    indexOf.push(index);
  };

  try {
    for await (const line of splitLines(input, MAX_LINE_BYTES)) {
      lastLine = line.n;
      const n = line.n;
      const cut = line.terminated ? '' : ' (the file ends in the middle of this line: truncated?)';
      if (line.bytes === null) {
        malformed(
          n,
          `the line is ${line.length} bytes, longer than the ${MAX_LINE_BYTES}-byte limit: not a ledger export line`,
        );
        if (n === 1) break;
        if (checkpointLines === 0) {
          addLeaf(EMPTY_LEAF, n, expected);
          expected++;
        }
        if (stopped) break;
        continue;
      }
      let text: string;
      try {
        text = decoder.decode(line.bytes);
      } catch {
        malformed(n, `not UTF-8 text (binary data?)${cut}`);
        if (n === 1 || stopped) break;
        if (checkpointLines === 0) {
          addLeaf(EMPTY_LEAF, n, expected);
          expected++;
        }
        continue;
      }
      // Record lines as the exporter writes them take the fast path: only the record itself is parsed.
      const fast = n > 1 ? fastRecord(text) : null;
      let value: unknown;
      try {
        value = fast ? { type: 'record', index: fast.index, record: fast.record } : JSON.parse(text);
      } catch (error) {
        malformed(
          n,
          text.trim() === '' ? `an empty line${cut}` : `not JSON: ${clean((error as Error).message)}${cut}`,
        );
        if (n === 1 || stopped) break;
        if (checkpointLines === 0) {
          addLeaf(EMPTY_LEAF, n, expected);
          expected++;
        }
        continue;
      }
      if (!line.terminated) malformed(n, 'the last line does not end with a newline (truncated file?)');
      const obj = isObject(value) ? value : null;
      const type = obj?.['type'];

      if (n === 1) {
        if (type !== EXPORT_TYPE || obj === null) {
          malformed(
            1,
            `not a Warrant ledger export: line 1 must be the header {"type":"${EXPORT_TYPE}","version":1,…}`,
          );
          break;
        }
        if (obj['version'] !== EXPORT_VERSION) {
          malformed(
            1,
            `export version ${show(obj['version'])} is not supported (this verifier reads version ${EXPORT_VERSION})`,
          );
          break;
        }
        if (typeof obj['origin'] !== 'string' || obj['origin'].length === 0) {
          malformed(1, 'the header "origin" must be a non-empty string');
          break;
        }
        origin = obj['origin'];
        const listed = obj['verifierKeys'];
        if (!Array.isArray(listed) || listed.some((k) => typeof k !== 'string')) {
          malformed(1, 'the header "verifierKeys" must be an array of note verifier key strings');
          if (keysFrom === 'file') break;
        } else if (keysFrom === 'file') {
          for (const [i, k] of (listed as string[]).entries()) {
            try {
              parseNoteVerifierKey(k);
              keys.push(k);
            } catch (error) {
              malformed(1, `header verifierKeys[${i}]: ${clean((error as Error).message)}`);
            }
          }
        }
        for (const k of Object.keys(obj))
          if (!['type', 'version', 'origin', 'verifierKeys'].includes(k))
            malformed(1, `unexpected header member ${show(k)}`);
        if (keys.length === 0) {
          malformed(1, "no usable verifier key: the header lists none; pass the ledger's key with --key");
          break;
        }
        if (keysFrom === 'file' && trusted.length > 0) {
          // The log's keys are those of the header that signed a checkpoint the verifier trusts.
          const mine = trusted.filter((t) => t.origin === origin);
          const vouched = keys.filter((k) => mine.some((t) => signs(k, t.note)));
          if (vouched.length > 0) {
            keys = vouched;
            keysFrom = 'trusted-checkpoint';
          } else if (mine.length > 0) {
            const t = mine.reduce((a, b) => (b.size > a.size ? b : a));
            tampered(
              1,
              `none of the verifier keys in the header signed the trusted checkpoint of size ${t.size} ` +
                `(signed by ${signersOf(t)}): this export is signed with another key (re-signed?)`,
            );
          }
        }
        headerOk = true;
        if (stopped) break;
        continue;
      }

      if (type === 'record') {
        records++;
        if (checkpointLines > 0)
          tampered(
            n,
            'a record after the checkpoints (an export lists every record, then the checkpoints): appended?',
          );
        const index = obj!['index'];
        const rec = obj!['record'];
        const unknown = Object.keys(obj!).filter((k) => !['type', 'index', 'record'].includes(k));
        if (!Number.isSafeInteger(index) || (index as number) < 0) {
          malformed(n, `"index" must be a non-negative integer (got ${show(index)})`);
          addLeaf(EMPTY_LEAF, n, expected);
          expected++;
        } else if (!isObject(rec)) {
          malformed(n, `"record" must be a JSON object (got ${kindOf(rec)})`);
          addLeaf(EMPTY_LEAF, n, index as number);
          expected = Math.max(expected, (index as number) + 1);
        } else {
          const i = index as number;
          if (unknown.length > 0) malformed(n, `unexpected member ${show(unknown[0])} in a record line`);
          let leaf: Uint8Array = EMPTY_LEAF;
          if (fast && isCanonical(rec, fast.raw)) {
            leaf = leafOf(line.bytes.subarray(fast.start, line.bytes.length - 1));
          } else {
            let canonical: string | null = null;
            try {
              canonical = canonicalJson(rec);
            } catch (error) {
              malformed(
                n,
                `record ${i} is not representable as canonical JSON: ${clean((error as Error).message)}`,
              );
            }
            if (canonical !== null) {
              malformed(
                n,
                text.endsWith('\r')
                  ? 'the line ends with a carriage return: exports use \\n line endings'
                  : `record ${i} is not written exactly as hashed: the line must be ${RECORD_PREFIX}${i},"record":<the record's RFC 8785 canonical JSON>}`,
              );
              leaf = leafOf(Buffer.from(canonical, 'utf8'));
            }
          }
          if (rec['index'] !== i)
            tampered(n, `the record's own "index" is ${show(rec['index'])} but the line says ${i}`);
          if (typeof rec['time'] !== 'string' || !Number.isFinite(Date.parse(rec['time'])))
            malformed(n, `record ${i}: "time" must be an ISO 8601 date-time`);
          // The sequence 0, 1, 2, …: name the line where it breaks.
          const before = i < expected ? indexOf.indexOf(i) : -1;
          if (i === expected) expected++;
          else if (before >= 0)
            tampered(
              n,
              `record ${i} appears again (first on line ${lineOf[before]}): one of the two lines was inserted or copied`,
            );
          else if (i > expected) {
            tampered(
              n,
              `record ${i} where record ${expected} was expected: ${i - expected === 1 ? `record ${expected} is` : `records ${expected}..${i - 1} are`} missing (removed), or records were reordered`,
            );
            expected = i + 1;
          } else tampered(n, `record ${i} where record ${expected} was expected: records are out of order`);
          addLeaf(leaf, n, i);
        }
      } else if (type === 'checkpoint') {
        checkpointLines++;
        const note = obj!['note'];
        const unknown = Object.keys(obj!).filter((k) => !['type', 'note'].includes(k));
        if (unknown.length > 0) malformed(n, `unexpected member ${show(unknown[0])} in a checkpoint line`);
        if (typeof note !== 'string') malformed(n, `"note" must be a string (got ${kindOf(note)})`);
        else {
          const seen = readCheckpoint(note, n, origin!, keys, witnessKeys, tampered, malformed);
          if (seen) checkpoints.push(seen);
        }
      } else if (type === EXPORT_TYPE) {
        malformed(n, 'a second header: only line 1 is a header (two exports joined?)');
      } else {
        malformed(n, `unknown line type ${show(type)}: expected "record" or "checkpoint"`);
        if (checkpointLines === 0) {
          addLeaf(EMPTY_LEAF, n, expected);
          expected++;
        }
      }
      if (stopped) break;
    }
  } catch (error) {
    malformed(0, `cannot read the export: ${clean(describeIoError(error))}`);
  }

  const matchesTree = (c: CheckpointSeen): boolean =>
    c.size <= tree.size && Buffer.from(tree.root(c.size)).equals(Buffer.from(c.root));
  const anchoredBy = new Set<TrustAnchor>();
  const trustedSizes: number[] = [];
  const finish = (): ExportVerification => {
    const verified = checkpoints.filter((c) => c.signed && matchesTree(c)).sort((a, b) => a.size - b.size);
    const witnessed = checkpoints.filter((c) => c.witnessed && matchesTree(c));
    const top = verified.at(-1);
    const ok = problems.length === 0 && headerOk;
    return {
      ok,
      ...(origin === undefined ? {} : { origin }),
      records,
      checkpoints: checkpointLines,
      verifiedSizes: [...new Set(verified.map((c) => c.size))],
      ...(top ? { size: top.size, root: Buffer.from(top.root).toString('base64') } : {}),
      keysFrom,
      keys,
      anchored: ok && anchorGiven,
      anchoredBy: [...anchoredBy],
      trustedSizes: [...new Set(trustedSizes)].sort((a, b) => a - b),
      witnessedSizes: [...new Set(witnessed.map((c) => c.size))].sort((a, b) => a - b),
      ...(top ? { note: top.note } : {}),
      problems,
      stopped,
    };
  };

  if (lastLine === 0) malformed(1, 'the file is empty: line 1 must be the export header');
  if (!headerOk || stopped) {
    return finish();
  }

  // Checkpoints against the rebuilt tree.
  const matching: CheckpointSeen[] = [];
  const failing: CheckpointSeen[] = [];
  let previous: CheckpointSeen | undefined;
  const bySize = new Map<number, CheckpointSeen>();
  for (const cp of checkpoints) {
    if (previous && cp.size < previous.size)
      tampered(
        cp.line,
        `the checkpoint of size ${cp.size} comes after the one of size ${previous.size} (line ${previous.line}): checkpoints are out of order`,
      );
    previous = cp;
    if (!cp.signed) continue;
    const twin = bySize.get(cp.size);
    if (twin && !Buffer.from(twin.root).equals(Buffer.from(cp.root)))
      tampered(
        cp.line,
        `two signed checkpoints of size ${cp.size} (lines ${twin.line} and ${cp.line}) have different roots: the log forked`,
      );
    bySize.set(cp.size, cp);
    if (cp.size > tree.size) {
      tampered(
        cp.line,
        `the checkpoint of size ${cp.size} covers more records than the file holds (${tree.size}): records were removed`,
      );
      failing.push(cp);
    } else if (Buffer.from(tree.root(cp.size)).equals(Buffer.from(cp.root))) matching.push(cp);
    else failing.push(cp);
  }
  if (checkpointLines === 0)
    tampered(lastLine, 'the file has no checkpoint: nothing in it is signed (truncated?)');
  else if (checkpoints.every((c) => !c.signed))
    tampered(0, 'no checkpoint verifies: nothing in this file is proven');

  const rootMismatch = failing.filter((c) => c.size <= tree.size);
  if (rootMismatch.length > 0) {
    const first = rootMismatch.reduce((a, b) => (b.size < a.size ? b : a));
    const good = matching.reduce((m, c) => (c.size < first.size ? Math.max(m, c.size) : m), 0);
    const last = first.size - 1;
    tampered(
      lineOf[good] ?? first.line,
      `record ${indexOf[good]} is the first record covered only by checkpoints that fail: ` +
        `a record among ${good === last ? `record ${indexOf[good]}` : `records ${indexOf[good]}..${indexOf[last]} (lines ${lineOf[good]}..${lineOf[last]})`} ` +
        `was changed, or records were inserted, removed or reordered there`,
    );
    const others = rootMismatch.filter((c) => c !== first);
    tampered(
      first.line,
      `the records do not match checkpoint ${first.size}: the root of records 0..${first.size - 1} in this file differs from the signed root` +
        (others.length > 0
          ? `; so do the checkpoints of size ${others.map((c) => `${c.size} (line ${c.line})`).join(', ')}`
          : ''),
    );
  }

  // Consistency between successive signed checkpoints (RFC 9162 §2.1.4), with proofs from the rebuilt tree.
  const signed = [...matching, ...rootMismatch].sort((a, b) => a.size - b.size);
  for (let i = 1; i < signed.length; i++) {
    const a = signed[i - 1]!;
    const b = signed[i]!;
    if (a.size === 0 || a.size === b.size) continue;
    const proof = tree.consistencyProof(a.size, b.size);
    if (!verifyConsistency(a.size, b.size, a.root, b.root, proof) && matching.includes(b))
      tampered(
        a.line,
        `the checkpoint of size ${a.size} is not consistent with the checkpoint of size ${b.size} (line ${b.line}): the log was rewritten between them`,
      );
  }

  // Every record covered by a verified checkpoint.
  const covered = [...matching, ...rootMismatch].reduce((m, c) => Math.max(m, c.size), 0);
  if (checkpoints.some((c) => c.signed) && tree.size > covered) {
    tampered(
      lineOf[covered]!,
      `record ${indexOf[covered]} is not covered by any signed checkpoint (the largest covers ${covered} records)` +
        `: ${tree.size - covered === 1 ? 'it was' : `it and the ${tree.size - covered - 1} after it were`} added after signing`,
    );
  }
  checkAnchors();
  return finish();

  /** The trust anchors: what vouches for the records beyond the file's own word (DESIGN §8). */
  function checkAnchors(): void {
    const noAnchor = (line: number, message: string) =>
      problem(line, 'WARRANT_AUDIT_NO_TRUST_ANCHOR', message);
    if (!anchorGiven) {
      noAnchor(
        0,
        `no trust anchor: the checkpoints were checked only against the key(s) listed in the file itself, which whoever rewrites the file can replace with their own. ${ANCHOR_OPTIONS}`,
      );
      return;
    }
    /** How many records, from 0, an anchor vouches for. */
    let reach = 0;
    const vouch = (size: number, by: TrustAnchor) => {
      reach = Math.max(reach, size);
      anchoredBy.add(by);
    };
    const good = checkpoints.filter(matchesTree);
    if (keysFrom !== 'file')
      for (const c of good) if (c.signed) vouch(c.size, keysFrom === 'given' ? 'key' : 'trusted-checkpoint');
    for (const c of good) if (c.witnessed) vouch(c.size, 'witness');

    // Consistency from each trusted checkpoint to the export's latest checkpoint (RFC 9162 §2.1.4).
    const top = checkpoints.filter((c) => c.signed || c.witnessed).reduce((m, c) => Math.max(m, c.size), -1);
    const latest = good.filter((c) => c.signed || c.witnessed).reduce((m, c) => Math.max(m, c.size), 0);
    for (const t of trusted) {
      const where = `the trusted checkpoint of size ${t.size} (root ${Buffer.from(t.root).toString('base64')})`;
      if (t.origin !== origin) {
        noAnchor(
          0,
          `${where} is of the log ${show(t.origin)}, not of ${show(origin)}: it vouches for nothing here`,
        );
        continue;
      }
      if (top < 0) continue; // nothing in the file is signed: already a problem
      if (top < t.size || tree.size < t.size) {
        problem(
          0,
          'WARRANT_AUDIT_EXPORT_ROLLED_BACK',
          `the export ends at size ${Math.min(top, tree.size)}, before ${where}: the log was rolled back to an earlier size (or this export is older than the checkpoint you trust)`,
        );
        continue;
      }
      if (t.size === 0) {
        trustedSizes.push(0);
        continue;
      }
      const end = Math.max(t.size, latest);
      const proof = tree.consistencyProof(t.size, end);
      if (verifyConsistency(t.size, end, t.root, tree.root(end), proof)) {
        trustedSizes.push(t.size);
        vouch(t.size, 'trusted-checkpoint');
      } else
        problem(
          0,
          'WARRANT_AUDIT_EXPORT_FORKED',
          `the export is not consistent with ${where}: its records 0..${t.size - 1} have the root ${Buffer.from(tree.root(t.size)).toString('base64')}, ` +
            `so no consistency proof leads from the trusted checkpoint to the export's checkpoint of size ${end}: the log forked or was rewritten`,
        );
    }
    if (problems.length > 0) return;
    if (anchoredBy.size === 0) {
      const what = [
        ...(given.length > 0 ? ['the pinned key(s) signed no checkpoint that matches the records'] : []),
        ...(witnessKeys.length > 0
          ? [`no checkpoint is co-signed by a trusted witness key (${witnessKeys.join(', ')})`]
          : []),
        ...(trusted.length > 0 ? ['no trusted checkpoint applies'] : []),
      ];
      noAnchor(0, `no trust anchor vouches for this export: ${what.join('; ')}. ${ANCHOR_OPTIONS}`);
    } else if (reach < tree.size)
      noAnchor(
        lineOf[reach] ?? 0,
        `records ${indexOf[reach]}..${tree.size - 1} are covered by no checkpoint a trust anchor vouches for ` +
          `(the anchors vouch for records 0..${reach - 1}${anchoredBy.has('witness') ? '; a witness co-signature vouches for the records its checkpoint covers, not for the log key' : ''}): pin the log key with --key to cover them`,
      );
  }
}

/** What to pass to anchor a verification, for the messages. */
const ANCHOR_OPTIONS =
  'Give one: --key <the ledger verifier key>, --trusted-checkpoint <a checkpoint saved earlier>, or --witness-key <a witness key>';

/** Whether the verifier key `key` signed the note (a valid signature line by it). */
function signs(key: string, note: string): boolean {
  try {
    verifyCheckpoint(note, [key]);
    return true;
  } catch {
    return false;
  }
}

function signersOf(checkpoint: ParsedCheckpoint): string {
  return checkpoint.signatures.map((s) => `${s.name}+${s.keyHash}`).join(', ') || 'nobody';
}

/** Parses and verifies one checkpoint note; problems are reported, `null` when it cannot be read. */
function readCheckpoint(
  note: string,
  n: number,
  origin: string,
  keys: readonly string[],
  witnessKeys: readonly string[],
  tampered: (line: number, message: string) => void,
  malformed: (line: number, message: string) => void,
): CheckpointSeen | null {
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(note);
  } catch (error) {
    malformed(n, clean((error as Error).message));
    return null;
  }
  let signed = true;
  if (parsed.origin !== origin) {
    tampered(
      n,
      `the checkpoint of size ${parsed.size} is for the log ${show(parsed.origin)}, not ${show(origin)} (the header's origin)`,
    );
    signed = false;
  }
  try {
    verifyCheckpoint(note, keys);
  } catch (error) {
    signed = false;
    const message = (error as Error).message;
    if (/no signature by a known key/.test(message)) {
      tampered(
        n,
        `the checkpoint of size ${parsed.size} is not signed by a trusted key (signed by ${signersOf(parsed)})`,
      );
    } else if (/does not verify/.test(message)) {
      tampered(
        n,
        `the checkpoint of size ${parsed.size}: ${clean(message.replace(/^checkpoint: /, ''))}: it was altered after signing`,
      );
    } else tampered(n, `the checkpoint of size ${parsed.size} does not verify: ${clean(message)}`);
  }
  let witnessed = false;
  if (witnessKeys.length > 0 && parsed.origin === origin) {
    try {
      verifyCheckpoint(note, witnessKeys);
      witnessed = true;
    } catch (error) {
      const message = (error as Error).message;
      if (/does not verify/.test(message))
        tampered(
          n,
          `the checkpoint of size ${parsed.size}: the witness ${clean(message.replace(/^checkpoint: the /, ''))}: it was altered after co-signing`,
        );
    }
  }
  return { line: n, size: parsed.size, root: parsed.root, note, signed, witnessed };
}

const RECORD_MEMBER = ',"record":';

/**
 * A record line in exactly the exporter's shape, `{"type":"record","index":<digits>,"record":<raw>}`, with
 * `raw` a JSON object: its index, the parsed record, its text and where it starts (characters and bytes
 * agree: the prefix is ASCII). `null` for anything else, which then takes the general path.
 */
function fastRecord(
  text: string,
): { index: number; record: Record<string, unknown>; raw: string; start: number } | null {
  if (!text.startsWith(RECORD_PREFIX) || !text.endsWith('}')) return null;
  let q = RECORD_PREFIX.length;
  while (q < text.length && text.charCodeAt(q) >= 0x30 && text.charCodeAt(q) <= 0x39) q++;
  const digits = text.slice(RECORD_PREFIX.length, q);
  if (digits.length === 0 || digits.length > 15 || (digits.length > 1 && digits.startsWith('0'))) return null;
  if (!text.startsWith(RECORD_MEMBER, q)) return null;
  const start = q + RECORD_MEMBER.length;
  const raw = text.slice(start, -1);
  if (!raw.startsWith('{')) return null;
  let record: unknown;
  try {
    record = JSON.parse(raw);
  } catch {
    return null;
  }
  return isObject(record) ? { index: Number(digits), record, raw, start } : null;
}

/**
 * Whether `raw` is exactly `canonicalJson(value)` (RFC 8785), where `value = JSON.parse(raw)`. Fast path:
 * `JSON.stringify` writes strings and numbers as JCS does and keeps the parsed member order, so equal
 * text with members sorted at every level is canonical. Otherwise (integer-like member names, which
 * JavaScript reorders) it compares with `canonicalJson` itself.
 */
function isCanonical(value: unknown, raw: string): boolean {
  try {
    if (JSON.stringify(value) === raw && sorted(value)) return true;
    return canonicalJson(value) === raw;
  } catch {
    return false;
  }
}

/** Members sorted (UTF-16 code units) at every level, and every string well-formed (I-JSON). */
function sorted(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed();
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const v of value) if (!sorted(v)) return false;
    return true;
  }
  let previous: string | null = null;
  for (const key in value) {
    if ((previous !== null && !(previous < key)) || !key.isWellFormed()) return false;
    previous = key;
    if (!sorted((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

let scratch = Buffer.alloc(64 * 1024);

/** RFC 9162 leaf hash SHA-256(0x00 || bytes), without a copy per record beyond one scratch buffer. */
function leafOf(bytes: Uint8Array): Uint8Array {
  if (bytes.length + 1 > scratch.length)
    scratch = Buffer.alloc(Math.max(bytes.length + 1, scratch.length * 2));
  scratch[0] = 0;
  scratch.set(bytes, 1);
  return hash('sha256', scratch.subarray(0, bytes.length + 1), 'buffer');
}

/** Verifies an export file by path (streamed: 1 MiB reads). */
export function verifyExportFile(
  path: string,
  options: VerifyExportOptions = {},
): Promise<ExportVerification> {
  return verifyExport(createReadStream(path, { highWaterMark: 1 << 20 }), options);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** Keeps a message printable: no control characters, at most 200 characters. */
function clean(message: string): string {
  let flat = '';
  for (const ch of message) {
    const c = ch.codePointAt(0)!;
    flat += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? ' ' : ch;
  }
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function describeIoError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code}: ${message}` : message;
}
