import type { StatementSync } from 'node:sqlite';
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
  type Row,
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
import { asConflict, param, type SqliteContext } from './context.ts';

export class SqliteAgents implements AgentStore {
  readonly #tx: SqliteContext['tx'];
  readonly #now: () => number;
  readonly #insert: StatementSync;
  readonly #insertKeyStatement: StatementSync;
  readonly #get: StatementSync;
  readonly #byJkt: StatementSync;
  readonly #list: StatementSync;
  readonly #listByStatus: StatementSync;
  readonly #setStatus: StatementSync;
  readonly #update: StatementSync;
  readonly #endKey: StatementSync;
  readonly #pruneKeys: StatementSync;
  readonly #setKey: StatementSync;
  readonly #insertClientId: StatementSync;
  readonly #deleteClientIds: StatementSync;
  readonly #byClientId: StatementSync;

  constructor({ prepare: s, tx, now }: SqliteContext) {
    this.#tx = tx;
    this.#now = now;
    this.#insert = s(`INSERT INTO agents (${AGENT_COLUMNS}) VALUES (${paramsFor(AGENT_COLUMNS, param)})`);
    this.#insertClientId = s('INSERT INTO agent_client_ids (issuer, client_id, agent_id) VALUES (?, ?, ?)');
    this.#deleteClientIds = s('DELETE FROM agent_client_ids WHERE agent_id = ?');
    this.#byClientId = s(
      `SELECT ${AGENT_COLUMNS_OF_A} FROM agent_client_ids c JOIN agents a ON a.id = c.agent_id
       WHERE c.issuer = ? AND c.client_id = ?`,
    );
    this.#insertKeyStatement = s('INSERT INTO agent_keys (jkt, agent_id, until) VALUES (?, ?, NULL)');
    this.#get = s(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`);
    this.#byJkt = s(
      `SELECT ${AGENT_COLUMNS_OF_A} FROM agent_keys k JOIN agents a ON a.id = k.agent_id
       WHERE k.jkt = ? AND (k.until IS NULL OR k.until > ?)`,
    );
    this.#list = s(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id > ? ORDER BY id LIMIT ?`);
    this.#listByStatus = s(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE status = ? AND id > ? ORDER BY id LIMIT ?`,
    );
    this.#setStatus = s(
      `UPDATE agents SET status = ?, updated_at = ? WHERE id = ? RETURNING ${AGENT_COLUMNS}`,
    );
    this.#update = s(
      `UPDATE agents SET name = COALESCE(?, name), owner = COALESCE(?, owner), tier = COALESCE(?, tier),
         trust_level = COALESCE(?, trust_level), allowed_audiences = COALESCE(?, allowed_audiences),
         max_depth = COALESCE(?, max_depth), client_ids = COALESCE(?, client_ids), updated_at = ?
       WHERE id = ? RETURNING ${AGENT_COLUMNS}`,
    );
    this.#endKey = s('UPDATE agent_keys SET until = ? WHERE jkt = ?');
    this.#pruneKeys = s('DELETE FROM agent_keys WHERE agent_id = ? AND until IS NOT NULL AND until <= ?');
    this.#setKey = s(
      `UPDATE agents SET public_jwk = ?, jkt = ?, previous_keys = ?, updated_at = ? WHERE id = ?
       RETURNING ${AGENT_COLUMNS}`,
    );
  }

  async create(agent: NewAgent): Promise<AgentRecord> {
    checkNewAgent(agent);
    const values = agentValues(agent, this.#now());
    return this.#tx(() => {
      try {
        this.#insert.run(...values);
      } catch (error) {
        throw asConflict(error, 'agent id already exists');
      }
      this.#insertKey(agent.jkt, agent.id);
      this.#indexClientIds(agent.id, agent.clientIds ?? {});
      return agentFromRow(this.#get.get(agent.id) as Row);
    });
  }

  /** Writes the agent's (issuer, client id) pairs; a pair held by another agent is a conflict. */
  #indexClientIds(id: string, clientIds: Record<string, string>): void {
    this.#deleteClientIds.run(id);
    for (const [issuer, clientId] of Object.entries(clientIds)) {
      try {
        this.#insertClientId.run(issuer, clientId, id);
      } catch (error) {
        throw asConflict(error, 'client id already registered at that issuer');
      }
    }
  }

  /** Registers `jkt` as the agent's current key; a thumbprint registered anywhere already is a conflict. */
  #insertKey(jkt: string, id: string): void {
    try {
      this.#insertKeyStatement.run(jkt, id);
    } catch (error) {
      throw asConflict(error, 'key thumbprint already registered');
    }
  }

  async getByClientId(issuer: string, clientId: string): Promise<AgentRecord | null> {
    const row = this.#byClientId.get(text(issuer, 'issuer', 2048), text(clientId, 'client id', 512));
    return mapOrNull(row as Row | undefined, agentFromRow);
  }

  async get(id: string): Promise<AgentRecord | null> {
    return mapOrNull(this.#get.get(text(id, 'agent id')) as Row | undefined, agentFromRow);
  }

  async getByKeyThumbprint(jkt: string): Promise<AgentRecord | null> {
    return mapOrNull(this.#byJkt.get(text(jkt, 'jkt'), this.#now()) as Row | undefined, agentFromRow);
  }

  async list(query: AgentListQuery): Promise<Page<AgentRecord>> {
    checkListQuery(query);
    const after = query.after ?? '';
    const rows =
      query.status === undefined
        ? this.#list.all(after, query.limit + 1)
        : this.#listByStatus.all(query.status, after, query.limit + 1);
    return agentPage(rows as Row[], query.limit);
  }

  async setStatus(id: string, status: AgentStatus): Promise<AgentRecord> {
    text(id, 'agent id');
    agentStatus(status);
    const now = this.#now();
    return this.#tx(() => agentOrNotFound(this.#setStatus.get(status, now, id) as Row | undefined, id));
  }

  async update(id: string, patch: AgentPatch): Promise<AgentRecord> {
    text(id, 'agent id');
    const values = patchValues(patch);
    const now = this.#now();
    return this.#tx(() => {
      const updated = agentOrNotFound(this.#update.get(...values, now, id) as Row | undefined, id);
      if (patch.clientIds !== undefined) this.#indexClientIds(id, patch.clientIds);
      return updated;
    });
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
    return this.#tx(() => {
      const current = agentOrNotFound(this.#get.get(id) as Row | undefined, id);
      this.#insertKey(newJkt, id);
      this.#endKey.run(overlapUntil, current.jkt);
      this.#pruneKeys.run(id, now);
      const previous = previousKeysAfterRotation(current, now, overlapUntil);
      const updated = this.#setKey.get(JSON.stringify(newJwk), newJkt, JSON.stringify(previous), now, id);
      return agentFromRow(updated as Row);
    });
  }
}
