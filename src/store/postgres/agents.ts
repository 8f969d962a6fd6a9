import type pg from 'pg';
import { previousKeysAfterRotation } from '../agent-keys.ts';
import type {
  AgentListQuery,
  AgentPatch,
  AgentRecord,
  AgentStatus,
  AgentStore,
  JsonObject,
  NewAgent,
  Page,
} from '../ports.ts';
import {
  AGENT_COLUMNS,
  AGENT_COLUMNS_OF_A,
  agentFromRow,
  agentOrNotFound,
  agentPage,
  agentValues,
  mapOrNull,
} from '../rows.ts';
import { paramsFor } from '../sql.ts';
import {
  agentStatus,
  checkListQuery,
  checkNewAgent,
  integer,
  jsonObject,
  patchValues,
  text,
} from '../validate.ts';
import { all, asConflict, one, type PostgresContext, param, statement, type Tx } from './context.ts';

const AGENT_INSERT = statement(
  'agent_insert',
  `WITH a AS (
     INSERT INTO agents (${AGENT_COLUMNS}) VALUES (${paramsFor(AGENT_COLUMNS, param)})
     RETURNING ${AGENT_COLUMNS}
   ), k AS (
     INSERT INTO agent_keys (jkt, agent_id, until) SELECT jkt, id, NULL FROM a
   )
   SELECT ${AGENT_COLUMNS} FROM a`,
);
const AGENT_GET = statement('agent_get', `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`);
const AGENT_GET_FOR_UPDATE = statement(
  'agent_get_for_update',
  `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1 FOR UPDATE`,
);
const AGENT_BY_JKT = statement(
  'agent_by_jkt',
  `SELECT ${AGENT_COLUMNS_OF_A} FROM agent_keys k JOIN agents a ON a.id = k.agent_id
   WHERE k.jkt = $1 AND (k.until IS NULL OR k.until > $2)`,
);
const AGENT_LIST = statement(
  'agent_list',
  `SELECT ${AGENT_COLUMNS} FROM agents WHERE id > $1 ORDER BY id LIMIT $2`,
);
const AGENT_LIST_BY_STATUS = statement(
  'agent_list_by_status',
  `SELECT ${AGENT_COLUMNS} FROM agents WHERE status = $1 AND id > $2 ORDER BY id LIMIT $3`,
);
const AGENT_SET_STATUS = statement(
  'agent_set_status',
  `UPDATE agents SET status = $1, updated_at = $2 WHERE id = $3 RETURNING ${AGENT_COLUMNS}`,
);
const AGENT_UPDATE = statement(
  'agent_update',
  `UPDATE agents SET name = COALESCE($1, name), owner = COALESCE($2, owner), tier = COALESCE($3, tier),
     trust_level = COALESCE($4, trust_level), allowed_audiences = COALESCE($5, allowed_audiences),
     max_depth = COALESCE($6, max_depth), client_ids = COALESCE($7, client_ids), updated_at = $8
   WHERE id = $9 RETURNING ${AGENT_COLUMNS}`,
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
  `SELECT ${AGENT_COLUMNS_OF_A} FROM agent_client_ids c JOIN agents a ON a.id = c.agent_id
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
   RETURNING ${AGENT_COLUMNS}`,
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

export class PostgresAgents implements AgentStore {
  readonly #pool: pg.Pool;
  readonly #tx: Tx;
  readonly #now: () => number;

  constructor({ pool, tx, now }: PostgresContext) {
    this.#pool = pool;
    this.#tx = tx;
    this.#now = now;
  }

  async create(agent: NewAgent): Promise<AgentRecord> {
    checkNewAgent(agent);
    const values = agentValues(agent, this.#now());
    const clientIds = agent.clientIds ?? {};
    try {
      if (Object.keys(clientIds).length === 0)
        return agentFromRow((await one(this.#pool, AGENT_INSERT(values)))!);
      return await this.#tx(async (client) => {
        const row = await one(client, AGENT_INSERT(values));
        await indexClientIds(client, agent.id, clientIds);
        return agentFromRow(row!);
      });
    } catch (error) {
      throw agentConflict(error);
    }
  }

  async getByClientId(issuer: string, clientId: string): Promise<AgentRecord | null> {
    const query = AGENT_BY_CLIENT_ID([text(issuer, 'issuer', 2048), text(clientId, 'client id', 512)]);
    return mapOrNull(await one(this.#pool, query), agentFromRow);
  }

  async get(id: string): Promise<AgentRecord | null> {
    return mapOrNull(await one(this.#pool, AGENT_GET([text(id, 'agent id')])), agentFromRow);
  }

  async getByKeyThumbprint(jkt: string): Promise<AgentRecord | null> {
    return mapOrNull(await one(this.#pool, AGENT_BY_JKT([text(jkt, 'jkt'), this.#now()])), agentFromRow);
  }

  async list(query: AgentListQuery): Promise<Page<AgentRecord>> {
    checkListQuery(query);
    const after = query.after ?? '';
    const rows = await all(
      this.#pool,
      query.status === undefined
        ? AGENT_LIST([after, query.limit + 1])
        : AGENT_LIST_BY_STATUS([query.status, after, query.limit + 1]),
    );
    return agentPage(rows, query.limit);
  }

  async setStatus(id: string, status: AgentStatus): Promise<AgentRecord> {
    text(id, 'agent id');
    agentStatus(status);
    return agentOrNotFound(await one(this.#pool, AGENT_SET_STATUS([status, this.#now(), id])), id);
  }

  async update(id: string, patch: AgentPatch): Promise<AgentRecord> {
    text(id, 'agent id');
    const values = patchValues(patch);
    if (patch.clientIds === undefined)
      return agentOrNotFound(await one(this.#pool, AGENT_UPDATE([...values, this.#now(), id])), id);
    const clientIds = patch.clientIds;
    try {
      return await this.#tx(async (client) => {
        const updated = agentOrNotFound(await one(client, AGENT_UPDATE([...values, this.#now(), id])), id);
        await indexClientIds(client, id, clientIds);
        return updated;
      });
    } catch (error) {
      throw agentConflict(error);
    }
  }

  async rotateKey(
    id: string,
    newJwk: JsonObject,
    newJkt: string,
    overlapUntil: number,
  ): Promise<AgentRecord> {
    text(id, 'agent id');
    jsonObject(newJwk, 'newJwk');
    text(newJkt, 'newJkt');
    integer(overlapUntil, 'overlapUntil');
    const now = this.#now();
    return this.#tx(async (client) => {
      const current = agentOrNotFound(await one(client, AGENT_GET_FOR_UPDATE([id])), id);
      try {
        await client.query(AGENT_KEY_INSERT([newJkt, id]));
      } catch (error) {
        throw asConflict(error, 'key thumbprint already registered');
      }
      await client.query(AGENT_KEY_END([overlapUntil, current.jkt]));
      await client.query(AGENT_KEY_PRUNE([id, now]));
      const previous = previousKeysAfterRotation(current, now, overlapUntil);
      const updated = await one(
        client,
        AGENT_SET_KEY([JSON.stringify(newJwk), newJkt, JSON.stringify(previous), now, id]),
      );
      return agentFromRow(updated!);
    });
  }
}
