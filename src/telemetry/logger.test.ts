import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { buildChain } from '../../test/support/chains.ts';
import { accessLog } from './access-log.ts';
import { CENSOR } from './censor.ts';
import { logError } from './log-error.ts';
import { LOG_LEVELS } from './log-level.ts';
import { bufferedDestination, createLogger, LOG_FLUSH_MS } from './logger.ts';
import { configureLogs } from './settings.ts';

/** A destination that keeps every line written. */
function collector(): {
  write(line: string): void;
  lines: string[];
  text(): string;
  json(): Record<string, unknown>[];
} {
  const lines: string[] = [];
  return {
    write: (line) => void lines.push(line),
    lines,
    text: () => lines.join(''),
    json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

// Real signed warrants (compact JWS), as the servers see them.
const [jwt, other] = buildChain(2).tokens as [string, string];

afterEach(() => configureLogs({}));

describe('createLogger', () => {
  test('writes one JSON object per line with time, level label, service and message', () => {
    const out = collector();
    createLogger({ service: 'gateway', destination: out, env: {} }).info({ a: 1 }, 'hello');
    const [line] = out.json();
    assert.equal(line!['level'], 'info');
    assert.equal(line!['service'], 'gateway');
    assert.equal(line!['msg'], 'hello');
    assert.equal(line!['a'], 1);
    assert.match(String(line!['time']), /^\d{4}-\d\d-\d\dT/);
    assert.equal(out.lines[0]!.endsWith('\n'), true);
  });

  test('credentials are censored wherever they sit: the JWT text never reaches the output', () => {
    const out = collector();
    const log = createLogger({ service: 'sts', destination: out, env: {}, level: 'trace' });
    log.info(
      {
        authorization: `DPoP ${jwt}`,
        token: jwt,
        headers: {
          authorization: `DPoP ${jwt}`,
          dpop: other,
          'warrant-chain': `${jwt}, ${other}`,
          cookie: `session=${jwt}`,
          'txn-token': jwt,
        },
        req: { headers: { authorization: `Bearer ${jwt}`, 'proxy-authorization': jwt, dpop: other } },
        body: {
          client_assertion: jwt,
          subject_token: jwt,
          actor_token: other,
          assertion: jwt,
          access_token: jwt,
        },
        issued: { token: jwt },
        form: { grant: { token: other } },
      },
      'a request with every credential',
    );
    log.debug({ subject_token: jwt, actor_token: other, client_assertion: jwt }, 'flat form');
    log.info(
      { upstream: { request: { headers: { Authorization: `DPoP ${jwt}`, 'Warrant-Chain': other } } } },
      'deep',
    );
    log.child({ authorization: `DPoP ${jwt}`, dpop: other }).info('child bindings');
    const text = out.text();
    for (const token of [jwt, other]) {
      assert.equal(text.includes(token), false, 'a token literal was logged');
      // Not even its signature segment or its payload.
      for (const segment of token.split('.').slice(1)) assert.equal(text.includes(segment), false);
    }
    const [first, second, , child] = out.json();
    assert.equal(child!['authorization'], CENSOR);
    const headers = first!['headers'] as Record<string, unknown>;
    assert.equal(headers['authorization'], CENSOR);
    assert.equal(headers['warrant-chain'], CENSOR);
    assert.equal((first!['body'] as Record<string, unknown>)['subject_token'], CENSOR);
    assert.equal((first!['form'] as { grant: { token: unknown } }).grant.token, CENSOR);
    assert.equal(second!['actor_token'], CENSOR);
  });

  test('error messages and stacks carrying a JWT are scrubbed', () => {
    const out = collector();
    const log = createLogger({ service: 'gateway', destination: out, env: {} });
    log.error({ err: new Error(`upstream echoed ${jwt}`) }, 'oops');
    logError(log, new Error(`cannot parse ${other}`), { status: 502 });
    const text = out.text();
    assert.equal(text.includes(jwt), false);
    assert.equal(text.includes(other), false);
    assert.match(text, /\[jwt\]/);
  });

  test('pretty output is human-readable and censored too', () => {
    const out = collector();
    const log = createLogger({ service: 'dev', destination: out, env: {}, pretty: true });
    log.info({ headers: { authorization: `DPoP ${jwt}` }, route: '/crm' }, 'listening');
    const text = out.text();
    assert.throws(() => JSON.parse(text));
    assert.match(text, /INFO/);
    assert.match(text, /listening/);
    assert.match(text, /\/crm/);
    assert.equal(text.includes(jwt), false);
  });

  test('the CLI choice of pretty output is used when the option is absent', () => {
    const out = collector();
    configureLogs({ pretty: true });
    createLogger({ service: 'dev', destination: out, env: {} }).info('hi');
    assert.throws(() => JSON.parse(out.text()));
    assert.match(out.text(), /hi/);
  });
});

describe('log level', () => {
  test('defaults to info', () => {
    assert.equal(createLogger({ service: 'sts', destination: collector(), env: {} }).level, 'info');
  });

  test('option, else the CLI setting, else LOG_LEVEL, else info', () => {
    const env = { LOG_LEVEL: 'warn' };
    const dest = collector();
    assert.equal(createLogger({ service: 'sts', destination: dest, env }).level, 'warn');
    configureLogs({ level: 'debug' });
    assert.equal(createLogger({ service: 'sts', destination: dest, env }).level, 'debug');
    assert.equal(createLogger({ service: 'sts', destination: dest, env, level: 'error' }).level, 'error');
  });

  test('every allowed level is accepted', () => {
    for (const level of LOG_LEVELS)
      assert.equal(createLogger({ service: 'sts', destination: collector(), level }).level, level);
  });

  test('a bad level option is a TypeError at setup naming the allowed levels', () => {
    assert.throws(
      () => createLogger({ service: 'sts', destination: collector(), level: 'verbose' }),
      (e: unknown) =>
        e instanceof TypeError &&
        /level must be one of fatal, error, warn, info, debug, trace, silent/.test(e.message) &&
        e.message.includes('"verbose"'),
    );
  });

  test('a bad LOG_LEVEL is a TypeError naming LOG_LEVEL and the allowed levels', () => {
    assert.throws(
      () => createLogger({ service: 'sts', destination: collector(), env: { LOG_LEVEL: 'INFO' } }),
      (e: unknown) => e instanceof TypeError && /^LOG_LEVEL must be one of fatal, error/.test(e.message),
    );
  });

  test('lines below the level are not written', () => {
    const out = collector();
    const log = createLogger({ service: 'sts', destination: out, level: 'warn' });
    log.info('no');
    log.warn('yes');
    assert.deepEqual(
      out.json().map((l) => l['msg']),
      ['yes'],
    );
  });

  test('a service name is required', () => {
    assert.throws(() => createLogger({ service: '', destination: collector() }), TypeError);
  });
});

describe('accessLog', () => {
  test('writes exactly the access fields, without the query string, at info', () => {
    const out = collector();
    const log = createLogger({ service: 'gateway', destination: out, env: {} });
    const tokenHash = 'a'.repeat(43);
    accessLog(log, {
      route: '/crm',
      method: 'GET',
      path: `/crm/contacts?access_token=${jwt}`,
      status: 403,
      decision: 'deny',
      code: 'WARRANT_CALL_DENIED',
      latencyMs: 1.23456,
      txn: 'txn-1',
      tokenHash,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      // Extra fields (a careless caller) are not written.
      ...({ authorization: `DPoP ${jwt}` } as object),
    });
    const [line] = out.json();
    assert.equal(out.text().includes(jwt), false);
    assert.deepEqual(
      Object.keys(line!).filter((k) => !['level', 'time', 'pid', 'service', 'msg'].includes(k)),
      ['route', 'method', 'path', 'status', 'decision', 'code', 'latencyMs', 'txn', 'tokenHash', 'traceId'],
    );
    assert.equal(line!['msg'], 'access');
    assert.equal(line!['level'], 'info');
    assert.equal(line!['path'], '/crm/contacts');
    assert.equal(line!['latencyMs'], 1.235);
    assert.equal(line!['tokenHash'], tokenHash);
  });

  test('a tokenHash that is not a hash (a token passed by mistake) is dropped', () => {
    const out = collector();
    const log = createLogger({ service: 'gateway', destination: out, env: {} });
    accessLog(log, { method: 'GET', path: '/x', status: 200, latencyMs: 1, tokenHash: jwt });
    assert.equal(out.text().includes(jwt), false);
    assert.equal(out.json()[0]!['tokenHash'], undefined);
  });
});

describe('logError', () => {
  class Refusal extends Error {
    readonly code = 'WARRANT_CALL_DENIED';
    readonly status = 403;
  }

  test('an expected (4xx) error is logged at info with its code and no stack', () => {
    const out = collector();
    const log = createLogger({ service: 'gateway', destination: out, env: {} });
    logError(log, new Refusal('the action policy denies this call'), { route: '/crm' });
    const [line] = out.json();
    assert.equal(line!['level'], 'info');
    assert.equal(line!['route'], '/crm');
    assert.deepEqual(line!['err'], {
      type: 'Error',
      message: 'the action policy denies this call',
      code: 'WARRANT_CALL_DENIED',
      status: 403,
    });
  });

  test('an unexpected error is logged at error with its stack and cause', () => {
    const out = collector();
    const log = createLogger({ service: 'sts', destination: out, env: {} });
    logError(log, new Error('store down', { cause: new Error('ECONNREFUSED') }));
    const [line] = out.json();
    const err = line!['err'] as { stack?: string; cause?: { message: string } };
    assert.equal(line!['level'], 'error');
    assert.match(err.stack ?? '', /store down\n\s+at /);
    assert.equal(err.cause?.message, 'ECONNREFUSED');
  });

  test('the status given decides: a Warrant error answered with 503 is unexpected', () => {
    const out = collector();
    const log = createLogger({ service: 'gateway', destination: out, env: {} });
    logError(log, new Refusal('not recorded'), { status: 503 });
    const [line] = out.json();
    assert.equal(line!['level'], 'error');
    assert.equal((line!['err'] as { status: number }).status, 503);
    assert.ok((line!['err'] as { stack?: string }).stack);
  });

  test('an error logged directly under err gets the same serializer', () => {
    const out = collector();
    createLogger({ service: 'sts', destination: out, env: {} }).warn({ err: new Refusal('x') }, 'refused');
    assert.deepEqual(Object.keys(out.json()[0]!['err'] as object), ['type', 'message', 'code', 'status']);
  });
});

describe('bufferedDestination', () => {
  test('gathers lines, writes them without a further line or an exit, and loses none', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'warrant-log-'));
    try {
      const file = join(dir, 'out.jsonl');
      const dest = bufferedDestination(file);
      const log = createLogger({ service: 'gateway', destination: dest, env: {} });
      await new Promise((resolve) => dest.once('ready', resolve));
      for (let i = 0; i < 3; i++) log.info({ i }, 'line');
      // Three short lines stay below the 4 KiB batch: nothing is written by the logging call itself.
      assert.equal(readFileSync(file, 'utf8'), '');
      // The timer writes them (LOG_FLUSH_MS) without anything else happening.
      const deadline = Date.now() + 5000;
      while (readFileSync(file, 'utf8').split('\n').length < 4 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, LOG_FLUSH_MS));
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { i: number }).i),
        [0, 1, 2],
      );
      // A burst larger than the batch: every line arrives, in order.
      for (let i = 3; i < 203; i++) log.info({ i, pad: 'x'.repeat(100) }, 'burst');
      await new Promise<void>((resolve, reject) => dest.flush((e?: Error) => (e ? reject(e) : resolve())));
      const all = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.deepEqual(
        all.map((l) => (JSON.parse(l) as { i: number }).i),
        Array.from({ length: 203 }, (_, i) => i),
      );
      dest.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
