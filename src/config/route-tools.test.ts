import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../core/errors.ts';
import { validateConfig } from './validate-config.ts';

const base = (route: Record<string, unknown>) => ({
  trustDomain: 'warrant.test',
  gateway: {
    routes: [{ match: { pathPrefix: '/mcp' }, upstream: 'http://127.0.0.1:9000', audience: 'a', ...route }],
  },
});

function failsAt(input: unknown, path: string, message: RegExp): void {
  assert.throws(
    () => validateConfig(input),
    (e: unknown) => e instanceof ConfigError && e.path === path && message.test(e.message),
  );
}

test('tools.pinning defaults to off and takes approve or tofu on mcp and a2a routes', () => {
  assert.deepEqual(validateConfig(base({ protocol: 'mcp' })).gateway.routes[0]?.tools, { pinning: 'off' });
  for (const protocol of ['mcp', 'a2a'])
    for (const pinning of ['approve', 'tofu'])
      assert.equal(
        validateConfig(base({ protocol, tools: { pinning } })).gateway.routes[0]?.tools?.pinning,
        pinning,
      );
});

test('bad pinning options are refused at load with the failing path named', () => {
  failsAt(
    base({ protocol: 'mcp', tools: { pinning: 'yes' } }),
    '/gateway/routes/0/tools/pinning',
    /off, approve, tofu/,
  );
  failsAt(base({ protocol: 'mcp', tools: { pin: 'tofu' } }), '/gateway/routes/0/tools/pin', /unknown option/);
  failsAt(
    base({ protocol: 'http', tools: { pinning: 'approve' } }),
    '/gateway/routes/0/tools/pinning',
    /mcp and a2a/,
  );
  failsAt(
    base({ protocol: 'openai', tools: { pinning: 'tofu' } }),
    '/gateway/routes/0/tools/pinning',
    /mcp and a2a/,
  );
});
