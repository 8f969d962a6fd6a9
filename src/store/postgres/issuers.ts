import { all, one } from '../../sql/postgres.ts';
import type { IssuerStore } from '../ports.ts';
import { ISSUERS, mapOrNull } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkIssuer, text } from '../validate.ts';
import { type PostgresContext, param, statement } from './context.ts';

const ISSUER_PUT = statement(
  'issuer_put',
  `INSERT INTO issuers (${ISSUERS.columns}) VALUES (${paramsFor(ISSUERS.columns, param)})
   ON CONFLICT (issuer) DO UPDATE SET kind = EXCLUDED.kind, audience = EXCLUDED.audience,
     jwks_uri = EXCLUDED.jwks_uri, jwks = EXCLUDED.jwks, mapping = EXCLUDED.mapping,
     assertions = EXCLUDED.assertions, max_assertion_age_seconds = EXCLUDED.max_assertion_age_seconds`,
);
const ISSUER_GET = statement('issuer_get', `SELECT ${ISSUERS.columns} FROM issuers WHERE issuer = $1`);
const ISSUER_LIST = statement('issuer_list', `SELECT ${ISSUERS.columns} FROM issuers ORDER BY issuer`);
const ISSUER_DELETE = statement('issuer_delete', 'DELETE FROM issuers WHERE issuer = $1');

export function postgresIssuers({ pool }: PostgresContext): IssuerStore {
  return {
    async put(issuer) {
      checkIssuer(issuer);
      await pool.query(ISSUER_PUT(ISSUERS.values(issuer)));
    },

    async get(issuer) {
      return mapOrNull(await one(pool, ISSUER_GET([text(issuer, 'issuer')])), ISSUERS.fromRow);
    },

    async list() {
      return (await all(pool, ISSUER_LIST())).map(ISSUERS.fromRow);
    },

    async delete(issuer) {
      const result = await pool.query(ISSUER_DELETE([text(issuer, 'issuer')]));
      return (result.rowCount ?? 0) > 0;
    },
  };
}
