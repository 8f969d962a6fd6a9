/** Phase 6 of `verifyExport`: the result, from the state the phases left. */
import { Buffer } from 'node:buffer';
import type { VerifyState } from './state.ts';
import type { ExportVerification } from './types.ts';

export function result(state: VerifyState): ExportVerification {
  const verified = state.checkpoints
    .filter((c) => c.signed && state.matchesTree(c))
    .sort((a, b) => a.size - b.size);
  const witnessed = state.checkpoints.filter((c) => c.witnessed && state.matchesTree(c));
  const top = verified.at(-1);
  const ok = state.problems.length === 0 && state.headerOk;
  return {
    ok,
    ...(state.origin === undefined ? {} : { origin: state.origin }),
    records: state.records,
    checkpoints: state.checkpointLines,
    verifiedSizes: [...new Set(verified.map((c) => c.size))],
    ...(top ? { size: top.size, root: Buffer.from(top.root).toString('base64') } : {}),
    keysFrom: state.keysFrom,
    keys: state.keys,
    anchored: ok && state.anchorGiven,
    anchoredBy: [...state.anchoredBy],
    trustedSizes: [...new Set(state.trustedSizes)].sort((a, b) => a - b),
    witnessedSizes: [...new Set(witnessed.map((c) => c.size))].sort((a, b) => a - b),
    ...(top ? { note: top.note } : {}),
    problems: state.problems,
    stopped: state.stopped,
  };
}
