import type { IssuerStore } from '../ports.ts';
import { ISSUERS, mapOrNull, type Row } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkIssuer, text } from '../validate.ts';
import { param, type SqliteContext } from './context.ts';

export function sqliteIssuers({ prepare: s, tx }: SqliteContext): IssuerStore {
  const { columns } = ISSUERS;
  const put = s(
    `INSERT INTO issuers (${columns}) VALUES (${paramsFor(columns, param)})
     ON CONFLICT (issuer) DO UPDATE SET kind = excluded.kind, audience = excluded.audience,
       jwks_uri = excluded.jwks_uri, jwks = excluded.jwks, mapping = excluded.mapping,
       assertions = excluded.assertions, max_assertion_age_seconds = excluded.max_assertion_age_seconds`,
  );
  const get = s(`SELECT ${columns} FROM issuers WHERE issuer = ?`);
  const list = s(`SELECT ${columns} FROM issuers ORDER BY issuer`);
  const remove = s('DELETE FROM issuers WHERE issuer = ?');
  return {
    async put(issuer) {
      checkIssuer(issuer);
      const values = ISSUERS.values(issuer);
      await tx(() => put.run(...values));
    },

    async get(issuer) {
      return mapOrNull(get.get(text(issuer, 'issuer')) as Row | undefined, ISSUERS.fromRow);
    },

    async list() {
      return (list.all() as Row[]).map(ISSUERS.fromRow);
    },

    async delete(issuer) {
      text(issuer, 'issuer');
      return tx(() => Number(remove.run(issuer).changes) > 0);
    },
  };
}
