import type { IssuedToken, TokenStore } from '../ports.ts';
import { mapOrNull, type Row, revokedFromRow, TOKENS } from '../rows.ts';
import { descendantsQuery, paramsFor, revokeCascade, revokeMatch } from '../sql.ts';
import { anyText, checkSelector, checkToken, integer, type SelectorKind, text } from '../validate.ts';
import { asConflict, param, type SqliteContext } from './context.ts';
import type { SqliteStatusBits } from './status-lists.ts';

const SELECTORS: readonly SelectorKind[] = ['hash', 'txn', 'agentId', 'sub'];

export function sqliteTokens({ prepare: s, tx }: SqliteContext, bits: SqliteStatusBits): TokenStore {
  const { columns } = TOKENS;
  const insert = s(`INSERT INTO tokens (${columns}) VALUES (${paramsFor(columns, param)})`);
  const insertActor = s('INSERT OR IGNORE INTO token_actors (agent_id, hash) VALUES (?, ?)');
  const parentState = s('SELECT revoked_at, revoke_reason FROM tokens WHERE hash = ?');
  const get = s(`SELECT ${columns} FROM tokens WHERE hash = ?`);
  const getByJti = s(`SELECT ${columns} FROM tokens WHERE jti = ?`);
  const children = s(`SELECT ${columns} FROM tokens WHERE parent_hash = ? ORDER BY iat, hash`);
  const descendants = s(descendantsQuery(columns, param));
  const isRevoked = s('SELECT revoked_at FROM tokens WHERE hash = ?');
  const byTxn = s(`SELECT ${columns} FROM tokens WHERE txn = ? ORDER BY iat, hash`);
  const live = s(`SELECT ${columns} FROM tokens WHERE exp > ? AND revoked_at IS NULL ORDER BY iat, hash`);
  const revoke = new Map(SELECTORS.map((kind) => [kind, s(revokeCascade(revokeMatch(kind, param), param))]));
  const many = (rows: unknown[]): IssuedToken[] => (rows as Row[]).map(TOKENS.fromRow);

  return {
    async record(token) {
      checkToken(token);
      return tx(() => {
        let stored: IssuedToken = { ...token, actors: [...token.actors] };
        if (token.parentHash !== null && token.revokedAt === null) {
          const parent = parentState.get(token.parentHash) as Row | undefined;
          if (parent !== undefined && parent['revoked_at'] !== null) {
            stored = {
              ...stored,
              revokedAt: Number(parent['revoked_at']),
              revokeReason: parent['revoke_reason'] as string | null,
            };
          }
        }
        try {
          insert.run(...TOKENS.values(stored));
        } catch (error) {
          throw asConflict(error, `token ${token.hash} (or its jti) already recorded`);
        }
        for (const actor of new Set(stored.actors)) insertActor.run(actor, stored.hash);
        if (stored.revokedAt !== null) bits.setRevoked([stored]);
        return stored;
      });
    },

    async get(hash) {
      return mapOrNull(get.get(text(hash, 'hash')) as Row | undefined, TOKENS.fromRow);
    },

    async getByJti(jti) {
      return mapOrNull(getByJti.get(text(jti, 'jti')) as Row | undefined, TOKENS.fromRow);
    },

    async children(hash) {
      return many(children.all(text(hash, 'hash')));
    },

    async descendants(hash) {
      return many(descendants.all(text(hash, 'hash')));
    },

    /** One recursive statement: the write is a synchronous unit, so no child can slip in beside it. */
    async revoke(selector, reason, at) {
      const { kind, value } = checkSelector(selector);
      anyText(reason, 'reason');
      integer(at, 'at');
      return tx(() => {
        const revoked = (revoke.get(kind)!.all(value, at, reason) as Row[]).map(revokedFromRow);
        bits.setRevoked(revoked);
        return revoked;
      });
    },

    async isRevoked(hash) {
      const row = isRevoked.get(text(hash, 'hash')) as Row | undefined;
      return row === undefined ? null : row['revoked_at'] !== null;
    },

    async listByTxn(txn) {
      return many(byTxn.all(text(txn, 'txn')));
    },

    async listLive(now) {
      return many(live.all(integer(now, 'now')));
    },
  };
}
