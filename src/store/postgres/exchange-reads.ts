import { one } from '../../sql/postgres.ts';
import type { Store } from '../ports.ts';
import { AGENTS, type Row } from '../rows.ts';
import { text } from '../validate.ts';
import type { PostgresContext } from './context.ts';
import { statement } from './context.ts';

/**
 * The calling agent and the subject warrant's revocation state in one round trip (Store.exchangeReads): the
 * same rows `agents.get` and `tokens.isRevoked` read, each LEFT JOINed to a one-row relation so a missing
 * agent or token is a NULL, never a missing row. On this two-core machine a PostgreSQL round trip costs the
 * STS ~100–250 µs of its own CPU (the driver's writev and result parsing) besides the wait (issue 13).
 */
const EXCHANGE_READS = statement(
  'exchange_reads',
  `SELECT ${AGENTS.columnsOf('a')}, t.hash AS token_hash, t.revoked_at AS token_revoked_at
   FROM (SELECT 1) AS one
   LEFT JOIN agents a ON a.id = $1
   LEFT JOIN tokens t ON t.hash = $2`,
);

export function postgresExchangeReads({ pool }: PostgresContext): NonNullable<Store['exchangeReads']> {
  return async (agentId, tokenHash) => {
    const row = (await one(
      pool,
      EXCHANGE_READS([text(agentId, 'agent id'), text(tokenHash, 'hash')]),
    )) as Row;
    return {
      agent: row['id'] === null ? null : AGENTS.fromRow(row),
      revoked: row['token_hash'] === null ? null : row['token_revoked_at'] !== null,
    };
  };
}
