/**
 * The dashboard on the control plane alone (`warrant serve`: no dev identity provider), with persons signing
 * in through a real, certified OpenID Provider (oidc-provider) configured as `dashboard.oidc`: authorization
 * code + PKCE by openid-client, the ID token verified against the provider's JWKS; a login is single-use and
 * bound to its state.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { type ControlPlane, startControlPlane } from '../../src/runtime/control-plane.ts';
import { createLogger } from '../../src/telemetry/index.ts';
import { type OidcIdp, startOidcIdp } from '../support/oidc-idp.ts';
import { freePort } from '../support/redis-server.ts';

const CLIENT = 'warrant-dashboard';
let dir: string;
let idp: OidcIdp;
let plane: ControlPlane;
let url: string;
let redirectUri: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warrant-dashboard-oidc-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  redirectUri = `${url}/ui/auth/callback`;
  idp = await startOidcIdp(
    [{ sub: 'alice', email: 'alice@example.org' }],
    [{ clientId: CLIENT, redirectUri }],
  );
  const config = loadConfig(undefined, {
    dataDir: join(dir, 'data'),
    sts: { listen: { host: '127.0.0.1', port } },
    dashboard: { oidc: { issuer: idp.issuer, clientId: CLIENT } },
  });
  plane = await startControlPlane(config, {
    adminToken: 'control-plane-admin-token-0123456789',
    logger: createLogger({ service: 'sts', level: 'silent' }),
  });
});

after(async () => {
  await plane?.close();
  await idp?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a sign-in at the dashboard; the provider's answer (the callback URL) and the login cookie. */
async function login(sub: string): Promise<{ callback: URL; cookie: string }> {
  const start = await fetch(`${url}/ui/auth/oidc`, { redirect: 'manual' });
  assert.equal(start.status, 302);
  const cookie = start.headers.getSetCookie()[0]!.split(';')[0]!;
  const authorization = new URL(start.headers.get('location')!);
  assert.equal(authorization.origin, idp.issuer);
  assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
  return { callback: await idp.authorize(authorization, sub, redirectUri), cookie };
}

test('no dev identity provider outside warrant dev; the configured provider is offered', async () => {
  assert.equal(plane.devIdp, undefined);
  assert.equal((await fetch(`${url}/dev-idp/.well-known/openid-configuration`)).status, 404);
  const options = (await (await fetch(`${url}/ui/auth/options`)).json()) as {
    person: { issuer: string; dev: boolean };
  };
  assert.deepEqual(options.person, { issuer: idp.issuer, dev: false });
});

test('a person signs in through oidc-provider (code + PKCE) and is who its ID token says', async () => {
  const { callback, cookie } = await login('alice');
  const done = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
  assert.equal(done.status, 200, await done.clone().text());
  const session = done.headers
    .getSetCookie()
    .find((c) => c.startsWith('warrant_ui='))!
    .split(';')[0]!;
  const me = (await (await fetch(`${url}/ui/api/me`, { headers: { cookie: session } })).json()) as {
    role: string;
    person: { sub: string; iss: string; email?: string };
  };
  // oidc-provider keeps email for userinfo (its ID tokens carry sub): the person is the sub and the issuer.
  assert.deepEqual(me.person, { sub: 'alice', iss: idp.issuer });
  assert.equal(me.role, 'person');
  // Nothing recorded yet on this control plane's ledger: an empty list, not an error.
  const decisions = await fetch(`${url}/ui/api/decisions`, { headers: { cookie: session } });
  assert.deepEqual(await decisions.json(), { items: [] });

  const again = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
  assert.equal(again.status, 401, 'a login is used once');
  assert.equal(((await again.json()) as { code: string }).code, 'WARRANT_DASHBOARD_SIGN_IN_FAILED');
});

test('an answer whose state is not the login’s is refused', async () => {
  const { callback, cookie } = await login('alice');
  callback.searchParams.set('state', 'forged-state');
  const r = await fetch(callback, { headers: { cookie }, redirect: 'manual' });
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_DASHBOARD_SIGN_IN_FAILED');
  assert.equal(r.headers.getSetCookie().filter((c) => c.startsWith('warrant_ui=')).length, 0);
});
