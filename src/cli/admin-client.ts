/**
 * The client side of the STS admin API (`/admin`, Bearer admin token) for the CLI: the shared flags, where
 * the admin token comes from, and errors that say what to do next. The admin token is never printed: not
 * in messages, not in hints, not in debug output.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, type Io, type OptionSpec, type ParsedArgs, UsageError } from './command.ts';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
export const ADMIN_TOKEN_ENV = 'WARRANT_ADMIN_TOKEN';
export const DEFAULT_ADMIN_TOKEN_FILE = '.warrant/admin-token';

/** The flags every admin command takes. */
export const ADMIN_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.freeze({
  url: {
    type: 'string',
    value: 'sts url',
    description: `the STS (default $WARRANT_URL, else ${DEFAULT_URL})`,
  },
  'admin-token-file': {
    type: 'string',
    value: 'path',
    description: `file holding the admin token (default $${ADMIN_TOKEN_ENV}, else ./${DEFAULT_ADMIN_TOKEN_FILE})`,
  },
});

export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print the answer as JSON' };

/** An error answer of the STS: `{error, error_description, code}` and the HTTP status. */
export class AdminApiError extends CliError {
  override name = 'AdminApiError';
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, code: string | undefined, message: string, hint: string) {
    super(message, hint);
    this.status = status;
    this.code = code;
  }
}

export interface AdminClient {
  readonly url: string;
  request<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<T>;
  /**
   * POSTs `body` asking for a stream of JSON lines (`application/x-ndjson`) and calls `onLine` with each as it
   * arrives; resolves when the stream ends. Errors before the stream starts are thrown like `request`'s.
   */
  stream(path: string, body: unknown, onLine: (line: Record<string, unknown>) => void): Promise<void>;
}

/** The STS base URL from `--url`, `$WARRANT_URL` or the default, without a trailing slash. */
export function stsUrl(args: ParsedArgs, io: Io): string {
  const flag = args.values['url'];
  const raw = typeof flag === 'string' ? flag : io.env['WARRANT_URL'] || DEFAULT_URL;
  const source = typeof flag === 'string' ? '--url' : io.env['WARRANT_URL'] ? '$WARRANT_URL' : 'the default';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} is not a URL (expected e.g. ${DEFAULT_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source} must be an http or https URL (e.g. ${DEFAULT_URL})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(
      `${source} must not hold credentials; the admin token comes from $${ADMIN_TOKEN_ENV}`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The admin token: from `--admin-token-file`, else `$WARRANT_ADMIN_TOKEN`, else `./.warrant/admin-token` when it
 * exists (where `warrant dev` writes it). Never part of any message.
 */
export function adminToken(args: ParsedArgs, io: Io): string {
  const flag = args.values['admin-token-file'];
  let token: string;
  let source: string;
  if (typeof flag === 'string') {
    if (flag === '') throw new UsageError('--admin-token-file expects a path');
    token = readTokenFile(flag);
    source = flag;
  } else if (io.env[ADMIN_TOKEN_ENV]) {
    token = io.env[ADMIN_TOKEN_ENV].trim();
    source = `$${ADMIN_TOKEN_ENV}`;
  } else if (existsSync(DEFAULT_ADMIN_TOKEN_FILE)) {
    token = readTokenFile(DEFAULT_ADMIN_TOKEN_FILE);
    source = `./${DEFAULT_ADMIN_TOKEN_FILE}`;
  } else {
    throw new CliError(
      'no admin token',
      `Set $${ADMIN_TOKEN_ENV}, or pass --admin-token-file <path> (\`warrant dev\` writes one to ` +
        `<data>/admin-token, by default ./${DEFAULT_ADMIN_TOKEN_FILE}).`,
    );
  }
  if (token === '') throw new CliError(`the admin token in ${source} is empty`, 'Put the admin token there.');
  // A Bearer credential is visible ASCII; anything else would make the HTTP client echo it in an error.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new CliError(
      `the admin token in ${source} contains spaces or control characters`,
      'Put exactly the token there (one line, no quotes).',
    );
  }
  return token;
}

function readTokenFile(path: string): string {
  try {
    if (statSync(path).size > 4096) {
      throw new CliError(
        `${path} is too large to be an admin token`,
        'Check the path given with --admin-token-file.',
      );
    }
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new CliError(
      `cannot read the admin token file ${resolve(path)} (${code})`,
      code === 'ENOENT'
        ? `Check the path, or set $${ADMIN_TOKEN_ENV} instead (\`warrant dev\` writes the token to <data>/admin-token).`
        : 'Check the permissions of the file, then run again.',
    );
  }
}

/** An admin API client for the flags of one command line. Nothing is sent until `request` is called. */
export function adminClient(args: ParsedArgs, io: Io): AdminClient {
  const url = stsUrl(args, io);
  const token = adminToken(args, io);
  const client: AdminClient = {
    url,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const target = `${url}/admin${path}`;
      let response: Response;
      try {
        response = await fetch(target, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(30_000),
          redirect: 'error',
        });
      } catch (error) {
        throw unreachable(url, error);
      }
      const text = await response.text().catch(() => '');
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!response.ok) throw apiError(url, response.status, json);
      if (typeof json !== 'object' || json === null) {
        throw new CliError(
          `${url} answered ${method} /admin${path} with something other than JSON`,
          'Check that --url points at the Warrant STS (not a proxy or another service).',
        );
      }
      return json as T;
    },
    async stream(path, body, onLine) {
      let response: Response;
      try {
        response = await fetch(`${url}/admin${path}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/x-ndjson',
            'content-type': 'application/json',
          },
          body: JSON.stringify(body),
          redirect: 'error',
        });
      } catch (error) {
        throw unreachable(url, error);
      }
      if (!response.ok || response.body === null) {
        const text = await response.text().catch(() => '');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        throw apiError(url, response.status, json);
      }
      let buffered = '';
      const decoder = new TextDecoder();
      const emit = (text: string) => {
        if (text.trim() === '') return;
        try {
          onLine(JSON.parse(text) as Record<string, unknown>);
        } catch (error) {
          if (error instanceof SyntaxError)
            throw new CliError(`${url} sent a line that is not JSON`, 'Check --url.');
          throw error;
        }
      };
      try {
        for await (const chunk of response.body) {
          buffered += decoder.decode(chunk, { stream: true });
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            emit(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
          }
        }
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(
          `the connection to ${url} broke off (${(error as { cause?: { code?: string } }).cause?.code ?? 'network error'})`,
          'The containment may still be running or may have stopped part way: run the same command again; it resumes and never compensates twice.',
        );
      }
      emit(buffered);
    },
  };
  return client;
}

function unreachable(url: string, error: unknown): CliError {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const reason =
    (error as { name?: string }).name === 'TimeoutError'
      ? 'timed out'
      : typeof cause?.code === 'string'
        ? cause.code
        : typeof cause?.message === 'string'
          ? cause.message
          : 'network error';
  return new CliError(
    `cannot reach the STS at ${url} (${reason})`,
    'Is `warrant dev` (or `warrant serve`) running? Pass --url <sts url> or set $WARRANT_URL.',
  );
}

function apiError(url: string, status: number, body: unknown): AdminApiError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const code = typeof b['code'] === 'string' ? b['code'] : undefined;
  const description = typeof b['error_description'] === 'string' ? b['error_description'] : `HTTP ${status}`;
  const suffix = ` (${code})`;
  switch (code) {
    case 'WARRANT_ADMIN_AUTH_FAILED':
      return new AdminApiError(
        status,
        code,
        `the STS at ${url} refused the admin token${suffix}`,
        `Use the admin token of this STS: set $${ADMIN_TOKEN_ENV} or pass --admin-token-file <path> ` +
          '(`warrant dev` keeps it in <data>/admin-token unless $WARRANT_ADMIN_TOKEN was set when it started).',
      );
    case 'WARRANT_AGENT_UNKNOWN':
      return new AdminApiError(
        status,
        code,
        `no such agent${suffix}`,
        'List the registered agents with `warrant agent list`.',
      );
    case 'WARRANT_STORE_CONFLICT':
      return new AdminApiError(
        status,
        code,
        `${description}${suffix}`,
        'An agent with this name or key exists already: choose another name, or create a new key with `warrant keygen`.',
      );
    case 'WARRANT_POLICY_INVALID':
      return new AdminApiError(
        status,
        code,
        `${description}${suffix}`,
        'The STS keeps its current policy. Fix the files (check them with `warrant policy validate`), then reload again.',
      );
    case 'WARRANT_CONTAIN_TARGET_UNKNOWN':
      return new AdminApiError(
        status,
        code,
        `${description}${suffix}`,
        'Nothing was changed. Check the value (`warrant audit query` lists transactions and persons; `warrant token inspect` prints a token hash).',
      );
    case 'WARRANT_NOT_FOUND':
      return new AdminApiError(
        status,
        code,
        `${description}${suffix}`,
        description.includes('admin API is not enabled')
          ? 'Start the STS with an admin token ($WARRANT_ADMIN_TOKEN, or let `warrant dev` create one).'
          : 'Check --url (it should be the STS base URL, without /admin) and that the STS is this version of Warrant.',
      );
    default:
      if (code === undefined) {
        return new AdminApiError(
          status,
          code,
          `${url} answered HTTP ${status}, not a Warrant admin API answer`,
          'Check that --url (or $WARRANT_URL) is the base URL of the Warrant STS, without /admin.',
        );
      }
      if (status >= 500) {
        return new AdminApiError(
          status,
          code,
          `the STS failed: ${description}${suffix}`,
          'Look at the STS log, then run again; nothing was changed if the STS says so.',
        );
      }
      return new AdminApiError(
        status,
        code,
        `${description}${suffix}`,
        'Fix the request (see `--help`), then run again.',
      );
  }
}

/** `/agents/<name or id>`, with the id escaped as one path segment. */
export const agentPath = (ref: string, action?: string): string =>
  `/agents/${encodeURIComponent(ref)}${action === undefined ? '' : `/${action}`}`;

/** Prints `value` as indented JSON. */
export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
