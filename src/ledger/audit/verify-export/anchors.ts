/**
 * Phase 5 of `verifyExport`: the trust anchors — what vouches for the records beyond the file's own word
 * (DESIGN §8). The file alone proves only that it agrees with itself: whoever rewrites it can re-sign it
 * and list their own key in the header. The anchors are
 * - pinned log keys: the checkpoints they signed vouch for the records they cover;
 * - checkpoints the verifier trusts (saved earlier): the export must reach each one's size (else
 *   `WARRANT_AUDIT_EXPORT_ROLLED_BACK`) and be consistent with it, proven with an RFC 9162 consistency
 *   proof from it to the export's latest checkpoint (else `WARRANT_AUDIT_EXPORT_FORKED`);
 * - witness keys: a checkpoint co-signed by a trusted witness vouches for the records it covers (not for
 *   the log's key: a co-signature covers the checkpoint body only).
 * With none, or when the anchors given vouch for only part of the records: `WARRANT_AUDIT_NO_TRUST_ANCHOR`.
 */
import { Buffer } from 'node:buffer';
import { verifyConsistency } from '../../merkle.ts';
import type { VerifyState } from './state.ts';
import { show } from './text.ts';
import type { TrustAnchor } from './types.ts';

/** What to pass to anchor a verification, for the messages. */
const ANCHOR_OPTIONS =
  'Give one: --key <the ledger verifier key>, --trusted-checkpoint <a checkpoint saved earlier>, or --witness-key <a witness key>';

export function checkAnchors(state: VerifyState): void {
  const { tree, checkpoints, trusted, given, witnessKeys, keysFrom, origin, anchoredBy } = state;
  const noAnchor = (line: number, message: string) =>
    state.problem(line, 'WARRANT_AUDIT_NO_TRUST_ANCHOR', message);
  if (!state.anchorGiven) {
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
  const good = checkpoints.filter((c) => state.matchesTree(c));
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
      state.problem(
        0,
        'WARRANT_AUDIT_EXPORT_ROLLED_BACK',
        `the export ends at size ${Math.min(top, tree.size)}, before ${where}: the log was rolled back to an earlier size (or this export is older than the checkpoint you trust)`,
      );
      continue;
    }
    if (t.size === 0) {
      state.trustedSizes.push(0);
      continue;
    }
    const end = Math.max(t.size, latest);
    const proof = tree.consistencyProof(t.size, end);
    if (verifyConsistency(t.size, end, t.root, tree.root(end), proof)) {
      state.trustedSizes.push(t.size);
      vouch(t.size, 'trusted-checkpoint');
    } else
      state.problem(
        0,
        'WARRANT_AUDIT_EXPORT_FORKED',
        `the export is not consistent with ${where}: its records 0..${t.size - 1} have the root ${Buffer.from(tree.root(t.size)).toString('base64')}, ` +
          `so no consistency proof leads from the trusted checkpoint to the export's checkpoint of size ${end}: the log forked or was rewritten`,
      );
  }
  if (state.problems.length > 0) return;
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
      state.lineOf[reach] ?? 0,
      `records ${state.indexOf[reach]}..${tree.size - 1} are covered by no checkpoint a trust anchor vouches for ` +
        `(the anchors vouch for records 0..${reach - 1}${anchoredBy.has('witness') ? '; a witness co-signature vouches for the records its checkpoint covers, not for the log key' : ''}): pin the log key with --key to cover them`,
    );
}
