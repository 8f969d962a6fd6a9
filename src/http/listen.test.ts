import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer, Agent as HttpsAgent, get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { selfSigned } from '../../test/support/tls.ts';
import { listen, reloadableTls } from './listen.ts';

test('listen: binds a free port and names its URL; a port in use rejects', async () => {
  const a = createServer((_req, res) => res.end('ok'));
  const { url, address } = await listen(a, 0, '127.0.0.1');
  assert.equal(url, `http://127.0.0.1:${address.port}`);
  assert.equal(await (await fetch(url)).text(), 'ok');
  const b = createServer();
  await assert.rejects(listen(b, address.port, '127.0.0.1'), /EADDRINUSE/);
  await new Promise((r) => a.close(r));
});

/** The certificate's CN a new TLS connection to `port` is served. */
function servedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

test('reloadableTls: a new certificate is served after reload and after the files change, the listener stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-tls-'));
  const first = selfSigned(dir, 'first');
  const second = selfSigned(dir, 'second');
  const third = selfSigned(dir, 'third');
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  copyFileSync(first.cert, files.cert);
  copyFileSync(first.key, files.key);
  const server = createHttpsServer(
    { cert: readFileSync(files.cert), key: readFileSync(files.key), keepAliveTimeout: 30_000 },
    (_req, res) => res.end('ok'),
  );
  const errors: unknown[] = [];
  const { address } = await listen(server, 0, '127.0.0.1');
  const tls = reloadableTls(
    server,
    files,
    { minVersion: 'TLSv1.2' },
    { watchMs: 100, onError: (e) => errors.push(e) },
  );
  // A keep-alive connection opened before any reload.
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const get = () =>
    new Promise<string>((resolve, reject) => {
      httpsGet({ host: '127.0.0.1', port: address.port, agent, path: '/' }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
  try {
    assert.equal(await servedName(address.port), 'first');
    assert.equal(await get(), 'ok');
    // SIGHUP's path: reload() after the files were replaced.
    copyFileSync(second.cert, files.cert);
    copyFileSync(second.key, files.key);
    assert.equal(tls.reload(), true);
    assert.equal(await servedName(address.port), 'second');
    assert.equal(await get(), 'ok', 'the connection opened before the reload still answers');
    assert.equal(server.listening, true);
    // A broken file changes nothing.
    writeFileSync(files.cert, 'not a certificate');
    assert.equal(tls.reload(), false);
    assert.equal(errors.length, 1);
    assert.equal(await servedName(address.port), 'second');
    // The watch: new files are picked up without any call (bounded wait for the poll).
    copyFileSync(third.key, files.key);
    copyFileSync(third.cert, files.cert);
    let served = '';
    for (let i = 0; i < 100 && served !== 'third'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      served = await servedName(address.port);
    }
    assert.equal(served, 'third');
    assert.equal((server.address() as { port: number }).port, address.port, 'same listener');
  } finally {
    tls.close();
    agent.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});
