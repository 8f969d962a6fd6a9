/**
 * Phase 2 of `verifyExport`: line 1, the header — format and version, the log's origin, and the keys its
 * checkpoints are checked against (pinned keys, else the header keys that signed a trusted checkpoint,
 * else the header's own, which prove nothing by themselves).
 */
import { parseNoteVerifierKey, verifyCheckpoint } from '../../checkpoint.ts';
import { EXPORT_TYPE, EXPORT_VERSION } from '../export.ts';
import type { VerifyState } from './state.ts';
import { clean, show, signersOf } from './text.ts';

const HEADER_MEMBERS = ['type', 'version', 'origin', 'verifierKeys'];

/** Reads the header; `false` when reading cannot go on (the file is not an export this verifier reads). */
export function readHeader(state: VerifyState, obj: Record<string, unknown> | null): boolean {
  if (obj?.['type'] !== EXPORT_TYPE || obj === null) {
    state.malformed(
      1,
      `not a Warrant ledger export: line 1 must be the header {"type":"${EXPORT_TYPE}","version":1,…}`,
    );
    return false;
  }
  if (obj['version'] !== EXPORT_VERSION) {
    state.malformed(
      1,
      `export version ${show(obj['version'])} is not supported (this verifier reads version ${EXPORT_VERSION})`,
    );
    return false;
  }
  if (typeof obj['origin'] !== 'string' || obj['origin'].length === 0) {
    state.malformed(1, 'the header "origin" must be a non-empty string');
    return false;
  }
  const origin = obj['origin'];
  state.origin = origin;
  const listed = obj['verifierKeys'];
  if (!Array.isArray(listed) || listed.some((k) => typeof k !== 'string')) {
    state.malformed(1, 'the header "verifierKeys" must be an array of note verifier key strings');
    if (state.keysFrom === 'file') return false;
  } else if (state.keysFrom === 'file') {
    for (const [i, k] of (listed as string[]).entries()) {
      try {
        parseNoteVerifierKey(k);
        state.keys.push(k);
      } catch (error) {
        state.malformed(1, `header verifierKeys[${i}]: ${clean((error as Error).message)}`);
      }
    }
  }
  for (const k of Object.keys(obj))
    if (!HEADER_MEMBERS.includes(k)) state.malformed(1, `unexpected header member ${show(k)}`);
  if (state.keys.length === 0) {
    state.malformed(1, "no usable verifier key: the header lists none; pass the ledger's key with --key");
    return false;
  }
  if (state.keysFrom === 'file' && state.trusted.length > 0) {
    // The log's keys are those of the header that signed a checkpoint the verifier trusts.
    const mine = state.trusted.filter((t) => t.origin === origin);
    const vouched = state.keys.filter((k) => mine.some((t) => signs(k, t.note)));
    if (vouched.length > 0) {
      state.keys = vouched;
      state.keysFrom = 'trusted-checkpoint';
    } else if (mine.length > 0) {
      const t = mine.reduce((a, b) => (b.size > a.size ? b : a));
      state.tampered(
        1,
        `none of the verifier keys in the header signed the trusted checkpoint of size ${t.size} ` +
          `(signed by ${signersOf(t)}): this export is signed with another key (re-signed?)`,
      );
    }
  }
  state.headerOk = true;
  return !state.stopped;
}

/** Whether the verifier key `key` signed the note (a valid signature line by it). */
function signs(key: string, note: string): boolean {
  try {
    verifyCheckpoint(note, [key]);
    return true;
  } catch {
    return false;
  }
}
