import { all } from '../../sql/postgres.ts';
import { StoreNotFoundError } from '../errors.ts';
import type { KeyStore } from '../ports.ts';
import { SIGNING_KEYS } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkSigningKey, nullableInteger, signingKeyState, text } from '../validate.ts';
import { asConflict, type PostgresContext, param, statement } from './context.ts';

const KEY_INSERT = statement(
  'key_insert',
  `INSERT INTO signing_keys (${SIGNING_KEYS.columns}) VALUES (${paramsFor(SIGNING_KEYS.columns, param)})`,
);
const KEY_LIST = statement(
  'key_list',
  `SELECT ${SIGNING_KEYS.columns} FROM signing_keys ORDER BY created_at, kid`,
);
const KEY_SET_STATE = statement(
  'key_set_state',
  'UPDATE signing_keys SET state = $1, retire_at = $2 WHERE kid = $3',
);

export function postgresKeys({ pool }: PostgresContext): KeyStore {
  return {
    async save(key) {
      checkSigningKey(key);
      try {
        await pool.query(KEY_INSERT(SIGNING_KEYS.values(key)));
      } catch (error) {
        throw asConflict(error, `signing key ${key.kid} already exists`);
      }
    },

    async list() {
      return (await all(pool, KEY_LIST())).map(SIGNING_KEYS.fromRow);
    },

    async setState(kid, state, retireAt) {
      text(kid, 'kid');
      signingKeyState(state);
      nullableInteger(retireAt, 'retireAt');
      const result = await pool.query(KEY_SET_STATE([state, retireAt, kid]));
      if (result.rowCount === 0) throw new StoreNotFoundError(`no signing key ${kid}`);
    },
  };
}
