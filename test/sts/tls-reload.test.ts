/**
 * TLS on the STS listener (`sts.tls`) and its certificate reloaded without a restart (issue 14): the control
 * plane serves https, and after the files are replaced `reloadTls()` (what SIGHUP calls in `warrant serve`)
 * makes new connections get the new certificate while the listener and its port stay.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { loadConfig } from '../../src/config/load-config.ts';
import { startControlPlane } from '../../src/runtime/control-plane.ts';
import { openStore } from '../../src/store/open-store.ts';
import { quietLogger } from '../support/sts-harness.ts';
import { selfSigned } from '../support/tls.ts';

const servedName = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().subject?.CN));
      socket.end();
    });
    socket.on('error', reject);
  });

test('the STS serves https from sts.tls and a new certificate after reloadTls, on the same listener', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-sts-tls-'));
  const [one, two] = [selfSigned(dir, 'one'), selfSigned(dir, 'two')];
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  copyFileSync(one.cert, files.cert);
  copyFileSync(one.key, files.key);
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  const config = loadConfig(undefined, {
    dataDir: join(dir, 'data'),
    sts: { listen: { host: '127.0.0.1', port: 0 }, tls: files },
  });
  const plane = await startControlPlane(config, { store, logger: quietLogger() });
  try {
    assert.match(plane.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(plane.url).port);
    const status = await new Promise<number | undefined>((resolve, reject) =>
      httpsGet(`${plane.url}/jwks`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject),
    );
    assert.equal(status, 200);
    assert.equal(await servedName(port), 'one');
    copyFileSync(two.cert, files.cert);
    copyFileSync(two.key, files.key);
    assert.equal(plane.reloadTls(), true);
    assert.equal(await servedName(port), 'two', 'the new certificate, no restart');
    assert.equal(plane.server.listening, true);
  } finally {
    await plane.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
