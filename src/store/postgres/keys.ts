import type pg from 'pg';
import { StoreNotFoundError } from '../errors.ts';
import type { KeyStore, SigningKeyState, StoredSigningKey } from '../ports.ts';
import { SIGNING_KEY_COLUMNS, signingKeyFromRow, signingKeyValues } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkSigningKey, nullableInteger, signingKeyState, text } from '../validate.ts';
import { all, asConflict, type PostgresContext, param, statement } from './context.ts';

const KEY_INSERT = statement(
  'key_insert',
  `INSERT INTO signing_keys (${SIGNING_KEY_COLUMNS}) VALUES (${paramsFor(SIGNING_KEY_COLUMNS, param)})`,
);
const KEY_LIST = statement(
  'key_list',
  `SELECT ${SIGNING_KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid`,
);
const KEY_SET_STATE = statement(
  'key_set_state',
  'UPDATE signing_keys SET state = $1, retire_at = $2 WHERE kid = $3',
);

export class PostgresKeys implements KeyStore {
  readonly #pool: pg.Pool;

  constructor({ pool }: PostgresContext) {
    this.#pool = pool;
  }

  async save(key: StoredSigningKey): Promise<void> {
    checkSigningKey(key);
    try {
      await this.#pool.query(KEY_INSERT(signingKeyValues(key)));
    } catch (error) {
      throw asConflict(error, `signing key ${key.kid} already exists`);
    }
  }

  async list(): Promise<StoredSigningKey[]> {
    return (await all(this.#pool, KEY_LIST())).map(signingKeyFromRow);
  }

  async setState(kid: string, state: SigningKeyState, retireAt: number | null): Promise<void> {
    text(kid, 'kid');
    signingKeyState(state);
    nullableInteger(retireAt, 'retireAt');
    const result = await this.#pool.query(KEY_SET_STATE([state, retireAt, kid]));
    if (result.rowCount === 0) throw new StoreNotFoundError(`no signing key ${kid}`);
  }
}
