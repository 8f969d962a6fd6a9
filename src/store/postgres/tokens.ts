import { all, one, pgCode } from '../../sql/postgres.ts';
import { turnBatch } from '../../sql/turn-batch.ts';
import type { IssuedToken, TokenStore } from '../ports.ts';
import { mapOrNull, type Row, revokedFromRow, TOKENS } from '../rows.ts';
import { descendantsQuery, revokeMatch } from '../sql.ts';
import { anyText, checkSelector, checkToken, integer, type SelectorKind, text } from '../validate.ts';
import { asConflict, type PostgresContext, param, statement } from './context.ts';
import { postgresStatusBits } from './status-lists.ts';

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock detected
const REVOKE_ATTEMPTS = 5;

/**
 * The `s` step of the record statements: sets the status bit of every token of `t` stored revoked (an
 * inherited revocation), creating or widening its list's bitmap.
 */
const SET_STATUS_BITS = `s AS (
     INSERT INTO status_lists AS l (list_id, next_idx, version, bits)
     SELECT status_list, status_idx + 1, 1, set_bit(decode(repeat('00', status_idx / 8 + 1), 'hex'), status_idx, 1)
     FROM t WHERE revoked_at IS NOT NULL AND status_list IS NOT NULL
     ON CONFLICT (list_id) DO UPDATE SET
       bits = set_bit(
         CASE WHEN length(l.bits) > (EXCLUDED.next_idx - 1) / 8 THEN l.bits
           ELSE l.bits || decode(repeat('00', ((EXCLUDED.next_idx - 1) / 8 + 1 - length(l.bits))::int), 'hex') END,
         EXCLUDED.next_idx - 1, 1),
       next_idx = GREATEST(l.next_idx, EXCLUDED.next_idx),
       version = l.version + 1
   )`;

/**
 * Records a token in one autocommit statement. A child share-locks its parent row, so a concurrent
 * revocation either has committed (and the child inherits it here) or waits for this insert (and its
 * next round finds the child). A token stored revoked gets its status bit set by the same statement
 * (`set_bit` numbers bits LSB first within each byte, as the status list does).
 */
const TOKEN_RECORD = statement(
  'token_record',
  `WITH p AS (
     SELECT revoked_at, revoke_reason FROM tokens WHERE hash = $4 FOR SHARE
   ), t AS (
     INSERT INTO tokens (${TOKENS.columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
       COALESCE($16::bigint, (SELECT revoked_at FROM p)),
       CASE WHEN $16::bigint IS NULL THEN (SELECT revoke_reason FROM p) ELSE $17::text END)
     RETURNING hash, revoked_at, revoke_reason, status_list, status_idx
   ), a AS (
     INSERT INTO token_actors (agent_id, hash) SELECT x, t.hash FROM t, unnest($18::text[]) AS x
     ON CONFLICT DO NOTHING
   ), ${SET_STATUS_BITS}
   SELECT revoked_at, revoke_reason FROM t`,
);
/**
 * {@link TOKEN_RECORD} for several tokens in one statement (one round trip, one commit): the columns as
 * parallel arrays, the actor rows as (agent, hash) pairs. Each row inherits its parent's revocation as the
 * single form does. Two tokens stored revoked in the same status list would update that list's row twice,
 * which PostgreSQL refuses: the batch then fails whole and `turnBatch` records each token on its own.
 * The batch share-locks the parents of all its tokens, where the single form locks one. Waiting for those
 * locks could deadlock with a revocation descending through several of them (the cycle broken only after
 * `deadlock_timeout`, a second by default, delaying the revocation), so the batch never waits (`NOWAIT`): a
 * parent locked by a revocation in progress fails the batch at once, and its tokens are recorded one at a
 * time, each waiting for its own parent as before. Share locks of other batches do not conflict.
 */
const TOKEN_COLUMN_TYPES: Readonly<Record<string, string>> = {
  hash: 'text',
  jti: 'text',
  kind: 'text',
  parent_hash: 'text',
  root_hash: 'text',
  txn: 'text',
  sub: 'text',
  actors: 'text',
  audience: 'text',
  grants_json: 'text',
  policy_version: 'text',
  status_list: 'text',
  status_idx: 'int',
  iat: 'bigint',
  exp: 'bigint',
  revoked_at: 'bigint',
  revoke_reason: 'text',
};
const TOKEN_COLUMNS = TOKENS.columns.split(', ');
if (TOKEN_COLUMNS.join() !== Object.keys(TOKEN_COLUMN_TYPES).join())
  throw new Error('TOKEN_COLUMN_TYPES does not list the tokens columns in table order');
/** The batch's own revocation columns are combined with the parent's; every other one is copied. */
const INHERITED = new Set(['revoked_at', 'revoke_reason']);
const TOKEN_RECORD_BATCH = statement(
  'token_record_batch',
  `WITH x AS (
     SELECT * FROM unnest(${TOKEN_COLUMNS.map((c, i) => `$${i + 1}::${TOKEN_COLUMN_TYPES[c]}[]`).join(', ')})
       AS x(${TOKENS.columns})
   ), p AS (
     SELECT hash, revoked_at, revoke_reason FROM tokens WHERE hash IN (SELECT parent_hash FROM x) FOR SHARE NOWAIT
   ), t AS (
     INSERT INTO tokens (${TOKENS.columns})
     SELECT ${TOKEN_COLUMNS.filter((c) => !INHERITED.has(c))
       .map((c) => `x.${c}`)
       .join(', ')},
       COALESCE(x.revoked_at, p.revoked_at),
       CASE WHEN x.revoked_at IS NULL THEN p.revoke_reason ELSE x.revoke_reason END
     FROM x LEFT JOIN p ON p.hash = x.parent_hash
     RETURNING hash, revoked_at, revoke_reason, status_list, status_idx
   ), a AS (
     INSERT INTO token_actors (agent_id, hash)
     SELECT u.agent_id, u.hash FROM unnest($${TOKEN_COLUMNS.length + 1}::text[], $${TOKEN_COLUMNS.length + 2}::text[]) AS u(agent_id, hash)
     ON CONFLICT DO NOTHING
   ), ${SET_STATUS_BITS}
   SELECT hash, revoked_at, revoke_reason FROM t`,
);
const TOKEN_GET = statement('token_get', `SELECT ${TOKENS.columns} FROM tokens WHERE hash = $1`);
const TOKEN_GET_BY_JTI = statement('token_get_by_jti', `SELECT ${TOKENS.columns} FROM tokens WHERE jti = $1`);
const TOKEN_CHILDREN = statement(
  'token_children',
  `SELECT ${TOKENS.columns} FROM tokens WHERE parent_hash = $1 ORDER BY iat, hash`,
);
const TOKEN_DESCENDANTS = statement('token_descendants', descendantsQuery(TOKENS.columns, param));
const TOKEN_IS_REVOKED = statement('token_is_revoked', 'SELECT revoked_at FROM tokens WHERE hash = $1');
const TOKEN_BY_TXN = statement(
  'token_by_txn',
  `SELECT ${TOKENS.columns} FROM tokens WHERE txn = $1 ORDER BY iat, hash`,
);
const TOKEN_LIVE = statement(
  'token_live',
  `SELECT ${TOKENS.columns} FROM tokens WHERE exp > $1 AND revoked_at IS NULL ORDER BY iat, hash`,
);

/**
 * Revocation runs level by level on PostgreSQL: the matched tokens first, then the live children of the
 * tokens the previous statement revoked, until a statement revokes nothing (at most the chain depth plus
 * one catch-up round). Each statement is a plain index lookup whose plan does not depend on table
 * statistics. The recursive form (still what SQLite runs, see revokeCascade) misplanned here: on a fresh,
 * unanalysed table it nested-looped sequential scans (110 ms for 1,001 tokens), and on an analysed one its
 * estimate ran to millions of rows and JIT-compiled for hundreds of ms (issue 13).
 *
 * Concurrency: a child's insert share-locks its parent row. A parent this transaction revoked stays
 * row-locked until commit, so a child recorded after that waits and inherits the revocation; a child
 * committed before is seen by the next level's statement (each statement takes a new snapshot under READ
 * COMMITTED). Tokens already revoked are not descended through: their descendants were revoked with them
 * or inherited it when recorded.
 */
const revokeLevel = (where: string) =>
  `UPDATE tokens SET revoked_at = $2, revoke_reason = $3
   WHERE revoked_at IS NULL AND ${where}
   RETURNING hash, status_list, status_idx`;
const REVOKE: Readonly<Record<SelectorKind, ReturnType<typeof statement>>> = {
  hash: statement('revoke_hash', revokeLevel('hash = $1')),
  txn: statement('revoke_txn', revokeLevel('txn = $1')),
  agentId: statement('revoke_agent', revokeLevel(`hash IN (${revokeMatch('agentId', param)})`)),
  sub: statement('revoke_sub', revokeLevel('sub = $1')),
};
/** The live children of the tokens the previous level revoked. */
const REVOKE_BELOW = statement('revoke_below', revokeLevel('parent_hash = ANY($1::text[])'));

/** The token as stored: the input with the revocation the statement read back (inherited or its own). */
function storedAs(token: IssuedToken, row: Row): IssuedToken {
  return {
    ...token,
    actors: [...token.actors],
    revokedAt: row['revoked_at'] === null ? null : Number(row['revoked_at']),
    revokeReason: row['revoke_reason'] as string | null,
  };
}

export function postgresTokens({ pool, tx }: PostgresContext): TokenStore {
  const recordOne = async (token: IssuedToken): Promise<IssuedToken> => {
    const values = [...TOKENS.values(token), [...new Set(token.actors)]];
    try {
      return storedAs(token, (await one(pool, TOKEN_RECORD(values)))!);
    } catch (error) {
      throw asConflict(error, `token ${token.hash} (or its jti) already recorded`);
    }
  };
  const recordMany = async (tokens: readonly IssuedToken[]): Promise<IssuedToken[]> => {
    const columns = TOKEN_COLUMNS.map(() => [] as unknown[]);
    const actorIds: string[] = [];
    const actorHashes: string[] = [];
    for (const token of tokens) {
      const values = TOKENS.values(token);
      for (let i = 0; i < values.length; i++) columns[i]!.push(values[i]);
      for (const actor of new Set(token.actors)) {
        actorIds.push(actor);
        actorHashes.push(token.hash);
      }
    }
    const rows = await all(pool, TOKEN_RECORD_BATCH([...columns, actorIds, actorHashes]));
    const byHash = new Map(rows.map((row) => [row['hash'] as string, row]));
    return tokens.map((token) => {
      const row = byHash.get(token.hash);
      if (row === undefined) throw new Error(`the batch did not record token ${token.hash}`);
      return storedAs(token, row);
    });
  };
  // Under load, the tokens of one event-loop turn go in one statement (see turnBatch).
  const record = turnBatch(recordOne, recordMany);
  return {
    async record(token) {
      checkToken(token);
      return record(token);
    },

    async get(hash) {
      return mapOrNull(await one(pool, TOKEN_GET([text(hash, 'hash')])), TOKENS.fromRow);
    },

    async getByJti(jti) {
      return mapOrNull(await one(pool, TOKEN_GET_BY_JTI([text(jti, 'jti')])), TOKENS.fromRow);
    },

    async children(hash) {
      return (await all(pool, TOKEN_CHILDREN([text(hash, 'hash')]))).map(TOKENS.fromRow);
    },

    async descendants(hash) {
      return (await all(pool, TOKEN_DESCENDANTS([text(hash, 'hash')]))).map(TOKENS.fromRow);
    },

    /**
     * Level by level (see REVOKE above) until a level revokes nothing. Deadlocks with a concurrent
     * revocation of an overlapping set are retried.
     */
    async revoke(selector, reason, at) {
      const { kind, value } = checkSelector(selector);
      anyText(reason, 'reason');
      integer(at, 'at');
      for (let attempt = 1; ; attempt++) {
        try {
          return await tx(async (client) => {
            let round = (await all(client, REVOKE[kind]([value, at, reason]))).map(revokedFromRow);
            const revoked = [...round];
            while (round.length > 0) {
              const below = REVOKE_BELOW([round.map((t) => t.hash), at, reason]);
              round = (await all(client, below)).map(revokedFromRow);
              revoked.push(...round);
            }
            await postgresStatusBits.setRevoked(client, revoked);
            return revoked;
          });
        } catch (error) {
          if (attempt >= REVOKE_ATTEMPTS || !RETRYABLE.has(pgCode(error) ?? '')) throw error;
        }
      }
    },

    async isRevoked(hash) {
      const row = await one(pool, TOKEN_IS_REVOKED([text(hash, 'hash')]));
      return row === undefined ? null : row['revoked_at'] !== null;
    },

    async listByTxn(txn) {
      return (await all(pool, TOKEN_BY_TXN([text(txn, 'txn')]))).map(TOKENS.fromRow);
    },

    async listLive(now) {
      return (await all(pool, TOKEN_LIVE([integer(now, 'now')]))).map(TOKENS.fromRow);
    },
  };
}
