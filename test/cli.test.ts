import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tokenHash } from '../src/core/jose/hash.ts';
import { generateSigningKey, importPrivateJwk } from '../src/core/jose/jwk.ts';
import { signCompact } from '../src/core/jose/jws.ts';
import { KeySet } from '../src/core/jose/key-set.ts';
import { buildChain } from './support/chains.ts';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warrant-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const env = { ...process.env, WARRANT_DEBUG: '', LOG_LEVEL: '' };

/** Whether script(1) (util-linux) is on the PATH, to run a command on a pseudo-terminal. */
function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs `warrant …` to completion, optionally with standard input. */
function warrant(args: readonly string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('warrant --help and usage errors', () => {
  test('--help exits 0 and lists every command of DESIGN §10, marking the ones not built yet', async () => {
    const { code, stdout } = await warrant(['--help']);
    assert.equal(code, 0);
    for (const name of [
      'dev',
      'serve',
      'gateway',
      'keygen',
      'agent',
      'token inspect',
      'token verify',
      'revoke',
      'contain',
      'approvals',
      'audit',
      'policy',
      'config validate',
      'config schema',
    ]) {
      assert.match(stdout, new RegExp(`^  ${name} `, 'm'), name);
    }
    assert.match(stdout, /^ {2}policy test .*\(coming\)$/m);
    assert.doesNotMatch(stdout, /^ {2}contain .*\(coming\)$/m);
    assert.doesNotMatch(stdout, /^ {2}approvals .*\(coming\)$/m);
    assert.doesNotMatch(stdout, /^ {2}serve .*\(coming\)$/m);
    assert.doesNotMatch(stdout, /^ {2}keygen .*\(coming\)$/m);
  });

  test('each command has --help with an example', async () => {
    const commands = [
      ['dev'],
      ['keygen'],
      ['token', 'inspect'],
      ['config', 'validate'],
      ['config', 'schema'],
      ['revoke'],
      ['approvals', 'list'],
      ['approvals', 'show'],
      ['approvals', 'approve'],
      ['approvals', 'deny'],
      ['contain'],
    ];
    const results = await Promise.all(commands.map((args) => warrant([...args, '--help'])));
    for (const [i, { code, stdout }] of results.entries()) {
      const name = commands[i]!.join(' ');
      assert.equal(code, 0, name);
      assert.ok(stdout.startsWith(`Usage: warrant ${name}`), name);
      assert.match(stdout, /Examples?:\n {2}(\S+ \| )?warrant /, name);
    }
  });

  test('--version prints the package version', async () => {
    const { code, stdout } = await warrant(['--version']);
    assert.equal(code, 0);
    assert.equal(
      stdout.trim(),
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
    );
  });

  test('an unknown command is a usage error: exit 2, message on stderr', async () => {
    const { code, stdout, stderr } = await warrant(['frobnicate']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /unknown command "frobnicate"/);
    assert.match(stderr, /warrant --help/);
  });

  test('an unknown flag is a usage error', async () => {
    const { code, stderr } = await warrant(['keygen', '--out', 'x.jwk', '--bogus']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown option --bogus/);
  });

  test('a command that is not built yet says so and exits 1', async () => {
    const { code, stderr } = await warrant(['policy', 'test']);
    assert.equal(code, 1);
    assert.match(stderr, /not implemented yet/);
  });
});

describe('warrant keygen', () => {
  test('writes the private JWK with mode 0600 and prints the public JWK', async () => {
    const { code, stdout } = await warrant(['keygen', '--out', 'agent.jwk']);
    assert.equal(code, 0);
    const path = join(dir, 'agent.jwk');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const publicJwk = JSON.parse(stdout);
    assert.equal(publicJwk.d, undefined, 'no private member on standard output');
    const key = importPrivateJwk(JSON.parse(readFileSync(path, 'utf8')));
    assert.equal(publicJwk.kid, key.kid);
    assert.equal(key.alg, 'EdDSA');
  });

  test('refuses to overwrite without --force', async () => {
    const path = join(dir, 'once.jwk');
    assert.equal((await warrant(['keygen', '--out', path])).code, 0);
    const before = readFileSync(path, 'utf8');
    const again = await warrant(['keygen', '--out', path]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    assert.match(again.stderr, /--force/);
    assert.equal(readFileSync(path, 'utf8'), before);
    const forced = await warrant(['keygen', '--out', path, '--force', '--alg', 'ES256', '--json']);
    assert.equal(forced.code, 0);
    const out = JSON.parse(forced.stdout);
    assert.equal(out.path, path);
    assert.equal(out.publicJwk.crv, 'P-256');
    assert.equal(importPrivateJwk(JSON.parse(readFileSync(path, 'utf8'))).kid, out.kid);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});

describe('warrant config', () => {
  test('validate names the failing option of a bad file and exits 1', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'sts:\n  maxDepth: 99\n');
    const { code, stderr } = await warrant(['config', 'validate', '--config', 'bad.yaml']);
    assert.equal(code, 1);
    assert.match(stderr, /bad\.yaml at \/sts\/maxDepth: expected an integer from 1 to 32/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });

  test('validate accepts a good file', async () => {
    writeFileSync(join(dir, 'good.yaml'), 'trustDomain: example.org\n');
    const { code, stdout } = await warrant(['config', 'validate', 'good.yaml', '--json']);
    assert.equal(code, 0);
    const out = JSON.parse(stdout);
    assert.equal(out.valid, true);
    assert.equal(out.config.trustDomain, 'example.org');
    assert.equal(out.config.sts.maxDepth, 5);
  });

  test('validate covers the action catalog: a bad entry is named by file and JSON pointer', async () => {
    writeFileSync(
      join(dir, 'bad-catalog.yaml'),
      'actions:\n  - name: payments:refund\n    match: { protocol: http, method: POST, path: /refunds }\n' +
        '    parameters:\n      amount: { in: body, pointer: amount }\n',
    );
    writeFileSync(join(dir, 'with-bad-catalog.yaml'), 'guard:\n  catalog: bad-catalog.yaml\n');
    const [human, json] = await Promise.all([
      warrant(['config', 'validate', 'with-bad-catalog.yaml']),
      warrant(['config', 'validate', 'with-bad-catalog.yaml', '--json']),
    ]);
    assert.equal(human.code, 1);
    assert.match(
      human.stderr,
      /invalid action catalog bad-catalog\.yaml at \/actions\/0\/parameters\/amount\/pointer: expected an RFC 6901 JSON pointer/,
    );
    assert.doesNotMatch(human.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(json.code, 1);
    const out = JSON.parse(json.stdout);
    assert.equal(out.valid, false);
    assert.equal(out.file, 'bad-catalog.yaml');
    assert.equal(out.path, '/actions/0/parameters/amount/pointer');
  });

  test('validate accepts a good catalog and says so', async () => {
    writeFileSync(
      join(dir, 'good-catalog.yaml'),
      'actions:\n  - name: payments:refund\n    match: { protocol: http, method: POST, path: /refunds }\n' +
        '    parameters:\n      amount: { in: body, pointer: /amount }\n      rows: { in: none }\n',
    );
    writeFileSync(join(dir, 'with-good-catalog.yaml'), 'guard:\n  catalog: good-catalog.yaml\n');
    const { code, stdout, stderr } = await warrant(['config', 'validate', 'with-good-catalog.yaml']);
    assert.equal(code, 0, stderr);
    assert.match(
      stdout,
      /with-good-catalog\.yaml is valid \(action catalog good-catalog\.yaml: 1 actions, valid\)/,
    );
  });

  test('gateway refuses to start on a bad catalog, naming the entry, before contacting the STS', async () => {
    writeFileSync(
      join(dir, 'gw-catalog.yaml'),
      'actions:\n  - name: x\n    match: { protocol: http, path: /x }\n' +
        '    parameters:\n      amount: { in: body, pointer: amount }\n',
    );
    writeFileSync(
      join(dir, 'gateway-bad-catalog.yaml'),
      'gateway:\n  issuer: http://127.0.0.1:9\n  listen: { port: 0 }\nguard:\n  catalog: gw-catalog.yaml\n',
    );
    const { code, stderr } = await warrant(['gateway', '--config', 'gateway-bad-catalog.yaml']);
    assert.equal(code, 1);
    assert.match(
      stderr,
      /cannot start the gateway: action catalog gw-catalog\.yaml at \/actions\/0\/parameters\/amount\/pointer/,
    );
    assert.match(stderr, /warrant config validate gateway-bad-catalog\.yaml/);
    assert.doesNotMatch(stderr, /Is the STS/);
  });

  test('schema --catalog prints the JSON Schema of the action catalog', async () => {
    const { code, stdout } = await warrant(['config', 'schema', '--catalog']);
    assert.equal(code, 0);
    const schema = JSON.parse(stdout);
    assert.equal(schema.$id, 'urn:warrant:schema:catalog:v1');
    assert.ok(schema.$defs.parameter);
  });

  test('schema prints the JSON Schema', async () => {
    const { code, stdout } = await warrant(['config', 'schema']);
    assert.equal(code, 0);
    const schema = JSON.parse(stdout);
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.additionalProperties, false);
  });
});

describe('warrant token inspect', () => {
  const key = generateSigningKey();
  const token = signCompact(
    { typ: 'warrant+jwt' },
    { iss: 'https://sts.test', sub: 'alice', txn: 't-1' },
    key,
  );

  test('decodes header and claims, prints the token hash, says it did not verify', async () => {
    const { code, stdout } = await warrant(['token', 'inspect', token]);
    assert.equal(code, 0);
    assert.match(stdout, /NOT verified/);
    assert.ok(stdout.includes(tokenHash(token)));
    assert.match(stdout, /"typ":"warrant\+jwt"/);
    assert.match(stdout, /"txn": "t-1"/);
  });

  test('reads the token from standard input with -, and prints JSON', async () => {
    const { code, stdout } = await warrant(['token', 'inspect', '-', '--json'], `${token}\n`);
    assert.equal(code, 0);
    const out = JSON.parse(stdout);
    assert.equal(out.verified, false);
    assert.equal(out.hash, tokenHash(token));
    assert.equal(out.header.kid, key.kid);
    assert.equal(out.claims.sub, 'alice');
  });

  test('a malformed token exits 1 with what to do next', async () => {
    const { code, stderr } = await warrant(['token', 'inspect', 'not-a-token']);
    assert.equal(code, 1);
    assert.match(stderr, /cannot decode the token/);
  });
});

describe('warrant dev', () => {
  /** Starts `warrant dev` and resolves with the process and its base URL once it prints its start line. */
  function startDev(
    args: readonly string[],
  ): Promise<{ child: ChildProcess; url: string; line: string; stdout: () => string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'dev', ...args], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const match = /^warrant dev listening on (http:\/\/\S+) .*$/m.exec(stdout);
        if (match) resolve({ child, url: match[1]!, line: match[0], stdout: () => stdout });
      });
      child.on('exit', (code) => reject(new Error(`warrant dev exited with ${code}: ${stderr}`)));
    });
  }

  function stop(child: ChildProcess): Promise<number | null> {
    return new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  }

  async function jwksKid(url: string): Promise<string> {
    const response = await fetch(`${url}/.well-known/jwks.json`);
    assert.equal(response.status, 200);
    const jwks = (await response.json()) as { keys: { kid: string; d?: string }[] };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]!.d, undefined);
    assert.match(jwks.keys[0]!.kid, /^[A-Za-z0-9_-]{43}$/);
    return jwks.keys[0]!.kid;
  }

  test('serves the JWKS and /healthz, keeps its key across restarts, stops cleanly on SIGTERM', async () => {
    const data = join(dir, 'dev-data');
    const first = await startDev(['--port', '0', '--data', data]);
    try {
      assert.match(
        first.line,
        /^warrant dev listening on http:\/\/127\.0\.0\.1:\d+ \(data: .*dev-data, store: sqlite\)$/,
      );
      assert.doesNotMatch(first.url, /:0$/, 'prints the actual port');
      const kid = await jwksKid(first.url);
      const health = await fetch(`${first.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const missing = await fetch(`${first.url}/nope`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: string }).error, 'not_found');
      assert.equal(statSync(data).mode & 0o777, 0o700);
      assert.equal(statSync(join(data, 'warrant.db')).mode & 0o777, 0o600);
      assert.equal(statSync(join(data, 'admin-token')).mode & 0o777, 0o600);
      assert.equal(await stop(first.child), 0);

      const second = await startDev(['--port', '0', '--data', data]);
      try {
        assert.equal(await jwksKid(second.url), kid, 'the signing key is reused');
      } finally {
        assert.equal(await stop(second.child), 0);
      }
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
    }
  });

  test('stdout not a terminal: the STS logs one JSON line per request (the start lines aside)', async () => {
    const running = await startDev(['--port', '0', '--data', join(dir, 'dev-json')]);
    try {
      assert.equal((await fetch(`${running.url}/jwks`)).status, 200);
      const deadline = Date.now() + 5000;
      while (!running.stdout().includes('"path":"/jwks"') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      assert.equal(await stop(running.child), 0);
    }
    const lines = running
      .stdout()
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('warrant dev listening on '));
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const jwks = logged.find((l) => l['msg'] === 'access' && l['path'] === '/jwks');
    assert.equal(jwks?.['service'], 'sts');
    assert.equal(jwks?.['level'], 'info');
    assert.equal(jwks?.['status'], 200);
  });

  test('stdout a terminal: human-readable log lines, not JSON', { skip: !hasScript() }, async () => {
    const data = join(dir, 'dev-tty');
    // script(1) gives the command a pseudo-terminal and copies what it writes to our pipe.
    const command = [process.execPath, MAIN, 'dev', '--port', '0', '--data', data].join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, env, stdio: 'pipe' });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      while (url === undefined && Date.now() < deadline) {
        url = /warrant dev listening on (http:\/\/\S+)/.exec(out)?.[1];
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(url, out);
      assert.equal((await fetch(`${url}/jwks`)).status, 200);
      while (!out.includes('/jwks') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: colours on a terminal
    const text = out.replace(/\u001b\[[0-9;]*m/g, '');
    const line = text.split(/\r?\n/).find((l) => l.includes('"path":"/jwks"'));
    assert.ok(line, text);
    assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: access \{/);
  });

  test('a bad --port is a usage error', async () => {
    const { code, stderr } = await warrant(['dev', '--port', 'eighty']);
    assert.equal(code, 2);
    assert.match(stderr, /--port expects an integer from 0 to 65535/);
  });
});

describe('warrant serve', () => {
  test('starts the control plane from a file: JSON logs, /readyz and /metrics; no admin API without a token', async () => {
    const data = join(dir, 'serve-data');
    writeFileSync(
      join(dir, 'serve.yaml'),
      `dataDir: ${JSON.stringify(data)}\nsts:\n  listen: { host: 127.0.0.1, port: 0 }\n`,
    );
    const child = spawn(process.execPath, [MAIN, 'serve', '--config', 'serve.yaml'], {
      cwd: dir,
      env: { ...env, WARRANT_ADMIN_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    try {
      const deadline = Date.now() + 30_000;
      let url: string | undefined;
      while (url === undefined && Date.now() < deadline) {
        url = /^warrant serve listening on (http:\/\/\S+) /m.exec(stdout)?.[1];
        if (child.exitCode !== null) assert.fail(`serve exited: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(url, stderr);
      assert.match(stderr, /no admin credential in \$WARRANT_ADMIN_TOKEN: the admin API is disabled/);
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { ready: true, store: true, hotState: true });
      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /^warrant_build_info\{service="sts",version="[^"]+"\} 1$/m);
      assert.equal((await fetch(`${url}/admin/agents`)).status, 404);
      while (!stdout.includes('"path":"/admin/agents"') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
    const logged = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(logged.some((l) => l['msg'] === 'sts listening' && l['service'] === 'sts'));
    const admin = logged.find((l) => l['msg'] === 'access' && l['path'] === '/admin/agents');
    assert.equal(admin?.['status'], 404);
    assert.equal(admin?.['code'], 'WARRANT_NOT_FOUND');
    assert.match(stderr, /warrant serve stopped \(SIGTERM\)/);
  });
});

describe('warrant token verify: closed claim sets (DESIGN §3)', () => {
  const fixture = buildChain(1);
  const key = fixture.issuerKey;
  const claims = fixture.claims[0]! as unknown as Record<string, unknown>;
  const jwks = join(dir, 'closed-claims-jwks.json');
  writeFileSync(jwks, JSON.stringify(new KeySet([key]).toJwks()));

  test('the well-formed warrant verifies (the fixture is sound)', async () => {
    const { code, stderr } = await warrant(['token', 'verify', fixture.tokens[0]!, '--jwks', jwks]);
    assert.equal(code, 0, stderr);
  });

  test('a signed warrant with an unknown top-level claim: exit 1, WARRANT_CLAIM_UNKNOWN', async () => {
    const token = signCompact({ typ: 'warrant+jwt' }, { ...claims, role: 'admin' }, key);
    const [human, json] = await Promise.all([
      warrant(['token', 'verify', token, '--jwks', jwks]),
      warrant(['token', 'verify', token, '--jwks', jwks, '--json']),
    ]);
    assert.equal(human.code, 1);
    assert.match(human.stderr, /token rejected: claim role is not a warrant claim \(WARRANT_CLAIM_UNKNOWN\)/);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).code, 'WARRANT_CLAIM_UNKNOWN');
  });

  test('a signed warrant without status: exit 1, WARRANT_STATUS_MISSING', async () => {
    const { status: _, ...rest } = claims;
    const token = signCompact({ typ: 'warrant+jwt' }, rest, key);
    const { code, stdout } = await warrant(['token', 'verify', token, '--jwks', jwks, '--json']);
    assert.equal(code, 1);
    assert.equal(JSON.parse(stdout).code, 'WARRANT_STATUS_MISSING');
  });
});
