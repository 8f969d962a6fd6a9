/**
 * The dashboard's server side against `warrant dev --demo` in this process: sign-in (operator, person through
 * OIDC code + PKCE), sessions and their cookie, the CSRF check, roles (a person sees and decides only their
 * own work and approvals), static files with their security headers, and the live stream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ADMIN_TOKEN,
  api,
  type DemoDashboard,
  pendingPayment,
  type Signed,
  signInOperator,
  signInPerson,
  signsInToOrchestrator,
  startDemoDashboard,
} from '../support/dashboard.ts';

let demo: DemoDashboard;
let url: string;
let operator: Signed;
let alice: Signed;
let bob: Signed;

before(async () => {
  demo = await startDemoDashboard();
  url = demo.url;
  operator = await signInOperator(url);
  alice = await signInPerson(url, 'alice@example.org');
  bob = await signInPerson(url, 'bob@example.org');
});
after(() => demo?.close());

describe('without a session', () => {
  test('pages redirect to sign-in; the API answers 401 WARRANT_DASHBOARD_SIGN_IN_REQUIRED', async () => {
    for (const page of ['/ui', '/ui/', '/ui/approvals', '/ui/agents', '/ui/lineage/txn_x', '/ui/records/1']) {
      const r = await fetch(`${url}${page}`, { redirect: 'manual' });
      assert.equal(r.status, 302, page);
      assert.match(r.headers.get('location')!, /^\/ui\/sign-in/, page);
    }
    for (const path of ['/me', '/decisions', '/decisions/stream', '/approvals', '/ledger', '/admin/agents']) {
      const r = await api(url, undefined)('GET', path);
      assert.equal(r.status, 401, path);
      assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_DASHBOARD_SIGN_IN_REQUIRED');
    }
    const forged = await fetch(`${url}/ui/api/me`, { headers: { cookie: 'warrant_ui=not-a-session' } });
    assert.equal(forged.status, 401);
  });

  test('the sign-in page is served with a strict CSP, nosniff and no framing', async () => {
    const r = await fetch(`${url}/ui/sign-in`);
    assert.equal(r.status, 200);
    const csp = r.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    const html = await r.text();
    assert.match(html, /<script type="module" crossorigin src="\/ui\/assets\/index-[\w-]+\.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing is loaded from another origin');
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${url}${script}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    assert.equal((await fetch(`${url}/ui/assets/..%2f..%2fwarrant.db`)).status, 404);
  });

  test('a wrong admin credential does not sign in', async () => {
    const r = await fetch(`${url}/ui/auth/operator`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ token: `${ADMIN_TOKEN}x` }),
    });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_DASHBOARD_SIGN_IN_FAILED');
    assert.deepEqual(r.headers.getSetCookie(), []);
  });

  test('an OIDC callback without the browser that started the sign-in is refused', async () => {
    const start = await fetch(`${url}/ui/auth/oidc`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    const authorize = new URL(start.headers.get('location')!);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('state') && authorize.searchParams.get('nonce'));
    const form = new URLSearchParams(authorize.searchParams);
    form.set('login', 'mallory@example.org');
    const code = await fetch(`${authorize.origin}${authorize.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      redirect: 'manual',
    });
    const callback = code.headers.get('location')!;
    const r = await fetch(callback, { redirect: 'manual' });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_DASHBOARD_SIGN_IN_FAILED');
  });
});

describe('sessions', () => {
  test('the cookie is HttpOnly, SameSite=Strict, Path=/ui (no Secure over plain http)', async () => {
    const r = await fetch(`${url}/ui/auth/operator`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    const [cookie] = r.headers.getSetCookie();
    assert.match(cookie!, /^warrant_ui=[\w-]{43}; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=28800$/);
  });

  test('a person signed in through OIDC is who the provider said', async () => {
    const me = (await (await api(url, alice)('GET', '/me')).json()) as {
      role: string;
      person: { sub: string };
    };
    assert.equal(me.role, 'person');
    assert.equal(me.person.sub, 'alice@example.org');
  });

  test('signing out ends the session', async () => {
    const s = await signInOperator(url);
    const out = await fetch(`${url}/ui/auth/sign-out`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: url },
    });
    assert.equal(out.status, 200);
    assert.equal((await api(url, s)('GET', '/me')).status, 401);
  });
});

describe('CSRF', () => {
  test('a state change from another origin, without Origin, or without the CSRF token is refused', async () => {
    const call = api(url, operator);
    const body = { key: 'agent:spiffe://warrant.local/agent/nobody', reason: 'csrf test' };
    for (const [what, headers] of [
      ['cross-site Origin', { origin: 'https://evil.example' }],
      ['cross-site Origin and no token', { origin: 'https://evil.example', 'x-csrf-token': '' }],
      ['no CSRF token', { 'x-csrf-token': '' }],
      ['a wrong CSRF token', { 'x-csrf-token': `${operator.csrf}x` }],
    ] as const) {
      const r = await call('POST', '/admin/breakers/reset', body, headers as Record<string, string>);
      assert.equal(r.status, 403, what);
      assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_DASHBOARD_CSRF', what);
    }
    const noOrigin = await fetch(`${url}/ui/api/admin/breakers/reset`, {
      method: 'POST',
      headers: { cookie: operator.cookie, 'x-csrf-token': operator.csrf, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(noOrigin.status, 403, 'no Origin and no Sec-Fetch-Site');
    const ok = await call('POST', '/admin/breakers/reset', body);
    assert.equal(ok.status, 200, 'the same request from this origin with the token');
  });

  test('a sign-in form posted from another site is refused', async () => {
    const r = await fetch(`${url}/ui/auth/operator`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_DASHBOARD_CSRF');
  });
});

describe('roles', () => {
  test("a person sees the decisions on their behalf, never another's; the operator sees all", async () => {
    const all = (await (await api(url, operator)('GET', '/decisions')).json()) as {
      items: { person?: { sub: string } }[];
    };
    assert.ok(all.items.length > 5);
    const mine = (await (await api(url, alice)('GET', '/decisions')).json()) as typeof all;
    assert.ok(mine.items.length > 0);
    assert.ok(mine.items.every((d) => d.person?.sub === 'alice@example.org'));
    const bobs = (await (await api(url, bob)('GET', '/decisions')).json()) as typeof all;
    assert.deepEqual(bobs.items, [], "bob sees none of alice's work");
    const filtered = (await (await api(url, bob)('GET', '/decisions?person=alice')).json()) as typeof all;
    assert.deepEqual(filtered.items, [], 'a filter does not widen what a person sees');
  });

  test("a person cannot open another's transaction or record (404, as for none)", async () => {
    const txn = demo.dev.demoTxn!;
    assert.equal((await api(url, alice)('GET', `/lineage/${txn}`)).status, 200);
    assert.equal((await api(url, bob)('GET', `/lineage/${txn}`)).status, 404);
    const lineage = (await (await api(url, operator)('GET', `/lineage/${txn}`)).json()) as {
      decisions: { index: number }[];
    };
    const index = lineage.decisions[0]!.index;
    assert.equal((await api(url, alice)('GET', `/records/${index}`)).status, 200);
    assert.equal((await api(url, bob)('GET', `/records/${index}`)).status, 404);
  });

  test('a person cannot use the admin API or export the ledger (403 WARRANT_DASHBOARD_FORBIDDEN)', async () => {
    for (const [method, path] of [
      ['GET', '/admin/agents'],
      ['POST', '/admin/contain'],
      ['GET', '/routes'],
      ['GET', '/ledger/export'],
    ] as const) {
      const r = await api(url, alice)(
        method,
        path,
        method === 'POST' ? { txn: demo.dev.demoTxn } : undefined,
      );
      assert.equal(r.status, 403, path);
      assert.equal(((await r.json()) as { code: string }).code, 'WARRANT_DASHBOARD_FORBIDDEN', path);
    }
  });

  test("only the person it is addressed to sees and decides an approval; the agent's call then goes through", async () => {
    const payment = await pendingPayment(demo.world);
    const listed = async (who: Signed) =>
      (
        (await (await api(url, who)('GET', '/approvals?status=pending')).json()) as {
          approvals: { id: string }[];
        }
      ).approvals.map((a) => a.id);
    assert.ok((await listed(alice)).includes(payment.approvalId));
    assert.ok(!(await listed(bob)).includes(payment.approvalId), 'bob does not see it');
    assert.ok((await listed(operator)).includes(payment.approvalId), 'the operator sees it');

    const byBob = await api(url, bob)('POST', `/approvals/${payment.approvalId}/approve`, { reason: 'sure' });
    assert.equal(byBob.status, 403);
    assert.equal(((await byBob.json()) as { code: string }).code, 'WARRANT_APPROVAL_NOT_ADDRESSED_TO_YOU');
    const byOperator = await api(url, operator)('POST', `/approvals/${payment.approvalId}/approve`, {
      reason: 'sure',
    });
    assert.equal(byOperator.status, 403, "an operator does not decide a person's approval");

    const byAlice = await api(url, alice)('POST', `/approvals/${payment.approvalId}/approve`, {
      reason: 'the Globex invoice is due',
      narrow: { windowSeconds: 60 },
    });
    assert.equal(byAlice.status, 200, await byAlice.clone().text());
    assert.equal(((await byAlice.json()) as { status: string }).status, 'approved');
    const paid = await payment.sendApproved();
    assert.equal(paid.ok, true, paid.refusal?.code);
  });
});

describe('live decisions', () => {
  test('the stream carries a new decision of alice to alice, and not to bob', async () => {
    const open = async (who: Signed, lastEventId?: number) => {
      const controller = new AbortController();
      const r = await fetch(`${url}/ui/api/decisions/stream`, {
        headers: {
          cookie: who.cookie,
          ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }),
        },
        signal: controller.signal,
      });
      assert.equal(r.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = r.body!.getReader();
      let text = '';
      const until = async (pattern: RegExp) => {
        while (!pattern.test(text)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
        return text;
      };
      return { until, text: () => text, close: () => controller.abort() };
    };
    const aliceStream = await open(alice);
    const bobStream = await open(bob);
    await aliceStream.until(/: decisions/);
    await bobStream.until(/: decisions/);
    const payment = await pendingPayment(demo.world, 1900);
    const seen = await aliceStream.until(/"decision":"approval_required"/);
    assert.match(seen, new RegExp(`"txn":"${payment.txn}"`));
    // Then bob's own payment: his stream carries it, and nothing recorded before it (alice's).
    const bobs = await pendingPayment(demo.world, 1700, await signsInToOrchestrator(demo, 'bob@example.org'));
    const bobSaw = await bobStream.until(new RegExp(`"txn":"${bobs.txn}"`));
    assert.doesNotMatch(bobSaw, new RegExp(payment.txn));
    assert.doesNotMatch(bobSaw, /alice@example\.org/);
    aliceStream.close();
    bobStream.close();

    // A browser reconnecting with the last id it got is told what it missed first.
    const index = Number(/id: (\d+)\ndata: [^\n]*"decision":"approval_required"/.exec(seen)![1]);
    const resumed = await open(alice, index - 1);
    const replay = await resumed.until(/: decisions/);
    assert.match(replay, new RegExp(`id: ${index}\\n`), 'the missed decision comes first');
    assert.doesNotMatch(replay.slice(0, replay.indexOf(': decisions')), /bob@example\.org/);
    resumed.close();
  });
});
