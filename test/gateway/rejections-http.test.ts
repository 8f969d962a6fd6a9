/**
 * Gateway rejections, the HTTP request itself (RFC 9112 §3.2): a request must carry exactly one Host and
 * an origin-form target, or it is refused 400 with its own code before anything else — even with valid
 * credentials — and nothing is recorded or forwarded. And the header limit follows the delegation depth:
 * a chain as deep as `sts.maxDepth` allows (15 here: 16 warrants, the longest a verifier accepts) passes
 * through the gateway.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { headerBytesForDepth } from '../../src/config/header-budget.ts';
import { MAX_CHAIN_LINKS } from '../../src/core/chain/verify-chain.ts';
import type { AgentClient } from '../../src/sdk/agent-client.ts';
import { CRM_CONTACTS_READ } from '../support/catalog-actions.ts';
import { type GatewayHarness, startGatewayHarness } from '../support/gateway-harness.ts';
import { agentIdOf } from '../support/sts-harness.ts';
import {
  claimsOf,
  decisionsSince,
  expectNoRecord,
  expectRefusal,
  hop,
  type Raw,
  rootWarrant,
  sleep,
  TOOLS,
  Upstreams,
  WIDE,
} from './rejections-support.ts';

const CRM = `${TOOLS}/crm`;
const MAX_DEPTH = 15;
const GRANTS = [
  { action: 'crm:*', resource: `${TOOLS}/*` },
  { action: 'agent:*', resource: 'spiffe://warrant.test/agent/*' },
];

const up = new Upstreams();
const dir = mkdtempSync(join(tmpdir(), 'warrant-http-'));
let h: GatewayHarness;
/** alice → a00 → a01 → … → a15 → the CRM tool: MAX_DEPTH + 1 warrants. */
const chain: string[] = [];
let last: AgentClient;

before(async () => {
  // The shipped delegation policy keeps chains at depth 4; this deployment allows the schema's deepest.
  const delegation = join(dir, 'delegation.cedar');
  writeFileSync(
    delegation,
    readFileSync('policies/delegation.cedar', 'utf8').replace(
      'context.depth > 4',
      `context.depth > ${MAX_DEPTH}`,
    ),
  );
  h = await startGatewayHarness({
    upstreams: { crm: up.handler('crm') },
    routes: (u) => [{ match: { pathPrefix: '/crm' }, upstream: u['crm']!, audience: CRM, protocol: 'http' }],
    catalog: [CRM_CONTACTS_READ],
    sts: { overrides: { sts: { maxDepth: MAX_DEPTH }, policy: { delegation } } },
  });
  const agents: AgentClient[] = [];
  const name = (i: number) => `a${String(i).padStart(2, '0')}`;
  for (let i = 0; i <= MAX_DEPTH; i++)
    agents.push(await h.sts.agent(name(i), { ...WIDE, maxDepth: MAX_DEPTH }));
  chain.push(await rootWarrant(h, agents[0]!, agentIdOf(name(1)), GRANTS));
  for (let i = 1; i < MAX_DEPTH; i++)
    chain.push(await hop(agents[i]!, chain.at(-1)!, agentIdOf(name(i + 1))));
  chain.push(await hop(agents[MAX_DEPTH]!, chain.at(-1)!, CRM));
  last = agents[MAX_DEPTH]!;
});

after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const leaf = () => chain.at(-1)!;
const port = () => Number(new URL(h.gw.url).port);

/** Writes `head` (request line and header lines, CRLF-separated, without the blank line) on a fresh socket. */
function send(head: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(port(), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [top, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = top!.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(`${head}\r\nConnection: close\r\n\r\n`);
  });
}

/** Valid credentials for `GET <path>` as the gateway sees it at its own address. */
function credentials(path: string): string {
  const proof = last.dpopProof('GET', `${h.gw.url}${path}`, leaf());
  return `Authorization: DPoP ${leaf()}\r\nDPoP: ${proof}`;
}

async function refusedBeforeAnything(head: string, code: string): Promise<void> {
  const hits = up.total;
  const records = h.decisions.records.length;
  const r = await send(head);
  await expectRefusal(r, { status: 400, error: 'invalid_request', code, secrets: [leaf()] });
  await sleep(20);
  assert.equal(up.total, hits, 'nothing forwarded');
  expectNoRecord(h, records);
}

test('the fixture is sound: a raw request with one Host and valid credentials is answered 200', async () => {
  const r = await send(
    `GET /crm/contacts/1 HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\n${credentials('/crm/contacts/1')}`,
  );
  assert.equal(r.status, 200, r.body);
});

test('two Host headers: 400 WARRANT_HOST_INVALID, even with valid credentials', async () => {
  await refusedBeforeAnything(
    `GET /crm/contacts/1 HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nHost: evil.example.com\r\n${credentials('/crm/contacts/1')}`,
    'WARRANT_HOST_INVALID',
  );
  await refusedBeforeAnything(
    `GET /crm/contacts/1 HTTP/1.1\r\nHost: evil.example.com\r\nHost: 127.0.0.1:${port()}\r\n${credentials('/crm/contacts/1')}`,
    'WARRANT_HOST_INVALID',
  );
});

test('no Host (HTTP/1.0) or a malformed one: 400 WARRANT_HOST_INVALID', async () => {
  await refusedBeforeAnything(
    `GET /crm/contacts/1 HTTP/1.0\r\n${credentials('/crm/contacts/1')}`,
    'WARRANT_HOST_INVALID',
  );
  await refusedBeforeAnything(
    `GET /crm/contacts/1 HTTP/1.1\r\nHost: user@127.0.0.1:${port()}\r\n${credentials('/crm/contacts/1')}`,
    'WARRANT_HOST_INVALID',
  );
});

test('an absolute-form target (GET http://other/x): 400 WARRANT_TARGET_INVALID, even naming the gateway itself', async () => {
  await refusedBeforeAnything(
    `GET http://other.example.com/crm/contacts/1 HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\n${credentials('/crm/contacts/1')}`,
    'WARRANT_TARGET_INVALID',
  );
  await refusedBeforeAnything(
    `GET ${h.gw.url}/crm/contacts/1 HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\n${credentials('/crm/contacts/1')}`,
    'WARRANT_TARGET_INVALID',
  );
  await refusedBeforeAnything(`OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:${port()}`, 'WARRANT_TARGET_INVALID');
});

test(`a chain of max_depth ${MAX_DEPTH} (${MAX_DEPTH + 1} warrants) passes through the gateway: the header limit follows the depth`, async () => {
  assert.equal(chain.length, MAX_DEPTH + 1);
  assert.equal(chain.length, MAX_CHAIN_LINKS, 'as long as a verifier accepts');
  assert.equal(claimsOf(leaf())['depth'], MAX_DEPTH);
  assert.equal(claimsOf(leaf())['max_depth'], MAX_DEPTH);
  const records = h.decisions.records.length;
  const hits = up.hits['crm']!;
  const r = await h.call(last, leaf(), '/crm/contacts/7', { chain });
  assert.equal(r.status, 200, await r.text());
  assert.equal(up.hits['crm'], hits + 1);
  const [decision] = decisionsSince(h, records);
  assert.equal(decision?.decision, 'allow');
  assert.equal(decision?.chain?.length, MAX_DEPTH + 1, 'every link recorded');
  const limit = h.sts.config.gateway.limits.maxHeaderBytes;
  assert.equal(limit, headerBytesForDepth(MAX_DEPTH), 'the default limit is derived from sts.maxDepth');
  const size = chain.join(', ').length + leaf().length;
  assert.ok(size > 16384, `the chain (${size} bytes) is larger than the former fixed limit`);
});
