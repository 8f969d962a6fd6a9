/**
 * `GET /ui/api/decisions?person=&agent=&action=&outcome=&txn=`: the most recent decisions this session may
 * see (an operator: all; a person: those on their behalf), newest first, at most 200.
 */
import { sendJson } from '../../sts/http/respond.ts';
import { maySee } from '../scope.ts';
import type { ApiOperation } from './types.ts';
import { decisionView, filterOf, matches } from './views.ts';

export const decisions: ApiOperation = async ({ req, res, url, parts, session, ctx }) => {
  if (parts[0] !== 'decisions' || parts.length !== 1 || req.method !== 'GET') return false;
  const filter = filterOf(url);
  const records = await ctx.feed.recent();
  const items = records
    .filter((r) => maySee(session, r.record))
    .map(decisionView)
    .filter((v) => matches(v, filter))
    .reverse()
    .slice(0, 200);
  sendJson(res, 200, { items });
  return true;
};
