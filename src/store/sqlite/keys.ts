import { StoreNotFoundError } from '../errors.ts';
import type { KeyStore } from '../ports.ts';
import { type Row, SIGNING_KEYS } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkSigningKey, nullableInteger, signingKeyState, text } from '../validate.ts';
import { asConflict, param, type SqliteContext } from './context.ts';

export function sqliteKeys({ prepare: s, tx }: SqliteContext): KeyStore {
  const { columns } = SIGNING_KEYS;
  const insert = s(`INSERT INTO signing_keys (${columns}) VALUES (${paramsFor(columns, param)})`);
  const list = s(`SELECT ${columns} FROM signing_keys ORDER BY created_at, kid`);
  const setState = s('UPDATE signing_keys SET state = ?, retire_at = ? WHERE kid = ?');
  return {
    async save(key) {
      checkSigningKey(key);
      const values = SIGNING_KEYS.values(key);
      await tx(() => {
        try {
          insert.run(...values);
        } catch (error) {
          throw asConflict(error, `signing key ${key.kid} already exists`);
        }
      });
    },

    async list() {
      return (list.all() as Row[]).map(SIGNING_KEYS.fromRow);
    },

    async setState(kid, state, retireAt) {
      text(kid, 'kid');
      signingKeyState(state);
      nullableInteger(retireAt, 'retireAt');
      await tx(() => {
        if (Number(setState.run(state, retireAt, kid).changes) === 0) {
          throw new StoreNotFoundError(`no signing key ${kid}`);
        }
      });
    },
  };
}
