import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './command.ts';
import { listenOverride, replicaId } from './replica-options.ts';

test('--listen host:port: IPv4, names and bracketed IPv6; anything else is a usage error', () => {
  assert.deepEqual(listenOverride({ listen: '127.0.0.1:8090' }), { host: '127.0.0.1', port: 8090 });
  assert.deepEqual(listenOverride({ listen: 'localhost:0' }), { host: 'localhost', port: 0 });
  assert.deepEqual(listenOverride({ listen: '[::1]:9000' }), { host: '::1', port: 9000 });
  assert.equal(listenOverride({}), undefined);
  for (const bad of ['8080', '127.0.0.1', '127.0.0.1:70000', 'a b:1', '::1:80'])
    assert.throws(() => listenOverride({ listen: bad }), UsageError, bad);
});

test('--id: a short name of safe characters', () => {
  assert.equal(replicaId({ id: 'gw-2' }), 'gw-2');
  assert.equal(replicaId({}), undefined);
  for (const bad of ['', 'a/b', 'x'.repeat(65), 'gw 1'])
    assert.throws(() => replicaId({ id: bad }), UsageError);
});
