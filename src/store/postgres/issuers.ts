import type pg from 'pg';
import type { IssuerRecord, IssuerStore } from '../ports.ts';
import { ISSUER_COLUMNS, issuerFromRow, issuerValues, mapOrNull } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkIssuer, text } from '../validate.ts';
import { all, one, type PostgresContext, param, statement } from './context.ts';

const ISSUER_PUT = statement(
  'issuer_put',
  `INSERT INTO issuers (${ISSUER_COLUMNS}) VALUES (${paramsFor(ISSUER_COLUMNS, param)})
   ON CONFLICT (issuer) DO UPDATE SET kind = EXCLUDED.kind, audience = EXCLUDED.audience,
     jwks_uri = EXCLUDED.jwks_uri, jwks = EXCLUDED.jwks, mapping = EXCLUDED.mapping,
     assertions = EXCLUDED.assertions, max_assertion_age_seconds = EXCLUDED.max_assertion_age_seconds`,
);
const ISSUER_GET = statement('issuer_get', `SELECT ${ISSUER_COLUMNS} FROM issuers WHERE issuer = $1`);
const ISSUER_LIST = statement('issuer_list', `SELECT ${ISSUER_COLUMNS} FROM issuers ORDER BY issuer`);
const ISSUER_DELETE = statement('issuer_delete', 'DELETE FROM issuers WHERE issuer = $1');

export class PostgresIssuers implements IssuerStore {
  readonly #pool: pg.Pool;

  constructor({ pool }: PostgresContext) {
    this.#pool = pool;
  }

  async put(issuer: IssuerRecord): Promise<void> {
    checkIssuer(issuer);
    await this.#pool.query(ISSUER_PUT(issuerValues(issuer)));
  }

  async get(issuer: string): Promise<IssuerRecord | null> {
    return mapOrNull(await one(this.#pool, ISSUER_GET([text(issuer, 'issuer')])), issuerFromRow);
  }

  async list(): Promise<IssuerRecord[]> {
    return (await all(this.#pool, ISSUER_LIST())).map(issuerFromRow);
  }

  async delete(issuer: string): Promise<boolean> {
    const result = await this.#pool.query(ISSUER_DELETE([text(issuer, 'issuer')]));
    return (result.rowCount ?? 0) > 0;
  }
}
