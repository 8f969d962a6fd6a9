import type { StatementSync } from 'node:sqlite';
import type { IssuedToken, RevokedToken, RevokeSelector, TokenStore } from '../ports.ts';
import { mapOrNull, type Row, revokedFromRow, TOKEN_COLUMNS, tokenFromRow, tokenValues } from '../rows.ts';
import { descendantsQuery, paramsFor, revokeCascade, revokeMatch } from '../sql.ts';
import { anyText, checkSelector, checkToken, integer, type SelectorKind, text } from '../validate.ts';
import { asConflict, param, type SqliteContext } from './context.ts';
import type { SqliteStatusBits } from './status-lists.ts';

const SELECTORS: readonly SelectorKind[] = ['hash', 'txn', 'agentId', 'sub'];

export class SqliteTokens implements TokenStore {
  readonly #tx: SqliteContext['tx'];
  readonly #bits: SqliteStatusBits;
  readonly #insert: StatementSync;
  readonly #insertActor: StatementSync;
  readonly #parentState: StatementSync;
  readonly #get: StatementSync;
  readonly #getByJti: StatementSync;
  readonly #children: StatementSync;
  readonly #descendants: StatementSync;
  readonly #isRevoked: StatementSync;
  readonly #byTxn: StatementSync;
  readonly #live: StatementSync;
  readonly #revoke: ReadonlyMap<SelectorKind, StatementSync>;

  constructor({ prepare: s, tx }: SqliteContext, bits: SqliteStatusBits) {
    this.#tx = tx;
    this.#bits = bits;
    this.#insert = s(`INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES (${paramsFor(TOKEN_COLUMNS, param)})`);
    this.#insertActor = s('INSERT OR IGNORE INTO token_actors (agent_id, hash) VALUES (?, ?)');
    this.#parentState = s('SELECT revoked_at, revoke_reason FROM tokens WHERE hash = ?');
    this.#get = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ?`);
    this.#getByJti = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE jti = ?`);
    this.#children = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE parent_hash = ? ORDER BY iat, hash`);
    this.#descendants = s(descendantsQuery(TOKEN_COLUMNS, param));
    this.#isRevoked = s('SELECT revoked_at FROM tokens WHERE hash = ?');
    this.#byTxn = s(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE txn = ? ORDER BY iat, hash`);
    this.#live = s(
      `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE exp > ? AND revoked_at IS NULL ORDER BY iat, hash`,
    );
    this.#revoke = new Map(
      SELECTORS.map((kind) => [kind, s(revokeCascade(revokeMatch(kind, param), param))]),
    );
  }

  async record(token: IssuedToken): Promise<IssuedToken> {
    checkToken(token);
    return this.#tx(() => {
      let stored: IssuedToken = { ...token, actors: [...token.actors] };
      if (token.parentHash !== null && token.revokedAt === null) {
        const parent = this.#parentState.get(token.parentHash) as Row | undefined;
        if (parent !== undefined && parent['revoked_at'] !== null) {
          stored = {
            ...stored,
            revokedAt: Number(parent['revoked_at']),
            revokeReason: parent['revoke_reason'] as string | null,
          };
        }
      }
      try {
        this.#insert.run(...tokenValues(stored));
      } catch (error) {
        throw asConflict(error, `token ${token.hash} (or its jti) already recorded`);
      }
      for (const actor of new Set(stored.actors)) this.#insertActor.run(actor, stored.hash);
      if (stored.revokedAt !== null) this.#bits.setRevoked([stored]);
      return stored;
    });
  }

  async get(hash: string): Promise<IssuedToken | null> {
    return mapOrNull(this.#get.get(text(hash, 'hash')) as Row | undefined, tokenFromRow);
  }

  async getByJti(jti: string): Promise<IssuedToken | null> {
    return mapOrNull(this.#getByJti.get(text(jti, 'jti')) as Row | undefined, tokenFromRow);
  }

  async children(hash: string): Promise<IssuedToken[]> {
    return (this.#children.all(text(hash, 'hash')) as Row[]).map(tokenFromRow);
  }

  async descendants(hash: string): Promise<IssuedToken[]> {
    return (this.#descendants.all(text(hash, 'hash')) as Row[]).map(tokenFromRow);
  }

  /** One recursive statement: the write is a synchronous unit, so no child can slip in beside it. */
  async revoke(selector: RevokeSelector, reason: string, at: number): Promise<RevokedToken[]> {
    const { kind, value } = checkSelector(selector);
    anyText(reason, 'reason');
    integer(at, 'at');
    return this.#tx(() => {
      const revoked = (this.#revoke.get(kind)!.all(value, at, reason) as Row[]).map(revokedFromRow);
      this.#bits.setRevoked(revoked);
      return revoked;
    });
  }

  async isRevoked(hash: string): Promise<boolean | null> {
    const row = this.#isRevoked.get(text(hash, 'hash')) as Row | undefined;
    return row === undefined ? null : row['revoked_at'] !== null;
  }

  async listByTxn(txn: string): Promise<IssuedToken[]> {
    return (this.#byTxn.all(text(txn, 'txn')) as Row[]).map(tokenFromRow);
  }

  async listLive(now: number): Promise<IssuedToken[]> {
    return (this.#live.all(integer(now, 'now')) as Row[]).map(tokenFromRow);
  }
}
