/**
 * The scenes of the demo's story, in order. Each does real work through the STS, the gateway and the
 * protocol SDKs, and narrates what was allowed or refused, for whom, and why.
 */
import { Message } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { generateSigningKey } from '../core/jose/jwk.ts';
import { AgentClient, StsRequestError, TOKEN_TYPES } from '../sdk/agent-client.ts';
import { CRM_PREFIX, CRM_TOOL, DB_PREFIX, DB_TOOL, PAYMENTS_PREFIX } from './demo-catalog.ts';
import { DEMO_TXN_CALLS_PER_MINUTE } from './demo-config.ts';
import { ALICE, type DemoWorld } from './demo-world.ts';
import {
  type Chain,
  claimsOf,
  type PresentingFetch,
  presentingFetch,
  type Refusal,
  refusalOf,
  type SentRequest,
} from './gateway-fetch.ts';
import type { Narrator } from './narrator.ts';
import type { AdminApi } from './run-demo.ts';

/** What the story carries from scene to scene. */
export interface Story {
  readonly txn: string;
  /** alice → orchestrator (the root warrant). */
  readonly root: string;
  /** orchestrator → research: the narrowed task. */
  readonly task: string;
  /** research → the database, and research → the CRM. */
  readonly db: string;
  readonly crm: string;
  /** A request the research agent sent, as an eavesdropper could have captured it. */
  captured?: SentRequest;
}

/** Every tool of the demo (the audiences its tool routes have). */
const TOOLS = 'https://tools.demo.warrant/*';
/** Every agent of the orchestrator's trust domain. */
const agentsOf = (agent: AgentClient) => `${agent.agentId.split('/agent/')[0]}/*`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a protocol call; a refusal (thrown by the SDK or answered in the body) comes back as such. */
async function attempt<T>(
  via: PresentingFetch,
  call: () => Promise<T>,
): Promise<{ ok: T; refusal?: undefined } | { ok?: undefined; refusal: Refusal }> {
  try {
    const ok = await call();
    const refusal = await refusalOf(via.last());
    return refusal ? { refusal } : { ok };
  } catch (error) {
    const refusal = await refusalOf(via.last());
    if (refusal) return { refusal };
    throw error;
  }
}

async function stsRefusal(call: () => Promise<unknown>): Promise<{ code: string; why: string }> {
  try {
    await call();
  } catch (error) {
    if (error instanceof StsRequestError) return { code: error.code ?? error.error, why: error.message };
    throw error;
  }
  throw new Error('the STS issued a warrant the demo expected it to refuse');
}

async function mcpClient(world: DemoWorld, via: PresentingFetch): Promise<Client> {
  const client = new Client({ name: 'research-agent', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${world.gatewayUrl}${DB_PREFIX}`), { fetch: via.fetch }),
  );
  return client;
}

const textOf = (result: unknown): string =>
  ((result as { content?: { type: string; text?: string }[] }).content ?? [])
    .map((c) => c.text ?? '')
    .join('');

const grantsOf = (token: string): string =>
  ((claimsOf(token)['grants'] as { action: string }[] | undefined) ?? []).map((g) => g.action).join(', ');

/** Scene 1–2: alice asks the orchestrator; it hands the research agent a narrower task. */
export async function delegate(n: Narrator, world: DemoWorld): Promise<Story> {
  const { orchestrator, research, payments } = world.agents;
  n.scene('alice asks the orchestrator to brief her on enterprise customers and pay an invoice');
  const root = await orchestrator.exchange({
    subjectToken: world.aliceSignsIn(),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: orchestrator.agentId,
    grants: [
      { action: 'db:*', resource: DB_TOOL },
      { action: 'crm:notes.*', resource: CRM_TOOL },
      { action: 'payments:*', resource: payments.agentId },
    ],
    task: 'brief alice on enterprise customers; pay the Acme invoice',
    delegateTo: [agentsOf(orchestrator), TOOLS],
  });
  const txn = String(claimsOf(root.access_token)['txn']);
  n.allowed(`the STS gives the orchestrator a warrant on behalf of ${ALICE}: ${grantsOf(root.access_token)}`);
  n.note(`it opens transaction ${txn}: every later hop and call carries it`);

  n.scene('the orchestrator hands the research agent a narrower task (delegation: scope only narrows)');
  const task = await orchestrator.exchange({
    subjectToken: root.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: research.agentId,
    grants: [
      { action: 'db:customers.query', resource: DB_TOOL },
      { action: 'crm:notes.create', resource: CRM_TOOL },
    ],
    task: 'summarise the enterprise customers into a CRM note',
    // The research agent may pass its task on to tools only, never to another agent.
    delegateTo: [TOOLS],
  });
  n.allowed(`research agent, for ${ALICE} via the orchestrator: ${grantsOf(task.access_token)} only`);
  const db = await research.exchange({
    subjectToken: task.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: DB_TOOL,
  });
  const crm = await research.exchange({
    subjectToken: task.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: CRM_TOOL,
  });
  n.note('the research agent exchanges it for one warrant per tool it will call (DPoP-bound to its key)');
  return {
    txn,
    root: root.access_token,
    task: task.access_token,
    db: db.access_token,
    crm: crm.access_token,
  };
}

interface PinItem {
  readonly tool: string;
  readonly status: string;
  readonly seenDigest?: string;
}

/** Scene 3–4: the operator approves the database tool's definitions; research queries it and files a note. */
export async function research(n: Narrator, world: DemoWorld, story: Story, admin: AdminApi): Promise<void> {
  const agent = world.agents.research;
  const chain: Chain = () => [story.root, story.task, story.db];
  n.scene('the research agent queries the customers database over MCP, through the gateway');
  const via = presentingFetch(agent, chain);
  let client = await mcpClient(world, via);
  const first = (await client.listTools()).tools.map((t) => t.name);
  n.note(
    `tools/list shows ${first.length === 0 ? 'no tools' : first.join(', ')}: the route pins tool definitions, and hides a tool until an operator approves what it looks like`,
  );
  const pins = (await (await admin('GET', `/tools?route=${encodeURIComponent(DB_PREFIX)}`)).json()) as {
    items: PinItem[];
  };
  for (const item of pins.items) {
    if (item.status === 'approved' || item.seenDigest === undefined) continue;
    const r = await admin('POST', '/tools/approve', {
      route: DB_PREFIX,
      tool: item.tool,
      digest: item.seenDigest,
      reason: 'demo: reviewed the first definitions',
    });
    if (!r.ok) throw new Error(`approving ${item.tool} failed: ${r.status} ${await r.text()}`);
    n.note(`the operator reviews and approves tool "${item.tool}" (${item.seenDigest.slice(0, 19)}…)`);
  }
  await client.close();
  client = await mcpClient(world, via);
  const listed = (await client.listTools()).tools.map((t) => t.name);
  n.note(`tools/list now shows: ${listed.join(', ')} (only what the research agent's grants cover)`);
  const result = await attempt(via, () =>
    client.callTool({ name: 'query', arguments: { segment: 'enterprise' } }),
  );
  if (!result.ok)
    throw new Error(`the query was refused: ${result.refusal.code} ${result.refusal.description}`);
  story.captured = via.sent();
  const rows = JSON.parse(textOf(result.ok) || '[]') as { name: string }[];
  n.allowed(
    `research → database: db:customers.query for ${ALICE} (chain alice → orchestrator → research); ${rows.length} rows: ${rows.map((r) => r.name).join(', ')}`,
  );
  await client.close();

  n.scene('the research agent files its summary as a CRM note (plain HTTP, reversible)');
  const crm = presentingFetch(agent, () => [story.root, story.task, story.crm]);
  const note = await crm.fetch(`${world.gatewayUrl}${CRM_PREFIX}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: `enterprise customers: ${rows.map((r) => r.name).join(', ')}` }),
  });
  if (note.status !== 201) throw new Error(`filing the note failed: ${note.status} ${await note.text()}`);
  const { id } = (await note.json()) as { id: string };
  n.allowed(
    `research → CRM: crm:notes.create for ${ALICE}; note ${id} filed (the gateway keeps its id to undo it)`,
  );
}

function userMessage(text: string, metadata: Record<string, unknown>): Message {
  return Message.fromJSON({ messageId: crypto.randomUUID(), role: 'ROLE_USER', parts: [{ text }], metadata });
}

const replyOf = (result: unknown): string =>
  ((result as { parts?: { content?: { $case?: string; value?: unknown } }[] }).parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? String(p.content.value) : ''))
    .join('');

/** Scene 5: a payment over A2A above the agent's bound needs alice's approval, and gets it. */
export async function payWithApproval(
  n: Narrator,
  world: DemoWorld,
  story: Story,
  stsUrl: string,
): Promise<void> {
  const { orchestrator, payments } = world.agents;
  n.scene('the orchestrator asks the payments agent (A2A) to pay Acme: bounded autonomy asks alice first');
  const pay = await orchestrator.exchange({
    subjectToken: story.root,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: payments.agentId,
  });
  let presented = pay.access_token;
  const via = presentingFetch(orchestrator, () => [story.root, presented]);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: via.fetch })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: via.fetch }),
    }),
  );
  const client = await factory.createFromUrl(`${world.gatewayUrl}${PAYMENTS_PREFIX}/`);
  const send = (message: Message) => attempt(via, () => client.sendMessage({ message } as never));

  const quote = await send(
    userMessage('quote the Acme invoice', { skill: 'quote', amount: 2400, to: 'acme' }),
  );
  if (!quote.ok) throw new Error(`the quote was refused: ${quote.refusal.code}`);
  n.allowed(
    `orchestrator → payments: payments:quote for ${ALICE} (low risk, within its bound): "${replyOf(quote.ok)}"`,
  );

  const transfer = userMessage('pay the Acme invoice', { skill: 'transfer', amount: 2400, to: 'acme' });
  const asked = await send(transfer);
  if (asked.ok || asked.refusal.approvalId === undefined)
    throw new Error(`the transfer did not ask for approval: ${asked.refusal?.code ?? 'allowed'}`);
  n.refused(
    'orchestrator → payments: payments:transfer 2400 EUR',
    asked.refusal.code,
    "high impact: risk above a new agent's bound",
  );
  n.note(`nothing was sent to the payments agent; approval ${asked.refusal.approvalId} waits for ${ALICE}`);

  const decided = await fetch(`${stsUrl}/approvals/${asked.refusal.approvalId}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${world.aliceApproves()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'yes, that invoice is due' }),
  });
  if (!decided.ok) throw new Error(`alice could not approve: ${decided.status} ${await decided.text()}`);
  n.allowed(`${ALICE} approves it with her own sign-in (POST /approvals/{id}/approve)`);

  const approved = await orchestrator.exchange({
    subjectToken: pay.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: payments.agentId,
    extra: { approval_id: asked.refusal.approvalId },
  });
  presented = approved.access_token;
  n.note(
    'the orchestrator exchanges its warrant naming the approval: a short-lived warrant for exactly that call',
  );
  const paid = await send(transfer);
  if (!paid.ok)
    throw new Error(`the approved transfer was refused: ${paid.refusal.code} ${paid.refusal.description}`);
  n.allowed(`orchestrator → payments: payments:transfer with alice's approval: "${replyOf(paid.ok)}"`);
  const again = await send(transfer);
  n.refused(
    'the same approved transfer sent a second time',
    again.refusal?.code ?? 'ALLOWED?!',
    'an approval is spent by one call',
  );
}

/** Scene 6: a compromised research agent tries to widen its scope and to replay; both are refused. */
export async function compromise(n: Narrator, world: DemoWorld, story: Story): Promise<void> {
  const { research, payments } = world.agents;
  n.scene('the research agent is compromised (a prompt injection) and reaches for more');
  const widen = await stsRefusal(() =>
    research.exchange({
      subjectToken: story.task,
      subjectTokenType: TOKEN_TYPES.warrant,
      audience: DB_TOOL,
      grants: [{ action: 'db:*', resource: DB_TOOL }],
    }),
  );
  n.refused(
    'at the STS: research asks for db:* (every database action) instead of db:customers.query',
    widen.code,
    'a hop can only narrow',
  );
  const payments_ = await stsRefusal(() =>
    research.exchange({
      subjectToken: story.task,
      subjectTokenType: TOKEN_TYPES.warrant,
      audience: payments.agentId,
    }),
  );
  n.refused(
    'at the STS: research asks for a warrant to the payments agent',
    payments_.code,
    'not an audience it may reach',
  );

  const captured = story.captured;
  if (captured === undefined) throw new Error('no request was captured');
  const replay = await fetch(captured.url, {
    method: captured.method,
    headers: captured.headers,
    body: captured.body ?? null,
  });
  const replayed = await refusalOf(replay);
  n.refused(
    "at the gateway: an eavesdropper replays the research agent's captured query, proof and all",
    replayed?.code ?? `HTTP ${replay.status}`,
    'a DPoP proof is single-use',
  );

  const mallory = new AgentClient({
    issuer: research.issuer,
    agentId: research.agentId,
    key: generateSigningKey(),
  });
  const stolen = presentingFetch(mallory, () => [story.root, story.task, story.db]);
  const taken = await attempt(stolen, () => mcpClient(world, stolen));
  if (taken.ok) await taken.ok.close();
  n.refused(
    "at the gateway: the stolen warrant, presented with the thief's own key",
    taken.refusal?.code ?? 'ALLOWED?!',
    "the warrant is bound to the research agent's key",
  );
}

/** Scene 7: the database tool changes its definition; the gateway quarantines it. */
export async function quarantine(
  n: Narrator,
  world: DemoWorld,
  story: Story,
  admin: AdminApi,
): Promise<void> {
  n.scene('the database server changes the "query" tool\'s definition (a rug pull)');
  world.db.poison();
  const via = presentingFetch(world.agents.research, () => [story.root, story.task, story.db]);
  const client = await mcpClient(world, via);
  const listed = (await client.listTools()).tools.map((t) => t.name);
  n.note(
    `tools/list now shows: ${listed.length === 0 ? 'nothing' : listed.join(', ')} ("query" is hidden: its definition no longer matches the approved one)`,
  );
  const call = await attempt(via, () => client.callTool({ name: 'query', arguments: { segment: 'smb' } }));
  n.refused(
    'research → database: db:customers.query',
    call.refusal?.code ?? 'ALLOWED?!',
    'quarantined until an operator reviews the change',
  );
  await client.close();
  const drift = (await (
    await admin('GET', `/tools?route=${encodeURIComponent(DB_PREFIX)}&tool=query`)
  ).json()) as { drift?: { changed: string[] }[] };
  n.note(
    `the operator sees the drift: changed ${drift.drift?.[0]?.changed.join(', ') ?? '?'} (warrant tools list --route ${DB_PREFIX})`,
  );
}

/** Scene 8: a runaway loop (another request of alice's) trips its transaction's breaker. */
export async function loop(n: Narrator, world: DemoWorld): Promise<void> {
  const { orchestrator, research } = world.agents;
  n.scene("another of alice's requests sends the research agent into a runaway loop");
  const root = await orchestrator.exchange({
    subjectToken: world.aliceSignsIn(),
    subjectTokenType: TOKEN_TYPES.idToken,
    audience: orchestrator.agentId,
    grants: [{ action: 'db:customers.count', resource: DB_TOOL }],
    task: 'count enterprise customers',
    delegateTo: [agentsOf(orchestrator), TOOLS],
  });
  const task = await orchestrator.exchange({
    subjectToken: root.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: research.agentId,
    delegateTo: [TOOLS],
  });
  const db = await research.exchange({
    subjectToken: task.access_token,
    subjectTokenType: TOKEN_TYPES.warrant,
    audience: DB_TOOL,
  });
  const via = presentingFetch(research, () => [root.access_token, task.access_token, db.access_token]);
  const client = await mcpClient(world, via);
  let calls = 0;
  let refusal: Refusal | undefined;
  for (; calls < DEMO_TXN_CALLS_PER_MINUTE * 3 && refusal === undefined; calls++) {
    const r = await attempt(via, () =>
      client.callTool({ name: 'count', arguments: { segment: 'enterprise' } }),
    );
    refusal = r.refusal;
  }
  await client.close();
  n.note(
    `transaction ${String(claimsOf(root.access_token)['txn'])}: the agent calls db:customers.count again and again`,
  );
  n.refused(`call ${calls}`, refusal?.code ?? 'never refused?!', refusal?.description);
  n.note(
    'every further call of that transaction is refused until the cooldown ends or an operator resets it',
  );
}

interface ContainAnswer {
  readonly revoked: number;
  readonly steps: { step: string; outcome: string; action?: string; detail: Record<string, unknown> }[];
  readonly summary: { compensated: number; manual: number; breakersTripped: number };
}

/** Scene 9: the operator contains the transaction; the reversible action is rolled back. */
export async function rollBack(n: Narrator, world: DemoWorld, story: Story, admin: AdminApi): Promise<void> {
  n.scene(`the operator contains transaction ${story.txn} (warrant contain --txn …)`);
  const r = await admin('POST', '/contain', { txn: story.txn });
  if (!r.ok) throw new Error(`contain failed: ${r.status} ${await r.text()}`);
  const result = (await r.json()) as ContainAnswer;
  n.note(`revoked ${result.revoked} live warrants (the whole delegation tree under alice's request)`);
  n.note(`tripped ${result.summary.breakersTripped} breaker(s): the transaction's`);
  for (const step of result.steps.filter((s) => s.step === 'compensate'))
    n.note(
      `rolled back ${step.action}: ${String(step.detail['method'] ?? '')} ${String(step.detail['url'] ?? '')} → ${step.outcome}`,
    );
  const manual = new Map<string, number>();
  // Protocol housekeeping (MCP initialize, tools/list) names no action: nothing to undo or review.
  for (const step of result.steps.filter(
    (s) => s.step === 'manual' && s.action !== undefined && s.action !== '(none)',
  ))
    manual.set(step.action!, (manual.get(step.action!) ?? 0) + 1);
  if (manual.size > 0)
    n.note(
      `left for a person to review (no automatic undo): ${[...manual].map(([a, k]) => (k > 1 ? `${a} ×${k}` : a)).join(', ')}`,
    );
  n.note(
    `the CRM now holds ${world.crm.notes.size} notes (rolled back: ${world.crm.rolledBack.join(', ') || 'none'})`,
  );

  // The gateway learns of the revocation from the STS's feed: within moments, not at once.
  const via = presentingFetch(world.agents.research, () => [story.root, story.task, story.db]);
  let refusal: Refusal | undefined;
  for (let i = 0; i < 50 && refusal?.code !== 'WARRANT_TOKEN_REVOKED'; i++) {
    const r = await attempt(via, () => mcpClient(world, via));
    if (r.ok) await r.ok.close();
    refusal = r.refusal;
    if (refusal?.code !== 'WARRANT_TOKEN_REVOKED') await sleep(100);
  }
  n.refused(
    'research → database, any call of the contained transaction',
    refusal?.code ?? 'ALLOWED?!',
    'its warrants are revoked',
  );
}
