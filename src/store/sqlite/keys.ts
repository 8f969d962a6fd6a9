import type { StatementSync } from 'node:sqlite';
import { StoreNotFoundError } from '../errors.ts';
import type { KeyStore, SigningKeyState, StoredSigningKey } from '../ports.ts';
import { type Row, SIGNING_KEY_COLUMNS, signingKeyFromRow, signingKeyValues } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkSigningKey, nullableInteger, signingKeyState, text } from '../validate.ts';
import { asConflict, param, type SqliteContext } from './context.ts';

export class SqliteKeys implements KeyStore {
  readonly #tx: SqliteContext['tx'];
  readonly #insert: StatementSync;
  readonly #list: StatementSync;
  readonly #setState: StatementSync;

  constructor({ prepare: s, tx }: SqliteContext) {
    this.#tx = tx;
    this.#insert = s(
      `INSERT INTO signing_keys (${SIGNING_KEY_COLUMNS}) VALUES (${paramsFor(SIGNING_KEY_COLUMNS, param)})`,
    );
    this.#list = s(`SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid`);
    this.#setState = s('UPDATE signing_keys SET state = ?, retire_at = ? WHERE kid = ?');
  }

  async save(key: StoredSigningKey): Promise<void> {
    checkSigningKey(key);
    const values = signingKeyValues(key);
    await this.#tx(() => {
      try {
        this.#insert.run(...values);
      } catch (error) {
        throw asConflict(error, `signing key ${key.kid} already exists`);
      }
    });
  }

  async list(): Promise<StoredSigningKey[]> {
    return (this.#list.all() as Row[]).map(signingKeyFromRow);
  }

  async setState(kid: string, state: SigningKeyState, retireAt: number | null): Promise<void> {
    text(kid, 'kid');
    signingKeyState(state);
    nullableInteger(retireAt, 'retireAt');
    await this.#tx(() => {
      if (Number(this.#setState.run(state, retireAt, kid).changes) === 0) {
        throw new StoreNotFoundError(`no signing key ${kid}`);
      }
    });
  }
}
