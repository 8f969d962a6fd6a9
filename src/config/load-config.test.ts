import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import { headerBytesForDepth } from './header-budget.ts';
import { defaultConfig, loadConfig } from './load-config.ts';
import { configSchema } from './validate-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'warrant-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(dir, `config-${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

/** Asserts that loading `text` fails with WARRANT_CONFIG_INVALID at `path`, and returns the message. */
function rejects(text: string, path: string, ext?: string): string {
  const target = file(text, ext);
  let caught: unknown;
  try {
    loadConfig(target);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, 'WARRANT_CONFIG_INVALID');
  assert.equal(caught.path, path);
  assert.ok(caught.message.startsWith(`${path || '/'}: `), caught.message);
  return caught.message;
}

describe('defaults', () => {
  test('no file gives every option its schema default', () => {
    const config = loadConfig();
    assert.equal(config.trustDomain, 'warrant.local');
    assert.equal(config.dataDir, './.warrant');
    assert.deepEqual(config.store, { kind: 'sqlite' });
    assert.equal(config.redis, undefined);
    assert.deepEqual(config.sts.listen, { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(config.sts.algorithms, ['EdDSA']);
    assert.equal(config.sts.identityTokenLifetime, 300);
    assert.equal(config.sts.warrantLifetime, 600);
    assert.equal(config.sts.hopLifetime, 300);
    assert.equal(config.sts.maxDepth, 5);
    assert.deepEqual(config.sts.trustedIssuers, []);
    assert.equal(config.sts.devUserIssuer.enabled, false);
    assert.equal(config.admin.tokenEnv, 'WARRANT_ADMIN_TOKEN');
    assert.equal(config.gateway.replayCache, 'memory');
    assert.equal(config.gateway.statusStalenessSeconds, 60);
    assert.deepEqual(config.gateway.routes, []);
    assert.equal(config.dashboard.enabled, true, 'the dashboard is served under /ui by default');
    assert.equal(config.dashboard.sessionTtlSeconds, 28_800);
    assert.deepEqual(config.ledger, {
      checkpointEvery: { records: 1000, ms: 1000 },
      mode: 'single-writer',
      integrateMs: 500,
      leaseMs: 10_000,
      witnesses: [],
    });
  });

  test('ledger.mode replicated needs PostgreSQL, a lease longer than two rounds, witness keys that parse', () => {
    const pg = { store: { kind: 'postgres' as const, url: 'postgres://x@localhost/db' } };
    assert.equal(loadConfig(undefined, { ...pg, ledger: { mode: 'replicated' } }).ledger.mode, 'replicated');
    assert.throws(() => loadConfig(undefined, { ledger: { mode: 'replicated' } }), { path: '/ledger/mode' });
    assert.throws(() => loadConfig(undefined, { ledger: { mode: 'leaderless' as 'replicated' } }), {
      path: '/ledger/mode',
    });
    assert.throws(() => loadConfig(undefined, { ...pg, ledger: { integrateMs: 500, leaseMs: 1000 } }), {
      path: '/ledger/leaseMs',
    });
    assert.throws(() => loadConfig(undefined, { ledger: { witnesses: ['w+00000000+AAAA'] } }), {
      path: '/ledger/witnesses/0',
    });
  });

  test('dashboard: enabled can be turned off; an OIDC provider needs an issuer URL and a client id', () => {
    assert.equal(loadConfig(undefined, { dashboard: { enabled: false } }).dashboard.enabled, false);
    const oidc = { issuer: 'https://idp.example.org', clientId: 'warrant' };
    assert.deepEqual(loadConfig(undefined, { dashboard: { oidc } }).dashboard.oidc?.scopes, [
      'openid',
      'email',
    ]);
    assert.throws(() => loadConfig(undefined, { dashboard: { oidc: { ...oidc, issuer: 'idp' } } }), {
      path: '/dashboard/oidc/issuer',
    });
  });

  test('defaultConfig() equals loading no file', () => {
    assert.deepEqual(defaultConfig(), loadConfig());
  });

  test('the defaults cover every top-level option of the schema except the optional ones', () => {
    const properties = Object.keys(configSchema['properties'] as object);
    const optional = new Set(['$schema', 'redis']);
    assert.deepEqual(Object.keys(defaultConfig()).sort(), properties.filter((p) => !optional.has(p)).sort());
  });

  test('an empty file is the default configuration', () => {
    assert.deepEqual(loadConfig(file('# nothing yet\n')), defaultConfig());
  });

  test('overrides apply on top of the file and are validated with it', () => {
    const path = file('sts:\n  maxDepth: 3\n  listen: { port: 9000 }\n');
    const config = loadConfig(path, { dataDir: '/tmp/w', sts: { listen: { host: '0.0.0.0' } } });
    assert.equal(config.sts.maxDepth, 3);
    assert.deepEqual(config.sts.listen, { host: '0.0.0.0', port: 9000 });
    assert.equal(config.dataDir, '/tmp/w');
    assert.throws(() => loadConfig(path, { sts: { listen: { port: 70000 } } }), { path: '/sts/listen/port' });
  });
});

describe('a valid file', () => {
  test('YAML with every part', () => {
    const config = loadConfig(
      file(`
$schema: ./node_modules/warrant/src/config/schema.json
trustDomain: example.org
dataDir: /var/lib/warrant
store: { kind: postgres, url: "postgres://warrant@db/warrant" }
redis: { url: "redis://cache:6379" }
sts:
  issuer: https://sts.example.org
  listen: { host: 0.0.0.0, port: 443 }
  algorithms: [ES256, EdDSA]
  identityTokenLifetime: 900
  maxDepth: 8
  trustedIssuers:
    - issuer: https://accounts.example.org
      audience: warrant
      kind: oidc
    - issuer: https://kubernetes.default.svc
      jwksFile: /etc/warrant/k8s-jwks.json
      audience: warrant
      kind: kubernetes
      mapping: { pattern: "^system:serviceaccount:agents:(.+)$", agent: "$1" }
policy: { delegation: policies/delegation.cedar, action: policies/action.cedar, schema: policies/schema.cedarschema }
gateway:
  routes:
    - match: { host: tools.example.org, pathPrefix: /mcp }
      upstream: http://127.0.0.1:9000
      audience: https://tools.example.org/mcp
      protocol: mcp
      signedBodies: true
  replayCache: redis
ledger: { checkpointEvery: { records: 500, ms: 250 } }
guard: { catalog: catalog.yaml }
dashboard: { enabled: false }
`),
    );
    assert.equal(config.trustDomain, 'example.org');
    assert.equal(config.store.kind, 'postgres');
    assert.deepEqual(config.sts.algorithms, ['ES256', 'EdDSA']);
    assert.equal(config.sts.warrantLifetime, 600, 'defaults fill the options the file leaves out');
    assert.equal(config.sts.trustedIssuers[1]!.mapping!.claim, 'sub');
    assert.equal(config.gateway.routes[0]!.protocol, 'mcp');
    assert.equal(config.gateway.listen.port, 8081);
    assert.equal(config.ledger.checkpointEvery.ms, 250);
    assert.equal(config.dashboard.enabled, false);
  });

  test('JSON', () => {
    const config = loadConfig(file('{"trustDomain": "example.org", "sts": {"maxDepth": 2}}', 'json'));
    assert.equal(config.sts.maxDepth, 2);
  });
});

describe('an invalid file names the failing option', () => {
  test('unknown key', () => {
    const message = rejects('sts:\n  maxDepht: 3\n', '/sts/maxDepht');
    assert.match(message, /unknown option; expected one of: .*maxDepth/);
  });

  test('unknown top-level key', () => {
    rejects('gatway: {}\n', '/gatway');
  });

  test('wrong type', () => {
    assert.match(rejects('sts:\n  maxDepth: "five"\n', '/sts/maxDepth'), /expected an integer, got a string/);
    rejects('gateway:\n  routes: {}\n', '/gateway/routes');
    rejects('dashboard:\n  enabled: "yes"\n', '/dashboard/enabled');
  });

  test('out-of-range number', () => {
    assert.match(
      rejects('sts:\n  identityTokenLifetime: 3600\n', '/sts/identityTokenLifetime'),
      /from 10 to 900/,
    );
    rejects('sts:\n  maxDepth: 0\n', '/sts/maxDepth');
    rejects('sts:\n  listen: { port: 65536 }\n', '/sts/listen/port');
  });

  test('bad enum', () => {
    assert.match(rejects('store: { kind: mysql }\n', '/store/kind'), /expected one of: sqlite, postgres/);
    rejects('sts:\n  algorithms: [EdDSA, RS256]\n', '/sts/algorithms/1');
    rejects(
      'gateway:\n  routes:\n    - { match: { pathPrefix: / }, upstream: "http://x", audience: a, protocol: grpc }\n',
      '/gateway/routes/0/protocol',
    );
  });

  test('missing required option', () => {
    rejects(
      'gateway:\n  routes:\n    - { match: { pathPrefix: / }, audience: a, protocol: http }\n',
      '/gateway/routes/0/upstream',
    );
  });

  test('pattern', () => {
    assert.match(rejects('trustDomain: Example.ORG\n', '/trustDomain'), /DNS name/);
    assert.match(rejects('redis: { url: "http://cache" }\n', '/redis/url'), /redis:\/\//);
  });

  test('duplicate key, nested or top-level, YAML or JSON', () => {
    assert.match(rejects('sts:\n  maxDepth: 3\n  maxDepth: 4\n', '/sts/maxDepth'), /duplicate key/);
    rejects('dataDir: a\ndataDir: b\n', '/dataDir');
    rejects('{"sts": {"listen": {"port": 1, "port": 2}}}', '/sts/listen/port', 'json');
    rejects('sts:\n  trustedIssuers:\n    - { issuer: a, issuer: b }\n', '/sts/trustedIssuers/0/issuer');
  });

  test('not an object', () => {
    assert.match(rejects('- a\n- b\n', ''), /expected a configuration object/);
    rejects('just a string\n', '');
    rejects('42', '', 'json');
  });

  test('not YAML at all', () => {
    assert.match(rejects('sts: [1\n', ''), /not valid YAML or JSON \(line \d+, column \d+\)/);
  });

  test('a custom tag', () => {
    rejects('dataDir: !env HOME\n', '');
  });

  test('a missing file', () => {
    assert.throws(() => loadConfig(join(dir, 'nope.yaml')), {
      code: 'WARRANT_CONFIG_INVALID',
      path: '',
      message: /no such file/,
    });
  });

  test('rules across options', () => {
    rejects('store: { kind: postgres }\n', '/store/url');
    rejects('gateway: { replayCache: redis }\n', '/gateway/replayCache');
    rejects(
      'sts:\n  trustedIssuers:\n    - { issuer: a, audience: b, kind: oidc, jwksUri: "https://a/jwks", jwksFile: j.json }\n',
      '/sts/trustedIssuers/0/jwksFile',
    );
    rejects(
      'sts:\n  trustedIssuers:\n    - { issuer: a, audience: b, kind: spiffe, mapping: { pattern: "(", agent: x } }\n',
      '/sts/trustedIssuers/0/mapping/pattern',
    );
    rejects('sts:\n  warrantLifetime: 7200\n', '/sts/keyRotation/overlapSeconds');
  });

  test("trusted issuers: persons' assertion kinds, their age bound, and the audience only workloads need", () => {
    const config = loadConfig(
      file(
        'sts:\n  trustedIssuers:\n' +
          '    - { issuer: https://idp, kind: oidc, assertions: [id_token, id_jag], maxAssertionAgeSeconds: 600 }\n' +
          '    - { issuer: https://login, kind: oidc }\n',
      ),
    );
    assert.deepEqual(config.sts.trustedIssuers[0]!.assertions, ['id_token', 'id_jag']);
    assert.equal(config.sts.trustedIssuers[0]!.maxAssertionAgeSeconds, 600);
    assert.equal(config.sts.trustedIssuers[1]!.audience, undefined, 'a person issuer needs no audience');
    rejects(
      'sts:\n  trustedIssuers:\n    - { issuer: a, kind: oidc, assertions: [saml] }\n',
      '/sts/trustedIssuers/0/assertions/0',
    );
    rejects(
      'sts:\n  trustedIssuers:\n    - { issuer: a, kind: oidc, assertions: [id_jag, id_jag] }\n',
      '/sts/trustedIssuers/0/assertions/1',
    );
    rejects(
      'sts:\n  trustedIssuers:\n    - { issuer: a, kind: oidc, maxAssertionAgeSeconds: 10 }\n',
      '/sts/trustedIssuers/0/maxAssertionAgeSeconds',
    );
    rejects(
      'sts:\n  trustedIssuers:\n    - { issuer: a, audience: b, kind: kubernetes, assertions: [id_token] }\n',
      '/sts/trustedIssuers/0/assertions',
    );
    rejects('sts:\n  trustedIssuers:\n    - { issuer: a, kind: spiffe }\n', '/sts/trustedIssuers/0/audience');
    rejects(
      'sts:\n  trustedIssuers:\n    - { issuer: a, kind: oidc, mapping: { agent: x } }\n',
      '/sts/trustedIssuers/0/audience',
    );
  });

  test('a maxHeaderBytes too small for sts.maxDepth is refused, naming both options', () => {
    const message = rejects(
      'sts: { maxDepth: 15 }\ngateway: { limits: { maxHeaderBytes: 16384 } }\n',
      '/gateway/limits/maxHeaderBytes',
    );
    assert.match(message, /at least 62464 for sts\.maxDepth 15/);
    assert.match(message, /raise gateway\.limits\.maxHeaderBytes or lower sts\.maxDepth/);
    // Enough for the depth is accepted as given.
    const config = loadConfig(file('sts: { maxDepth: 3 }\ngateway: { limits: { maxHeaderBytes: 65536 } }\n'));
    assert.equal(config.gateway.limits.maxHeaderBytes, 65536);
  });

  test('without maxHeaderBytes the limit follows sts.maxDepth (a chain of the deepest delegation fits)', () => {
    assert.equal(loadConfig().gateway.limits.maxHeaderBytes, headerBytesForDepth(5));
    assert.equal(headerBytesForDepth(5), 26 * 1024);
    assert.equal(loadConfig(file('sts: { maxDepth: 15 }\n')).gateway.limits.maxHeaderBytes, 61 * 1024);
    // Past the longest chain a verifier accepts, the budget stops growing.
    assert.equal(headerBytesForDepth(32), headerBytesForDepth(15));
  });

  test('messages never echo the value', () => {
    const message = rejects(
      'store: { kind: sqlite, url: 5 }\nredis: { url: "s3cret://u:p@h" }\n',
      '/store/url',
    );
    assert.doesNotMatch(message, /s3cret/);
    assert.doesNotMatch(rejects('redis: { url: "s3cret://u:p@h" }\n', '/redis/url'), /s3cret/);
  });
});

describe('the result', () => {
  test('is deep-frozen', () => {
    const config = loadConfig(
      file('sts:\n  trustedIssuers:\n    - { issuer: a, audience: b, kind: oidc }\n'),
    );
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.sts));
    assert.ok(Object.isFrozen(config.sts.listen));
    assert.ok(Object.isFrozen(config.sts.algorithms));
    assert.ok(Object.isFrozen(config.sts.trustedIssuers[0]));
    assert.throws(() => {
      (config.sts as { maxDepth: number }).maxDepth = 99;
    }, TypeError);
  });

  test('is a fresh object each time, never shared with the overrides', () => {
    const overrides = { sts: { listen: { port: 1234 } } };
    const a = loadConfig(undefined, overrides);
    assert.notEqual(a, loadConfig(undefined, overrides));
    assert.ok(!Object.isFrozen(overrides.sts.listen));
    assert.deepEqual(overrides, { sts: { listen: { port: 1234 } } });
  });
});

describe('docs/configuration.md', () => {
  /** Dotted names of every option that is not itself an object of options. */
  function leaves(node: Record<string, unknown>, prefix = ''): string[] {
    const properties = node['properties'] as Record<string, Record<string, unknown>> | undefined;
    if (!properties) return [prefix];
    return Object.entries(properties).flatMap(([name, child]) =>
      leaves(child, prefix ? `${prefix}.${name}` : name),
    );
  }

  test('documents every option of the schema', () => {
    const docs = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const defs = configSchema['$defs'] as Record<string, Record<string, unknown>>;
    const names = [...leaves(configSchema), ...leaves(defs['trustedIssuer']!), ...leaves(defs['route']!)];
    assert.ok(names.length > 40);
    for (const name of names) {
      const row = new RegExp(`^\\| \`${name.replaceAll('$', '\\$')}\` +\\|`, 'm');
      assert.match(docs, row, `docs/configuration.md lacks ${name}`);
    }
  });
});
