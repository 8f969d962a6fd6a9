/**
 * `GET /ui/api/ledger`: the ledger's state — records, the latest signed checkpoint (verified here against
 * the ledger's key), who signed it (the log and any witnesses), and the verifier keys the page checks it
 * with. Every session may read it (a checkpoint names no one).
 */
import { Buffer } from 'node:buffer';
import { parseCheckpoint, verifyCheckpoint } from '../../ledger/checkpoint.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { ledgerVerifierKeys } from '../ledger-keys.ts';
import type { ApiOperation } from './types.ts';

export const ledger: ApiOperation = async ({ req, res, parts, ctx }) => {
  if (parts[0] !== 'ledger' || parts.length !== 1 || req.method !== 'GET') return false;
  const source = await ctx.ledger.source();
  if (source === null) {
    sendJson(res, 200, { records: 0, checkpoint: null, verifierKeys: [], witnesses: [] });
    return true;
  }
  const [records, latest] = await Promise.all([source.count(), source.latestCheckpoint()]);
  const logKeys = ledgerVerifierKeys(ctx.config.dataDir, latest?.note);
  const witnessKeys = ctx.config.ledger.witnesses;
  let verification: { status: 'verified' | 'unchecked' | 'failed'; detail: string } = {
    status: 'unchecked',
    detail: 'no checkpoint yet',
  };
  let signers: string[] = [];
  if (latest !== null) {
    const parsed = parseCheckpoint(latest.note);
    signers = [...new Set(parsed.signatures.map((s) => s.name))];
    if (logKeys.length === 0)
      verification = { status: 'unchecked', detail: 'the ledger key is not on this control plane' };
    else {
      try {
        const v = verifyCheckpoint(latest.note, [...logKeys, ...witnessKeys]);
        verification = { status: 'verified', detail: `signed by ${v.verifiedBy.length} known key(s)` };
      } catch (error) {
        verification = { status: 'failed', detail: (error as Error).message };
      }
    }
  }
  sendJson(res, 200, {
    records,
    checkpoint:
      latest === null
        ? null
        : {
            size: latest.size,
            root: Buffer.from(latest.root).toString('base64'),
            note: latest.note,
            time: latest.time,
          },
    signers,
    verifierKeys: logKeys,
    witnesses: witnessKeys,
    verification,
  });
  return true;
};
