/**
 * `GET /ui/api/ledger/export`: the ledger as `warrant audit export` writes it (JSON Lines, every record up to
 * the latest checkpoint, the checkpoints, the verifier keys), as a download. Operators only: the whole log
 * names every person.
 */
import { exportJsonLines } from '../../ledger/audit/export.ts';
import { notFound } from '../answers.ts';
import { ledgerVerifierKeys } from '../ledger-keys.ts';
import { operatorOnly } from '../scope.ts';
import type { ApiOperation } from './types.ts';

export const ledgerExport: ApiOperation = async ({ req, res, parts, session, ctx }) => {
  if (parts[0] !== 'ledger' || parts[1] !== 'export' || parts.length !== 2 || req.method !== 'GET')
    return false;
  operatorOnly(session);
  const source = await ctx.ledger.source();
  const latest = await source?.latestCheckpoint();
  if (!source || !latest) throw notFound('the ledger has no signed checkpoint yet: nothing to export');
  const verifierKeys = [
    ...ledgerVerifierKeys(ctx.config.dataDir, latest.note),
    ...ctx.config.ledger.witnesses,
  ];
  res.writeHead(200, {
    'content-type': 'application/x-ndjson',
    'content-disposition': 'attachment; filename="ledger.jsonl"',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  await exportJsonLines(
    source,
    (text) =>
      new Promise<void>((resolve) => {
        if (res.write(text)) resolve();
        else res.once('drain', () => resolve());
      }),
    { verifierKeys },
  );
  res.end();
  return true;
};
