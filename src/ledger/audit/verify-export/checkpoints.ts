/**
 * Phase 4 of `verifyExport`: the checkpoints. Each checkpoint line is a C2SP signed note for the header's
 * origin, signed by a trusted key (or co-signed by a trusted witness) — checked as it is read. Once every
 * line is read, each signed checkpoint's root must be the rebuilt root at its size; successive ones must
 * be consistent (RFC 9162 consistency proofs); and every record must be covered by a signed checkpoint.
 */
import { Buffer } from 'node:buffer';
import { parseCheckpoint, verifyCheckpoint } from '../../checkpoint.ts';
import { verifyConsistency } from '../../merkle.ts';
import type { CheckpointSeen, VerifyState } from './state.ts';
import { clean, kindOf, show, signersOf } from './text.ts';

const CHECKPOINT_MEMBERS = ['type', 'note'];

/** Reads one checkpoint line: its note parsed and its signatures checked (after the header). */
export function readCheckpointLine(state: VerifyState, n: number, obj: Record<string, unknown>): void {
  state.checkpointLines++;
  const note = obj['note'];
  const unknown = Object.keys(obj).filter((k) => !CHECKPOINT_MEMBERS.includes(k));
  if (unknown.length > 0) state.malformed(n, `unexpected member ${show(unknown[0])} in a checkpoint line`);
  if (typeof note !== 'string') state.malformed(n, `"note" must be a string (got ${kindOf(note)})`);
  else {
    const seen = readCheckpoint(state, note, n);
    if (seen) state.checkpoints.push(seen);
  }
}

/** Parses and verifies one checkpoint note; problems are reported, `null` when it cannot be read. */
function readCheckpoint(state: VerifyState, note: string, n: number): CheckpointSeen | null {
  const origin = state.origin!;
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(note);
  } catch (error) {
    state.malformed(n, clean((error as Error).message));
    return null;
  }
  let signed = true;
  if (parsed.origin !== origin) {
    state.tampered(
      n,
      `the checkpoint of size ${parsed.size} is for the log ${show(parsed.origin)}, not ${show(origin)} (the header's origin)`,
    );
    signed = false;
  }
  try {
    verifyCheckpoint(note, state.keys);
  } catch (error) {
    signed = false;
    const message = (error as Error).message;
    if (/no signature by a known key/.test(message)) {
      state.tampered(
        n,
        `the checkpoint of size ${parsed.size} is not signed by a trusted key (signed by ${signersOf(parsed)})`,
      );
    } else if (/does not verify/.test(message)) {
      state.tampered(
        n,
        `the checkpoint of size ${parsed.size}: ${clean(message.replace(/^checkpoint: /, ''))}: it was altered after signing`,
      );
    } else state.tampered(n, `the checkpoint of size ${parsed.size} does not verify: ${clean(message)}`);
  }
  let witnessed = false;
  if (state.witnessKeys.length > 0 && parsed.origin === origin) {
    try {
      verifyCheckpoint(note, state.witnessKeys);
      witnessed = true;
    } catch (error) {
      const message = (error as Error).message;
      if (/does not verify/.test(message))
        state.tampered(
          n,
          `the checkpoint of size ${parsed.size}: the witness ${clean(message.replace(/^checkpoint: the /, ''))}: it was altered after co-signing`,
        );
    }
  }
  return { line: n, size: parsed.size, root: parsed.root, note, signed, witnessed };
}

/** The signed checkpoints against the rebuilt tree: order, forks, roots, consistency, coverage. */
export function checkCheckpoints(state: VerifyState): void {
  const { tree, checkpoints, lineOf, indexOf } = state;
  const matching: CheckpointSeen[] = [];
  const failing: CheckpointSeen[] = [];
  let previous: CheckpointSeen | undefined;
  const bySize = new Map<number, CheckpointSeen>();
  for (const cp of checkpoints) {
    if (previous && cp.size < previous.size)
      state.tampered(
        cp.line,
        `the checkpoint of size ${cp.size} comes after the one of size ${previous.size} (line ${previous.line}): checkpoints are out of order`,
      );
    previous = cp;
    if (!cp.signed) continue;
    const twin = bySize.get(cp.size);
    if (twin && !Buffer.from(twin.root).equals(Buffer.from(cp.root)))
      state.tampered(
        cp.line,
        `two signed checkpoints of size ${cp.size} (lines ${twin.line} and ${cp.line}) have different roots: the log forked`,
      );
    bySize.set(cp.size, cp);
    if (cp.size > tree.size) {
      state.tampered(
        cp.line,
        `the checkpoint of size ${cp.size} covers more records than the file holds (${tree.size}): records were removed`,
      );
      failing.push(cp);
    } else if (Buffer.from(tree.root(cp.size)).equals(Buffer.from(cp.root))) matching.push(cp);
    else failing.push(cp);
  }
  if (state.checkpointLines === 0)
    state.tampered(state.lastLine, 'the file has no checkpoint: nothing in it is signed (truncated?)');
  else if (checkpoints.every((c) => !c.signed))
    state.tampered(0, 'no checkpoint verifies: nothing in this file is proven');

  const rootMismatch = failing.filter((c) => c.size <= tree.size);
  if (rootMismatch.length > 0) {
    const first = rootMismatch.reduce((a, b) => (b.size < a.size ? b : a));
    const good = matching.reduce((m, c) => (c.size < first.size ? Math.max(m, c.size) : m), 0);
    const last = first.size - 1;
    state.tampered(
      lineOf[good] ?? first.line,
      `record ${indexOf[good]} is the first record covered only by checkpoints that fail: ` +
        `a record among ${good === last ? `record ${indexOf[good]}` : `records ${indexOf[good]}..${indexOf[last]} (lines ${lineOf[good]}..${lineOf[last]})`} ` +
        `was changed, or records were inserted, removed or reordered there`,
    );
    const others = rootMismatch.filter((c) => c !== first);
    state.tampered(
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
      state.tampered(
        a.line,
        `the checkpoint of size ${a.size} is not consistent with the checkpoint of size ${b.size} (line ${b.line}): the log was rewritten between them`,
      );
  }

  // Every record covered by a verified checkpoint.
  const covered = [...matching, ...rootMismatch].reduce((m, c) => Math.max(m, c.size), 0);
  if (checkpoints.some((c) => c.signed) && tree.size > covered) {
    state.tampered(
      lineOf[covered]!,
      `record ${indexOf[covered]} is not covered by any signed checkpoint (the largest covers ${covered} records)` +
        `: ${tree.size - covered === 1 ? 'it was' : `it and the ${tree.size - covered - 1} after it were`} added after signing`,
    );
  }
}
