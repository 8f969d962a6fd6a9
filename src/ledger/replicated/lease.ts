/**
 * The integrator lease (DESIGN §8): one row of `ledger_lease` naming the holder and when its lease expires,
 * in the database's clock (so replica clocks do not matter). Taken when free or expired, renewed by the
 * holder well before it expires, released at a clean stop; a holder that dies simply stops renewing and
 * another takes the row once it has expired.
 *
 * Why a row and not `pg_try_advisory_lock`: an advisory lock lives on one session, so the holder must pin a
 * connection for as long as it leads; a pooler in transaction mode (PgBouncer) or a dropped connection that
 * the holder has not noticed yet silently ends or breaks it, and nothing tells the integrator between two
 * statements that it lost it. The row works through any pooler, is visible to operators (`SELECT * FROM
 * ledger_lease`), and every integration transaction re-checks it under `FOR UPDATE` (integrator.ts): that
 * is the fence — a holder paused past its expiry finds the row taken and writes nothing, and a new holder
 * cannot take the row while an integration commits.
 */
import type pg from 'pg';

/** Epoch milliseconds in the database's clock. */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

const ACQUIRE = `INSERT INTO ledger_lease (id, holder, expires) VALUES (1, $1, ${DB_NOW_MS} + $2)
  ON CONFLICT (id) DO UPDATE SET holder = EXCLUDED.holder, expires = EXCLUDED.expires
  WHERE ledger_lease.holder = EXCLUDED.holder OR ledger_lease.expires < ${DB_NOW_MS}
  RETURNING holder`;
const RELEASE = 'UPDATE ledger_lease SET expires = 0 WHERE id = 1 AND holder = $1';
/** Inside an integration transaction: still the holder? Locks the row until the transaction ends. */
export const CHECK_LEASE = `SELECT holder FROM ledger_lease WHERE id = 1 AND holder = $1 AND expires > ${DB_NOW_MS} FOR UPDATE`;
export const RENEW_IN_TX = `UPDATE ledger_lease SET expires = ${DB_NOW_MS} + $2 WHERE id = 1 AND holder = $1`;

/** Takes or renews the lease for `ms`; true when `holder` holds it now. */
export async function acquireLease(pool: pg.Pool, holder: string, ms: number): Promise<boolean> {
  const { rowCount } = await pool.query(ACQUIRE, [holder, ms]);
  return rowCount === 1;
}

/** Gives the lease up (a clean stop: the next holder need not wait for the expiry). */
export async function releaseLease(pool: pg.Pool, holder: string): Promise<void> {
  await pool.query(RELEASE, [holder]);
}

/** Who holds the lease and until when (database epoch ms), or `null`. */
export async function leaseHolder(pool: pg.Pool): Promise<{ holder: string; expires: number } | null> {
  const { rows } = await pool.query<{ holder: string; expires: number }>(
    'SELECT holder, expires FROM ledger_lease WHERE id = 1',
  );
  return rows[0] ? { holder: rows[0].holder, expires: Number(rows[0].expires) } : null;
}
