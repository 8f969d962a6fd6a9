import type pg from 'pg';
import { all, one } from '../../sql/postgres.ts';
import { previousKeysAfterRotation } from '../agent-keys.ts';
import type { AgentStore } from '../ports.ts';
import { AGENTS, agentOrNotFound, agentPage, mapOrNull, newAgentValues } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { agentStatus, checkListQuery, checkNewAgent, checkRotation, patchValues, text } from '../validate.ts';
import { asConflict, type PostgresContext, param, statement } from './context.ts';

const AGENT_INSERT = statement(
  'agent_insert',
  `WITH a AS (
     INSERT INTO agents (${AGENTS.columns}) VALUES (${paramsFor(AGENTS.columns, param)})
     RETURNING ${AGENTS.columns}
   ), k AS (
     INSERT INTO agent_keys (jkt, agent_id, until) SELECT jkt, id, NULL FROM a
   )
   SELECT ${AGENTS.columns} FROM a`,
);
const AGENT_GET = statement('agent_get', `SELECT ${AGENTS.columns} FROM agents WHERE id = $1`);
const AGENT_GET_FOR_UPDATE = statement(
  'agent_get_for_update',
  `SELECT ${AGENTS.columns} FROM agents WHERE id = $1 FOR UPDATE`,
);
const AGENT_BY_JKT = statement(
  'agent_by_jkt',
  `SELECT ${AGENTS.columnsOf('a')} FROM agent_keys k JOIN agents a ON a.id = k.agent_id
   WHERE k.jkt = $1 AND (k.until IS NULL OR k.until > $2)`,
);
const AGENT_LIST = statement(
  'agent_list',
  `SELECT ${AGENTS.columns} FROM agents WHERE id > $1 ORDER BY id LIMIT $2`,
);
const AGENT_LIST_BY_STATUS = statement(
  'agent_list_by_status',
  `SELECT ${AGENTS.columns} FROM agents WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3`,
);
const AGENT_SET_STATUS = statement(
  'agent_set_status',
  `UPDATE agents SET status = $1, updated_at = $2 WHERE id = $3 RETURNING ${AGENTS.columns}`,
);
const AGENT_UPDATE = statement(
  'agent_update',
  `UPDATE agents SET name = COALESCE($1, name), owner = COALESCE($2, owner), tier = COALESCE($3, tier),
     trust_level = COALESCE($4, trust_level), allowed_audiences = COALESCE($5, allowed_audiences),
     max_depth = COALESCE($6, max_depth), client_ids = COALESCE($7, client_ids), updated_at = $8
   WHERE id = $9 RETURNING ${AGENTS.columns}`,
);
const AGENT_CLIENT_ID_INSERT = statement(
  'agent_client_id_insert',
  'INSERT INTO agent_client_ids (issuer, client_id, agent_id) VALUES ($1, $2, $3)',
);
const AGENT_CLIENT_IDS_DELETE = statement(
  'agent_client_ids_delete',
  'DELETE FROM agent_client_ids WHERE agent_id = $1',
);
const AGENT_BY_CLIENT_ID = statement(
  'agent_by_client_id',
  `SELECT ${AGENTS.columnsOf('a')} FROM agent_client_ids c JOIN agents a ON a.id = c.agent_id
   WHERE c.issuer = $1 AND c.client_id = $2`,
);
const AGENT_KEY_INSERT = statement(
  'agent_key_insert',
  'INSERT INTO agent_keys (jkt, agent_id, until) VALUES ($1, $2, NULL)',
);
const AGENT_KEY_END = statement('agent_key_end', 'UPDATE agent_keys SET until = $1 WHERE jkt = $2');
const AGENT_KEY_PRUNE = statement(
  'agent_key_prune',
  'DELETE FROM agent_keys WHERE agent_id = $1 AND until IS NOT NULL AND until <= $2',
);
const AGENT_SET_KEY = statement(
  'agent_set_key',
  `UPDATE agents SET public_jwk = $1, jkt = $2, previous_keys = $3, updated_at = $4 WHERE id = $5
   RETURNING ${AGENTS.columns}`,
);

/** Conflicts on create and update, named after the constraint that caught them. */
function agentConflict(error: unknown): unknown {
  return asConflict(error, (constraint) =>
    constraint === 'agents_pkey'
      ? 'agent id already exists'
      : constraint === 'agent_client_ids_pkey'
        ? 'client id already registered at that issuer'
        : 'key thumbprint already registered',
  );
}

/** Writes the agent's (issuer, client id) pairs inside the caller's transaction. */
async function indexClientIds(
  client: pg.PoolClient,
  id: string,
  clientIds: Record<string, string>,
): Promise<void> {
  await client.query(AGENT_CLIENT_IDS_DELETE([id]));
  for (const [issuer, clientId] of Object.entries(clientIds))
    await client.query(AGENT_CLIENT_ID_INSERT([issuer, clientId, id]));
}

export function postgresAgents({ pool, tx, now }: PostgresContext): AgentStore {
  return {
    async create(agent) {
      checkNewAgent(agent);
      const values = newAgentValues(agent, now());
      const clientIds = agent.clientIds ?? {};
      try {
        if (Object.keys(clientIds).length === 0)
          return AGENTS.fromRow((await one(pool, AGENT_INSERT(values)))!);
        return await tx(async (client) => {
          const row = await one(client, AGENT_INSERT(values));
          await indexClientIds(client, agent.id, clientIds);
          return AGENTS.fromRow(row!);
        });
      } catch (error) {
        throw agentConflict(error);
      }
    },

    async getByClientId(issuer, clientId) {
      const query = AGENT_BY_CLIENT_ID([text(issuer, 'issuer', 2048), text(clientId, 'client id', 512)]);
      return mapOrNull(await one(pool, query), AGENTS.fromRow);
    },

    async get(id) {
      return mapOrNull(await one(pool, AGENT_GET([text(id, 'agent id')])), AGENTS.fromRow);
    },

    async getByKeyThumbprint(jkt) {
      return mapOrNull(await one(pool, AGENT_BY_JKT([text(jkt, 'jkt'), now()])), AGENTS.fromRow);
    },

    async list(query) {
      checkListQuery(query);
      const after = query.after ?? '';
      const rows = await all(
        pool,
        query.status === undefined
          ? AGENT_LIST([after, query.limit + 1])
          : AGENT_LIST_BY_STATUS([query.status, after, query.limit + 1]),
      );
      return agentPage(rows, query.limit);
    },

    async setStatus(id, status) {
      text(id, 'agent id');
      agentStatus(status);
      return agentOrNotFound(await one(pool, AGENT_SET_STATUS([status, now(), id])), id);
    },

    async update(id, patch) {
      text(id, 'agent id');
      const values = patchValues(patch);
      if (patch.clientIds === undefined)
        return agentOrNotFound(await one(pool, AGENT_UPDATE([...values, now(), id])), id);
      const clientIds = patch.clientIds;
      try {
        return await tx(async (client) => {
          const updated = agentOrNotFound(await one(client, AGENT_UPDATE([...values, now(), id])), id);
          await indexClientIds(client, id, clientIds);
          return updated;
        });
      } catch (error) {
        throw agentConflict(error);
      }
    },

    async rotateKey(id, newJwk, newJkt, overlapUntil) {
      checkRotation(id, newJwk, newJkt, overlapUntil);
      const at = now();
      return tx(async (client) => {
        const current = agentOrNotFound(await one(client, AGENT_GET_FOR_UPDATE([id])), id);
        try {
          await client.query(AGENT_KEY_INSERT([newJkt, id]));
        } catch (error) {
          throw asConflict(error, 'key thumbprint already registered');
        }
        await client.query(AGENT_KEY_END([overlapUntil, current.jkt]));
        await client.query(AGENT_KEY_PRUNE([id, at]));
        const previous = previousKeysAfterRotation(current, at, overlapUntil);
        const updated = await one(
          client,
          AGENT_SET_KEY([JSON.stringify(newJwk), newJkt, JSON.stringify(previous), at, id]),
        );
        return AGENTS.fromRow(updated!);
      });
    },
  };
}
