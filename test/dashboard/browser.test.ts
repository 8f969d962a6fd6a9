/**
 * The dashboard end to end in a real browser (Debian's Chromium through playwright-core) against
 * `warrant dev --demo` in this process: an operator and alice sign in (alice through the dev identity
 * provider: authorization code + PKCE), a live decision arrives, alice approves a pending payment and the
 * agent's call goes through, a transaction's lineage graph and its ledger record's inclusion proof are
 * verified in the browser, the operator contains the transaction and its calls are refused, a drifted tool
 * is approved. Markup injected through task text, tool names and descriptions and parameters stays text.
 * A screenshot of each page is saved under test-artifacts/dashboard/.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { personAddress } from '../../src/guard/approvals/store.ts';
import { definitionDigest } from '../../src/guard/pins/digest.ts';
import {
  ADMIN_TOKEN,
  type DemoDashboard,
  type PendingPayment,
  pendingPayment,
  startDemoDashboard,
} from '../support/dashboard.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '../../test-artifacts/dashboard');
/** Markup that would run script if it were ever parsed as HTML. */
const XSS = (n: number) =>
  `<img src=x onerror="window.__xss=${n}"><script>window.__xss=${n}</script><b>bold${n}</b>`;

let demo: DemoDashboard;
let browser: Browser;
let operatorContext: BrowserContext;
let aliceContext: BrowserContext;
let operator: Page;
let alice: Page;
let payment: PendingPayment;

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/** Fails the test on any script error or CSP violation in the page. */
function watch(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      errors.push(`console: ${m.text()}`);
  });
}
const errors: string[] = [];

/** Every form control on the page has an accessible name (a label, aria-label or its text). */
async function assertLabelled(page: Page): Promise<void> {
  // A page-side expression (this file is compiled without the DOM library).
  const unlabelled =
    await page.evaluate(`[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
    .filter((el) => {
      const labelled = el.id !== '' && document.querySelector('label[for="' + el.id + '"]') !== null;
      return !labelled && !el.getAttribute('aria-label') && (el.textContent ?? '').trim() === '';
    })
    .map((el) => el.outerHTML.slice(0, 80))`);
  assert.deepEqual(unlabelled, [], page.url());
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is required`);
  mkdirSync(ARTIFACTS, { recursive: true });
  demo = await startDemoDashboard();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  operatorContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  aliceContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  operator = await operatorContext.newPage();
  alice = await aliceContext.newPage();
  watch(operator, errors);
  watch(alice, errors);
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

describe('the dashboard in a browser', () => {
  test('unauthenticated: a page sends to sign-in', async () => {
    await operator.goto(`${demo.url}/ui/approvals`);
    await operator.waitForURL(/\/ui\/sign-in\?next=%2Fui%2Fapprovals$/);
    await operator.getByRole('heading', { name: 'Sign in to Warrant' }).waitFor();
    await shot(operator, '0-sign-in');
  });

  test('an operator signs in with the admin credential', async () => {
    await operator.getByLabel('Admin credential').fill(ADMIN_TOKEN);
    await operator.getByRole('button', { name: 'Sign in as operator' }).click();
    await operator.waitForURL(`${demo.url}/ui/approvals`);
    await operator.getByTestId('who').filter({ hasText: 'operator' }).waitFor();
  });

  test('alice signs in through the dev identity provider (authorization code + PKCE)', async () => {
    await alice.goto(`${demo.url}/ui/`);
    await alice.waitForURL(/\/ui\/sign-in/);
    await alice.getByRole('link', { name: /Sign in with the dev identity provider/ }).click();
    await alice.waitForURL(/\/dev-idp\/authorize\?/);
    assert.match(alice.url(), /code_challenge_method=S256/);
    await alice.getByLabel('Person (email)').fill('alice@example.org');
    await alice.getByRole('button', { name: 'Sign in' }).click();
    await alice.waitForURL(`${demo.url}/ui/`);
    await alice.getByTestId('who').filter({ hasText: 'alice@example.org (person)' }).waitFor();
  });

  test('a live decision arrives on the page as the ledger records it', async () => {
    await operator.goto(`${demo.url}/ui/`);
    await operator.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
    await alice.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
    payment = await pendingPayment(demo.world, 2100, undefined, { task: `pay Globex ${XSS(1)}` });
    const row = (page: Page) =>
      page
        .getByTestId('decision-row')
        .filter({ hasText: 'approval_required' })
        .filter({ hasText: payment.txn.slice(0, 16) });
    await row(operator).waitFor();
    await row(alice).waitFor();
    // The task text arrived as text.
    await row(operator)
      .getByText(`task: pay Globex ${XSS(1)}`)
      .waitFor();
    await shot(operator, '1-live-decisions');
  });

  test('alice approves the pending payment; the agent’s call then succeeds', async () => {
    await alice.getByRole('link', { name: 'Approvals' }).click();
    const card = alice.locator(`[data-approval-id="${payment.approvalId}"]`);
    await card.waitFor();
    await card.getByLabel('Reason').fill('the Globex invoice is due');
    await shot(alice, '2-approvals');
    await assertLabelled(alice);
    // By keyboard: the confirmation step takes the focus, Enter confirms.
    await card.getByRole('button', { name: 'Approve' }).focus();
    await alice.keyboard.press('Enter');
    await card.getByText(/^Approve payments:transfer\?$/).waitFor();
    assert.equal(await alice.evaluate('document.activeElement?.textContent'), 'Confirm');
    await alice.keyboard.press('Enter');
    await card.waitFor({ state: 'detached' });
    const paid = await payment.sendApproved();
    assert.equal(paid.ok, true, paid.refusal?.code);
  });

  test('the lineage of the transaction, and its record’s inclusion proof verified in the browser', async () => {
    await operator.goto(`${demo.url}/ui/lineage/${encodeURIComponent(payment.txn)}`);
    const graph = operator.getByTestId('lineage-graph');
    await graph.waitFor();
    const label = await graph.getAttribute('aria-label');
    assert.match(label!, /alice@example\.org to demo-orchestrator-\w+/);
    assert.match(label!, /demo-orchestrator-\w+ to demo-payments-\w+/);
    await operator.getByTestId('hop').filter({ hasText: 'payments:transfer' }).first().waitFor();
    await shot(operator, '3-lineage');
    await operator.getByTestId('record-link').first().click();
    const status = operator.getByTestId('proof-status');
    await status.filter({ hasText: /Verified in this browser/ }).waitFor({ timeout: 10_000 });
    await shot(operator, '4-record-proof');
  });

  test('the operator contains the transaction (with a confirmation step); its calls are then refused', async () => {
    assert.equal((await payment.quote()).ok, true, 'allowed before the containment');
    await operator.goto(`${demo.url}/ui/lineage/${encodeURIComponent(payment.txn)}`);
    await operator.getByRole('button', { name: 'Contain this transaction' }).click();
    await operator.getByText(/Revoke every warrant of/).waitFor();
    await operator.getByRole('button', { name: 'Confirm' }).click();
    await operator
      .getByTestId('contained')
      .filter({ hasText: /Contained: [1-9]\d* warrant/ })
      .waitFor();
    // The gateway learns of the revocation from the STS's feed within moments.
    let refusal: string | undefined;
    for (let i = 0; i < 50 && refusal === undefined; i++) {
      const r = await payment.quote();
      refusal = r.refusal?.code;
      if (refusal === undefined) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(refusal === 'WARRANT_TOKEN_REVOKED' || refusal === 'WARRANT_BREAKER_OPEN', refusal);
  });

  test('the operator approves the drifted tool definition', async () => {
    await operator.goto(`${demo.url}/ui/tools`);
    const query = operator.locator('[data-testid="tool"][data-tool="query"]');
    await query.waitFor();
    await assertLabelled(operator);
    assert.notEqual(await query.getAttribute('data-status'), 'approved');
    await shot(operator, '5-tools');
    await query.getByRole('button', { name: 'Approve definition' }).click();
    await query.getByRole('button', { name: 'Confirm' }).click();
    await operator.locator('[data-testid="tool"][data-tool="query"][data-status="approved"]').waitFor();
  });

  test('the agents page and the ledger page (checkpoint verified in the browser)', async () => {
    await operator.goto(`${demo.url}/ui/agents`);
    await operator.getByTestId('agent').first().waitFor();
    await assertLabelled(operator);
    await shot(operator, '6-agents');
    await operator.goto(`${demo.url}/ui/ledger`);
    await operator
      .getByTestId('ledger-browser')
      .filter({ hasText: /verified in this browser/ })
      .waitFor();
    assert.match((await operator.getByTestId('ledger-verification').textContent()) ?? '', /^verified/);
    await shot(operator, '7-ledger');
  });

  test('alice does not see the operator pages; bob sees none of her work', async () => {
    await alice.goto(`${demo.url}/ui/`);
    await alice.getByRole('link', { name: 'Approvals' }).waitFor();
    assert.equal(await alice.getByRole('link', { name: 'Agents' }).count(), 0);
    const bob = await (await browser.newContext()).newPage();
    watch(bob, errors);
    await bob.goto(`${demo.url}/ui/sign-in`);
    await bob.getByRole('link', { name: /Sign in with the dev identity provider/ }).click();
    await bob.getByLabel('Person (email)').fill('bob@example.org');
    await bob.getByRole('button', { name: 'Sign in' }).click();
    await bob.getByTestId('who').filter({ hasText: 'bob@example.org' }).waitFor();
    await bob.getByTestId('live-status').filter({ hasText: 'live' }).waitFor();
    await bob.getByText('No decisions yet.').waitFor();
    await bob.goto(`${demo.url}/ui/lineage/${encodeURIComponent(payment.txn)}`);
    await bob.getByRole('alert').filter({ hasText: 'WARRANT_NOT_FOUND' }).waitFor();
    await bob.context().close();
  });

  test('markup from agents (tool names and descriptions, parameters, task text) is shown as text, never run', async () => {
    const { guard } = demo.dev.controlPlane;
    const now = Math.floor(Date.now() / 1000);
    const evilTool = XSS(2);
    const definition = { name: evilTool, description: XSS(3), inputSchema: { type: 'object' } };
    await guard.pins.observe({
      route: '/demo/db',
      mode: 'approve',
      seen: [{ tool: evilTool, definition, digest: definitionDigest(definition) }],
      actor: 'gateway:test',
      now,
    });
    const person = { sub: 'alice@example.org', iss: demo.dev.controlPlane.devIdp!.issuer };
    const id = randomUUID();
    await guard.approvals.create(
      {
        id,
        person,
        caller: demo.world.agents.orchestrator.agentId,
        chain: [demo.world.agents.orchestrator.agentId, XSS(4)],
        txn: `txn_${XSS(5)}`,
        warrant: 'a'.repeat(43),
        action: `payments:${XSS(6)}`,
        resource: XSS(7),
        parameters: { to: XSS(8), [XSS(9)]: 1 },
        digest: 'b'.repeat(43),
        risk: 60,
        bound: 39,
        factors: [{ name: XSS(10), input: 'high', weight: 60, points: 60 }],
        addressedTo: personAddress(person),
        created: now,
        expires: now + 300,
      },
      'test',
    );
    await operator.goto(`${demo.url}/ui/tools`);
    const evil = operator.locator('[data-testid="tool"]').filter({ hasText: 'bold2' });
    await evil.waitFor();
    const row = (await evil.textContent()) ?? '';
    assert.ok(row.includes(evilTool) && row.includes(XSS(3)), 'the tool name and description shown as text');
    await alice.goto(`${demo.url}/ui/approvals`);
    const card = alice.locator(`[data-approval-id="${id}"]`);
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    for (const n of [4, 6, 7, 8, 9, 10]) assert.ok(text.includes(XSS(n)), `XSS(${n}) shown as text`);
    await shot(alice, '8-injected-markup');
    for (const page of [operator, alice]) {
      assert.equal(await page.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);
      assert.equal(
        await page.locator('main img, main script, main b').count(),
        0,
        'no element was made of it',
      );
    }
    await operator.goto(`${demo.url}/ui/`);
    await operator.getByTestId('decision-row').first().waitFor();
    assert.equal(await operator.locator('main img, main script, main b').count(), 0);
    assert.equal(await operator.evaluate(() => (globalThis as { __xss?: number }).__xss), undefined);
  });

  test('no script error and no CSP violation happened on any page', () => {
    assert.deepEqual(errors, []);
  });
});
