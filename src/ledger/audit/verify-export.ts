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
import { createReadStream } from 'node:fs';
import { checkAnchors } from './verify-export/anchors.ts';
import { checkCheckpoints } from './verify-export/checkpoints.ts';
import { readExport } from './verify-export/read.ts';
import { result } from './verify-export/result.ts';
import { VerifyState } from './verify-export/state.ts';
import type { ExportVerification, VerifyExportOptions } from './verify-export/types.ts';

export { MAX_LINE_BYTES } from './verify-export/lines.ts';
export type {
  ExportProblem,
  ExportProblemCode,
  ExportVerification,
  TrustAnchor,
  VerifyExportOptions,
} from './verify-export/types.ts';

/**
 * Verifies an export read from `input` (bytes or text chunks). Never throws on the content. The phases,
 * each in `verify-export/`, share one `VerifyState`: read the lines (`read.ts`: the header, `header.ts`;
 * the records into the tree, `records.ts`; the checkpoint notes, `checkpoints.ts`), then check the
 * checkpoints against the tree (`checkpoints.ts`), then the trust anchors (`anchors.ts`), then the result.
 */
export async function verifyExport(
  input: AsyncIterable<Uint8Array | string>,
  options: VerifyExportOptions = {},
): Promise<ExportVerification> {
  const state = new VerifyState(options);
  await readExport(input, state);
  if (!state.headerOk || state.stopped) return result(state);
  checkCheckpoints(state);
  checkAnchors(state);
  return result(state);
}

/** Verifies an export file by path (streamed: 1 MiB reads). */
export function verifyExportFile(
  path: string,
  options: VerifyExportOptions = {},
): Promise<ExportVerification> {
  return verifyExport(createReadStream(path, { highWaterMark: 1 << 20 }), options);
}
