/**
 * SQL both adapters run, written once. The dialects differ here only in how a positional parameter is
 * written, so each builder takes the adapter's `Param`.
 */
import type { SelectorKind } from './validate.ts';

/** The `n`-th (1-based) positional parameter: `?n` in SQLite, `$n` in PostgreSQL. */
export type Param = (n: number) => string;

/** `p(1), p(2), …`, one per column of `columns` (`a, b, c`): an INSERT's VALUES list. */
export function paramsFor(columns: string, p: Param): string {
  return columns
    .split(',')
    .map((_, i) => p(i + 1))
    .join(', ');
}

/** Selector → the tokens a revocation starts from (its value is parameter 1). */
export function revokeMatch(kind: SelectorKind, p: Param): string {
  switch (kind) {
    case 'hash':
      return `SELECT hash FROM tokens WHERE hash = ${p(1)}`;
    case 'txn':
      return `SELECT hash FROM tokens WHERE txn = ${p(1)}`;
    case 'agentId':
      return `SELECT hash FROM token_actors WHERE agent_id = ${p(1)}`;
    case 'sub':
      return `SELECT hash FROM tokens WHERE sub = ${p(1)}`;
  }
}

/**
 * The revocation cascade: revokes the tokens `match` selects and every descendant at any depth that is not
 * revoked yet, at time `p(2)` with reason `p(3)`, returning each with the status slot whose bit to set.
 */
export function revokeCascade(match: string, p: Param): string {
  return `
WITH RECURSIVE m(hash) AS (
  ${match}
  UNION
  SELECT t.hash FROM tokens t JOIN m ON t.parent_hash = m.hash
)
UPDATE tokens SET revoked_at = ${p(2)}, revoke_reason = ${p(3)}
WHERE revoked_at IS NULL AND hash IN (SELECT hash FROM m)
RETURNING hash, status_list, status_idx`;
}

/** Every descendant of token `p(1)` at any depth (not the token itself), by `iat` then hash. */
export function descendantsQuery(columns: string, p: Param): string {
  return `WITH RECURSIVE d(hash) AS (
  SELECT hash FROM tokens WHERE parent_hash = ${p(1)}
  UNION
  SELECT t.hash FROM tokens t JOIN d ON t.parent_hash = d.hash
)
SELECT ${columns} FROM tokens WHERE hash IN (SELECT hash FROM d) ORDER BY iat, hash`;
}
