/**
 * `GET /ui/api/records/{index}`: one ledger record — who authorised it, through which chain, under which
 * grant — with its canonical text and its RFC 9162 inclusion proof against the latest signed checkpoint
 * (checked here too), so the page can verify it again in the browser. A person sees only records made on
 * their behalf (404 otherwise, as for an index past the log).
 */
import { Buffer } from 'node:buffer';
import { isWarrantError } from '../../core/errors.ts';
import { whoAuthorised } from '../../ledger/audit/who.ts';
import { sendJson } from '../../sts/http/respond.ts';
import { notFound } from '../answers.ts';
import { ledgerVerifierKeys } from '../ledger-keys.ts';
import { maySee } from '../scope.ts';
import type { ApiOperation } from './types.ts';

export const record: ApiOperation = async ({ req, res, parts, session, ctx }) => {
  if (parts[0] !== 'records' || parts.length !== 2 || req.method !== 'GET') return false;
  const index = Number(parts[1]);
  if (!/^\d{1,15}$/.test(parts[1]!) || !Number.isSafeInteger(index)) throw notFound('no such record');
  const source = await ctx.ledger.source();
  const entry = source === null ? null : await source.getRecord(index);
  if (source === null || entry === null) throw notFound('no such record');
  const parsed = JSON.parse(entry.canonical) as Parameters<typeof maySee>[1];
  if (!maySee(session, parsed)) throw notFound('no such record');
  const latest = await source.latestCheckpoint();
  const verifierKeys = [
    ...ledgerVerifierKeys(ctx.config.dataDir, latest?.note),
    ...ctx.config.ledger.witnesses,
  ];
  try {
    const who = await whoAuthorised(source, index, {
      verifierKeys: verifierKeys.filter((k) => !ctx.config.ledger.witnesses.includes(k)),
    });
    sendJson(res, 200, {
      who,
      canonical: entry.canonical,
      leafHash: Buffer.from(entry.leafHash).toString('base64'),
      verifierKeys,
    });
  } catch (error) {
    if (isWarrantError(error) && error.code === 'WARRANT_AUDIT_NOT_FOUND') throw notFound('no such record');
    throw error;
  }
  return true;
};
