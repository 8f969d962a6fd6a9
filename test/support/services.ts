/**
 * The external services integration tests use, in one place: their URLs (from the environment, with the
 * defaults `.ci/run` provides) and probes that fail fast — within seconds, naming the URL and how to start
 * the service — instead of letting a client retry for ever.
 */
import { Redis } from 'ioredis';
import pg from 'pg';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** PostgreSQL for tests: `WARRANT_TEST_POSTGRES_URL`, else {@link DEFAULT_POSTGRES_URL}. */
export const POSTGRES_URL = process.env['WARRANT_TEST_POSTGRES_URL'] || DEFAULT_POSTGRES_URL;
/** Redis for tests: `WARRANT_TEST_REDIS_URL`, else {@link DEFAULT_REDIS_URL}. */
export const REDIS_URL = process.env['WARRANT_TEST_REDIS_URL'] || DEFAULT_REDIS_URL;

/** How long a probe waits for the service before the test fails. */
const PROBE_TIMEOUT_MS = 3000;

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

const unreachable = (service: string, url: string, variable: string, cause: unknown): Error =>
  new Error(
    `${service} not reachable at ${redactUrl(url)}: start it (see README "Tests"; .ci/run starts it) or set ` +
      `${variable} (${(cause as Error)?.message ?? String(cause)})`,
    { cause },
  );

const probes = new Map<string, Promise<string>>();

/**
 * Resolves `url` once PostgreSQL answers `SELECT 1` there; rejects within a few seconds otherwise, with a
 * message that names the URL and how to start the service. Probed once per URL and process.
 */
export function requirePostgres(url: string = POSTGRES_URL): Promise<string> {
  const key = `pg ${url}`;
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = (async () => {
      const client = new pg.Client({
        connectionString: url,
        connectionTimeoutMillis: PROBE_TIMEOUT_MS,
        query_timeout: PROBE_TIMEOUT_MS,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        return url;
      } catch (cause) {
        throw unreachable('PostgreSQL', url, 'WARRANT_TEST_POSTGRES_URL', cause);
      } finally {
        await client.end().catch(() => {});
      }
    })();
    probes.set(key, probe);
  }
  return probe;
}

/**
 * Resolves `url` once Redis answers `PING` there; rejects within a few seconds otherwise, with a message
 * that names the URL and how to start the service. Probed once per URL and process.
 */
export function requireRedis(url: string = REDIS_URL): Promise<string> {
  const key = `redis ${url}`;
  let probe = probes.get(key);
  if (probe === undefined) {
    probe = (async () => {
      const client = new Redis(url, {
        lazyConnect: true,
        connectTimeout: PROBE_TIMEOUT_MS,
        commandTimeout: PROBE_TIMEOUT_MS,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      // The connection error says more than the rejection ("Connection is closed.").
      let connectionError: unknown;
      client.on('error', (error) => {
        connectionError ??= error;
      });
      try {
        await client.connect();
        await client.ping();
        return url;
      } catch (cause) {
        throw unreachable('Redis', url, 'WARRANT_TEST_REDIS_URL', connectionError ?? cause);
      } finally {
        client.disconnect();
      }
    })();
    probes.set(key, probe);
  }
  return probe;
}
