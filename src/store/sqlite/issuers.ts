import type { StatementSync } from 'node:sqlite';
import type { IssuerRecord, IssuerStore } from '../ports.ts';
import { ISSUER_COLUMNS, issuerFromRow, issuerValues, mapOrNull, type Row } from '../rows.ts';
import { paramsFor } from '../sql.ts';
import { checkIssuer, text } from '../validate.ts';
import { param, type SqliteContext } from './context.ts';

export class SqliteIssuers implements IssuerStore {
  readonly #tx: SqliteContext['tx'];
  readonly #put: StatementSync;
  readonly #get: StatementSync;
  readonly #list: StatementSync;
  readonly #delete: StatementSync;

  constructor({ prepare: s, tx }: SqliteContext) {
    this.#tx = tx;
    this.#put = s(
      `INSERT INTO issuers (${ISSUER_COLUMNS}) VALUES (${paramsFor(ISSUER_COLUMNS, param)})
       ON CONFLICT (issuer) DO UPDATE SET kind = excluded.kind, audience = excluded.audience,
         jwks_uri = excluded.jwks_uri, jwks = excluded.jwks, mapping = excluded.mapping,
         assertions = excluded.assertions, max_assertion_age_seconds = excluded.max_assertion_age_seconds`,
    );
    this.#get = s(`SELECT ${ISSUER_COLUMNS} FROM issuers WHERE issuer = ?`);
    this.#list = s(`SELECT ${ISSUER_COLUMNS} FROM issuers ORDER BY issuer`);
    this.#delete = s('DELETE FROM issuers WHERE issuer = ?');
  }

  async put(issuer: IssuerRecord): Promise<void> {
    checkIssuer(issuer);
    const values = issuerValues(issuer);
    await this.#tx(() => this.#put.run(...values));
  }

  async get(issuer: string): Promise<IssuerRecord | null> {
    return mapOrNull(this.#get.get(text(issuer, 'issuer')) as Row | undefined, issuerFromRow);
  }

  async list(): Promise<IssuerRecord[]> {
    return (this.#list.all() as Row[]).map(issuerFromRow);
  }

  async delete(issuer: string): Promise<boolean> {
    text(issuer, 'issuer');
    return this.#tx(() => Number(this.#delete.run(issuer).changes) > 0);
  }
}
