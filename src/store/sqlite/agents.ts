import { previousKeysAfterRotation } from '../agent-keys.ts';
import type { AgentStore } from '../ports.ts';
import { AGENTS, agentOrNotFound, agentPage, mapOrNull, newAgentValues, type Row } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { agentStatus, checkListQuery, checkNewAgent, checkRotation, patchValues, text } from '../validate.ts';
import { asConflict, param, type SqliteContext } from './context.ts';

export function sqliteAgents({ prepare: s, tx, now }: SqliteContext): AgentStore {
  const { columns } = AGENTS;
  const insert = s(`INSERT INTO agents (${columns}) VALUES (${paramsFor(columns, param)})`);
  const insertKey = s('INSERT INTO agent_keys (jkt, agent_id, until) VALUES (?, ?, NULL)');
  const insertClientId = s('INSERT INTO agent_client_ids (issuer, client_id, agent_id) VALUES (?, ?, ?)');
  const deleteClientIds = s('DELETE FROM agent_client_ids WHERE agent_id = ?');
  const byClientId = s(
    `SELECT ${AGENTS.columnsOf('a')} FROM agent_client_ids c JOIN agents a ON a.id = c.agent_id
     WHERE c.issuer = ? AND c.client_id = ?`,
  );
  const get = s(`SELECT ${columns} FROM agents WHERE id = ?`);
  const byJkt = s(
    `SELECT ${AGENTS.columnsOf('a')} FROM agent_keys k JOIN agents a ON a.id = k.agent_id
     WHERE k.jkt = ? AND (k.until IS NULL OR k.until > ?)`,
  );
  const list = s(`SELECT ${columns} FROM agents WHERE id > ? ORDER BY id LIMIT ?`);
  const listByStatus = s(`SELECT ${columns} FROM agents WHERE status = ? AND id > ? ORDER BY id LIMIT ?`);
  const setStatus = s(`UPDATE agents SET status = ?, updated_at = ? WHERE id = ? RETURNING ${columns}`);
  const update = s(
    `UPDATE agents SET name = COALESCE(?, name), owner = COALESCE(?, owner), tier = COALESCE(?, tier),
       trust_level = COALESCE(?, trust_level), allowed_audiences = COALESCE(?, allowed_audiences),
       max_depth = COALESCE(?, max_depth), client_ids = COALESCE(?, client_ids), updated_at = ?
     WHERE id = ? RETURNING ${columns}`,
  );
  const endKey = s('UPDATE agent_keys SET until = ? WHERE jkt = ?');
  const pruneKeys = s('DELETE FROM agent_keys WHERE agent_id = ? AND until IS NOT NULL AND until <= ?');
  const setKey = s(
    `UPDATE agents SET public_jwk = ?, jkt = ?, previous_keys = ?, updated_at = ? WHERE id = ?
     RETURNING ${columns}`,
  );

  /** Registers `jkt` as the agent's current key; a thumbprint registered anywhere already is a conflict. */
  const registerKey = (jkt: string, id: string): void => {
    try {
      insertKey.run(jkt, id);
    } catch (error) {
      throw asConflict(error, 'key thumbprint already registered');
    }
  };

  /** Writes the agent's (issuer, client id) pairs; a pair held by another agent is a conflict. */
  const indexClientIds = (id: string, clientIds: Record<string, string>): void => {
    deleteClientIds.run(id);
    for (const [issuer, clientId] of Object.entries(clientIds)) {
      try {
        insertClientId.run(issuer, clientId, id);
      } catch (error) {
        throw asConflict(error, 'client id already registered at that issuer');
      }
    }
  };

  return {
    async create(agent) {
      checkNewAgent(agent);
      const values = newAgentValues(agent, now());
      return tx(() => {
        try {
          insert.run(...values);
        } catch (error) {
          throw asConflict(error, 'agent id already exists');
        }
        registerKey(agent.jkt, agent.id);
        indexClientIds(agent.id, agent.clientIds ?? {});
        return AGENTS.fromRow(get.get(agent.id) as Row);
      });
    },

    async getByClientId(issuer, clientId) {
      const row = byClientId.get(text(issuer, 'issuer', 2048), text(clientId, 'client id', 512));
      return mapOrNull(row as Row | undefined, AGENTS.fromRow);
    },

    async get(id) {
      return mapOrNull(get.get(text(id, 'agent id')) as Row | undefined, AGENTS.fromRow);
    },

    async getByKeyThumbprint(jkt) {
      return mapOrNull(byJkt.get(text(jkt, 'jkt'), now()) as Row | undefined, AGENTS.fromRow);
    },

    async list(query) {
      checkListQuery(query);
      const after = query.after ?? '';
      const rows =
        query.status === undefined
          ? list.all(after, query.limit + 1)
          : listByStatus.all(query.status, after, query.limit + 1);
      return agentPage(rows as Row[], query.limit);
    },

    async setStatus(id, status) {
      text(id, 'agent id');
      agentStatus(status);
      const at = now();
      return tx(() => agentOrNotFound(setStatus.get(status, at, id) as Row | undefined, id));
    },

    async update(id, patch) {
      text(id, 'agent id');
      const values = patchValues(patch);
      const at = now();
      return tx(() => {
        const updated = agentOrNotFound(update.get(...values, at, id) as Row | undefined, id);
        if (patch.clientIds !== undefined) indexClientIds(id, patch.clientIds);
        return updated;
      });
    },

    async rotateKey(id, newJwk, newJkt, overlapUntil) {
      checkRotation(id, newJwk, newJkt, overlapUntil);
      const at = now();
      return tx(() => {
        const current = agentOrNotFound(get.get(id) as Row | undefined, id);
        registerKey(newJkt, id);
        endKey.run(overlapUntil, current.jkt);
        pruneKeys.run(id, at);
        const previous = previousKeysAfterRotation(current, at, overlapUntil);
        return AGENTS.fromRow(
          setKey.get(JSON.stringify(newJwk), newJkt, JSON.stringify(previous), at, id) as Row,
        );
      });
    },
  };
}
