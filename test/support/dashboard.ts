/**
 * What the dashboard tests share: `warrant dev --demo` in this process (the demo's world kept running so a
 * test can drive its agents on), signing in to the dashboard over plain HTTP (an operator with the admin
 * credential; a person through the dev identity provider's authorization code flow with PKCE, as a browser
 * would follow it), and a payment of alice's that waits for her approval.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { loadConfig } from '../../src/config/load-config.ts';
import { PAYMENTS_PREFIX } from '../../src/demo/demo-catalog.ts';
import type { DemoWorld } from '../../src/demo/demo-world.ts';
import { claimsOf, presentingFetch, type Refusal, refusalOf } from '../../src/demo/gateway-fetch.ts';
import { type Dev, startDev } from '../../src/runtime/dev.ts';
import { TOKEN_TYPES } from '../../src/sdk/agent-client.ts';
import { createLogger } from '../../src/telemetry/index.ts';

export const ADMIN_TOKEN = 'dashboard-admin-token-0123456789abcdef';

export interface DemoDashboard {
  readonly dev: Dev;
  readonly url: string;
  readonly world: DemoWorld;
  close(): Promise<void>;
}

export async function startDemoDashboard(): Promise<DemoDashboard> {
  const dir = mkdtempSync(join(tmpdir(), 'warrant-dashboard-'));
  const config = loadConfig(undefined, {
    dataDir: join(dir, 'data'),
    sts: { listen: { host: '127.0.0.1', port: 0 } },
    gateway: { listen: { host: '127.0.0.1', port: 0 } },
  });
  const dev = await startDev(config, {
    adminToken: ADMIN_TOKEN,
    demo: true,
    logger: createLogger({ service: 'sts', level: 'silent' }),
  });
  return {
    dev,
    url: dev.controlPlane.url,
    world: dev.demoWorld!,
    async close() {
      await dev.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A signed-in session: its cookie header and CSRF token. */
export interface Signed {
  readonly cookie: string;
  readonly csrf: string;
}

const cookieOf = (response: Response, name: string): string => {
  for (const c of response.headers.getSetCookie()) if (c.startsWith(`${name}=`)) return c.split(';')[0]!;
  throw new Error(`no ${name} cookie (status ${response.status})`);
};

async function csrfOf(url: string, cookie: string): Promise<string> {
  const me = await fetch(`${url}/ui/api/me`, { headers: { cookie } });
  if (!me.ok) throw new Error(`/ui/api/me answered ${me.status}`);
  return ((await me.json()) as { csrf: string }).csrf;
}

export async function signInOperator(url: string): Promise<Signed> {
  const r = await fetch(`${url}/ui/auth/operator`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ token: ADMIN_TOKEN }),
  });
  if (!r.ok) throw new Error(`operator sign-in answered ${r.status}`);
  const cookie = cookieOf(r, 'warrant_ui');
  return { cookie, csrf: await csrfOf(url, cookie) };
}

/** A person's sign-in through the dev identity provider: authorization code + PKCE, redirects followed by hand. */
export async function signInPerson(url: string, login: string): Promise<Signed> {
  const start = await fetch(`${url}/ui/auth/oidc`, { redirect: 'manual' });
  const loginCookie = cookieOf(start, 'warrant_ui_login');
  const authorize = new URL(start.headers.get('location')!);
  const form = new URLSearchParams(authorize.searchParams);
  form.set('login', login);
  const code = await fetch(`${authorize.origin}${authorize.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
    redirect: 'manual',
  });
  const callback = code.headers.get('location');
  if (callback === null) throw new Error(`the provider answered ${code.status}: ${await code.text()}`);
  const done = await fetch(callback, { headers: { cookie: loginCookie }, redirect: 'manual' });
  if (done.status !== 200) throw new Error(`the callback answered ${done.status}: ${await done.text()}`);
  const cookie = cookieOf(done, 'warrant_ui');
  return { cookie, csrf: await csrfOf(url, cookie) };
}

export function api(url: string, who: Signed | undefined) {
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/ui/api${path}`, {
      method,
      headers: {
        ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}),
        ...(method === 'GET' ? {} : { origin: url, 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}

/** A transfer alice's (or another person's, by `idToken`) orchestrator asks the payments agent for (A2A), in a new transaction. */
export interface PendingPayment {
  readonly txn: string;
  readonly approvalId: string;
  /** Exchanges the warrant naming the approval and sends the transfer again: the call's answer. */
  sendApproved(): Promise<{ ok: boolean; refusal?: Refusal }>;
  /** Sends the transfer with the warrant held before the approval (the approval is not named). */
  sendAgain(): Promise<{ ok: boolean; refusal?: Refusal }>;
  /** Asks the payments agent for a quote (low risk: allowed while the transaction is not contained). */
  quote(): Promise<{ ok: boolean; refusal?: Refusal }>;
}

export async function pendingPayment(
  world: DemoWorld,
  amount = 1800,
  idToken = world.aliceSignsIn(),
  { task = 'pay the Globex invoice', to = 'globex' }: { task?: string; to?: string } = {},
): Promise<PendingPayment> {
  const { orchestrator, payments } = world.agents;
  const root = await orchestrator.exchange({
    subjectToken: idToken,
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: orchestrator.agentId,
    grants: [{ action: 'payments:*', resource: payments.agentId }],
    task,
    delegateTo: [`${orchestrator.agentId.split('/agent/')[0]}/*`],
  });
  const txn = String(claimsOf(root.access_token)['txn']);
  const pay = await orchestrator.exchange({
    subjectToken: root.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: payments.agentId,
  });
  let presented = pay.access_token;
  const via = presentingFetch(orchestrator, () => [root.access_token, presented]);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: via.fetch })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: via.fetch }),
    }),
  );
  const client = await factory.createFromUrl(`${world.gatewayUrl}${PAYMENTS_PREFIX}/`);
  const message = (skill: string) =>
    Message.fromJSON({
      messageId: crypto.randomUUID(),
      role: 'ROLE_USER',
      parts: [{ text: 'pay the Globex invoice' }],
      metadata: { skill, amount, to },
    });
  const send = async (skill = 'transfer'): Promise<{ ok: boolean; refusal?: Refusal }> => {
    try {
      await client.sendMessage({ message: message(skill) } as never);
    } catch {
      // The SDK throws on a refusal; the answer says which.
    }
    const refusal = await refusalOf(via.last());
    return refusal ? { ok: false, refusal } : { ok: true };
  };
  const asked = await send();
  if (asked.ok || asked.refusal?.approvalId === undefined)
    throw new Error(`the transfer did not ask for approval: ${asked.refusal?.code ?? 'allowed'}`);
  const approvalId = asked.refusal.approvalId;
  return {
    txn,
    approvalId,
    async sendApproved() {
      const approved = await orchestrator.exchange({
        subjectToken: pay.access_token,
        subjectTokenType: TOKEN_TYPES.warrant,
        audience: payments.agentId,
        extra: { approval_id: approvalId },
      });
      presented = approved.access_token;
      return send();
    },
    sendAgain: () => send(),
    quote() {
      presented = pay.access_token;
      return send('quote');
    },
  };
}

/** An ID token for `sub` from the dev identity provider, addressed to the demo's orchestrator (its sign-in). */
export async function signsInToOrchestrator(demo: DemoDashboard, sub: string): Promise<string> {
  const idp = demo.dev.controlPlane.devIdp!;
  const agent = await demo.dev.controlPlane.store.agents.get(demo.world.agents.orchestrator.agentId);
  return idp.idToken(sub, agent!.clientIds[idp.issuer]!);
}
