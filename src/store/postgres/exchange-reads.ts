import { all, one } from '../../sql/postgres.ts';
import { turnBatch } from '../../sql/turn-batch.ts';
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

/** {@link EXCHANGE_READS} for several exchanges in one round trip: one row per pair, in the pairs' order. */
const EXCHANGE_READS_BATCH = statement(
  'exchange_reads_batch',
  `SELECT q.n, ${AGENTS.columnsOf('a')}, t.hash AS token_hash, t.revoked_at AS token_revoked_at
   FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS q(agent_id, token_hash, n)
   LEFT JOIN agents a ON a.id = q.agent_id
   LEFT JOIN tokens t ON t.hash = q.token_hash
   ORDER BY q.n`,
);

interface ReadPair {
  readonly agentId: string;
  readonly tokenHash: string;
}
type ExchangeReads = Awaited<ReturnType<NonNullable<Store['exchangeReads']>>>;

function readsOf(row: Row): ExchangeReads {
  return {
    agent: row['id'] === null ? null : AGENTS.fromRow(row),
    revoked: row['token_hash'] === null ? null : row['token_revoked_at'] !== null,
  };
}

export function postgresExchangeReads({ pool }: PostgresContext): NonNullable<Store['exchangeReads']> {
  const readOne = async ({ agentId, tokenHash }: ReadPair): Promise<ExchangeReads> =>
    readsOf((await one(pool, EXCHANGE_READS([agentId, tokenHash]))) as Row);
  const readMany = async (pairs: readonly ReadPair[]): Promise<ExchangeReads[]> => {
    const rows = await all(
      pool,
      EXCHANGE_READS_BATCH([pairs.map((p) => p.agentId), pairs.map((p) => p.tokenHash)]),
    );
    return rows.map(readsOf);
  };
  // Under load, the exchanges of one event-loop turn read in one statement (see turnBatch).
  const read = turnBatch(readOne, readMany);
  return async (agentId, tokenHash) =>
    read({ agentId: text(agentId, 'agent id'), tokenHash: text(tokenHash, 'hash') });
}
