/**
 * The world the demo's story happens in: three upstreams on local ports (the customers database over
 * MCP, the CRM's notes over HTTP, the payments agent over A2A) behind gateway routes, a person (alice)
 * from a dev identity provider this STS trusts for this run only, and four agents.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningKey, type SigningKey } from '../core/jose/jwk.ts';
import { signCompact } from '../core/jose/jws.ts';
import type { GatewayRoute } from '../gateway/context.ts';
import type { RunningGateway } from '../gateway/start-gateway.ts';
import { ActionCatalog, type CatalogAction } from '../guard/catalog.ts';
import type { ControlPlane } from '../runtime/control-plane.ts';
import { AgentClient } from '../sdk/agent-client.ts';
import { type CrmNotes, crmNotes } from './crm-notes.ts';
import { type DatabaseMcp, databaseMcp } from './database-mcp.ts';
import { CRM_PREFIX, CRM_TOOL, DB_PREFIX, DB_TOOL, DEMO_CATALOG, PAYMENTS_PREFIX } from './demo-catalog.ts';
import { type PaymentsAgent, paymentsAgent } from './payments-a2a.ts';

export const ALICE = 'alice@example.org';
/** Who registered the demo's agents: not alice, so that she may approve what they ask. */
const OWNER = 'platform-team@example.org';
/** The dev identity provider's audience for people signing in to Warrant itself (approvals). */
const APPROVER_AUDIENCE = 'warrant-dev';

export interface DemoAgents {
  readonly orchestrator: AgentClient;
  readonly research: AgentClient;
  readonly payments: AgentClient;
}

export interface DemoWorld {
  readonly agents: DemoAgents;
  readonly db: DatabaseMcp;
  readonly crm: CrmNotes;
  readonly pay: PaymentsAgent;
  readonly gatewayUrl: string;
  /** A fresh ID token for alice addressed to the orchestrator (she signs in to it). */
  aliceSignsIn(): string;
  /** A fresh ID token for alice addressed to Warrant itself (she approves with it). */
  aliceApproves(): string;
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export async function buildWorld(
  plane: ControlPlane,
  gw: RunningGateway,
  trustDomain: string,
): Promise<DemoWorld> {
  const run = randomUUID().slice(0, 8);
  const db = databaseMcp();
  const crm = crmNotes();
  const registerAgent = async (
    name: string,
    allowedAudiences: string[],
    clientIds?: Record<string, string>,
  ) => {
    const key: SigningKey = generateSigningKey();
    const id = `spiffe://${trustDomain}/agent/demo-${name}-${run}`;
    await plane.store.agents.create({
      id,
      name: `demo-${name}-${run}`,
      owner: OWNER,
      tier: name === 'orchestrator' ? 'planner' : 'executor',
      trustLevel: 1,
      allowedAudiences,
      maxDepth: 5,
      publicJwk: { ...key.jwk },
      jkt: key.kid,
      ...(clientIds ? { clientIds } : {}),
    });
    return new AgentClient({ issuer: plane.sts.issuer, agentId: id, key });
  };

  // The dev identity provider: `warrant dev`'s (alice may then also sign in to the dashboard), else one
  // trusted by this STS only, for this run only.
  const idpKey = generateSigningKey('ES256');
  const devIdp = plane.devIdp;
  const idp = devIdp?.issuer ?? `${plane.url}/dev-idp/${run}`;
  if (!devIdp)
    await plane.store.issuers.put({
      issuer: idp,
      kind: 'oidc',
      audience: APPROVER_AUDIENCE,
      jwksUri: null,
      jwks: { keys: [{ ...idpKey.jwk }] },
      mapping: null,
      assertions: ['id_token'],
      maxAssertionAgeSeconds: null,
    });
  const orchestratorClientId = `demo-orchestrator-${run}`;
  const idToken = (aud: string) => {
    if (devIdp) return devIdp.idToken(ALICE, aud);
    const now = Math.floor(Date.now() / 1000);
    return signCompact(
      { typ: 'JWT' },
      { iss: idp, sub: ALICE, email: ALICE, aud, jti: randomUUID(), iat: now, exp: now + 300 },
      idpKey,
    );
  };

  const orchestrator = await registerAgent('orchestrator', [`spiffe://${trustDomain}/*`], {
    [idp]: orchestratorClientId,
  });
  const research = await registerAgent('research', ['https://tools.demo.warrant/*']);
  const payments = await registerAgent('payments', []);
  const pay = paymentsAgent(`${gw.url}${PAYMENTS_PREFIX}`);

  const servers = [await listen(db.handler), await listen(crm.handler), await listen(pay.handler)];
  const [dbServer, crmServer, payServer] = servers as [Server, Server, Server];
  const routes: GatewayRoute[] = [
    {
      match: { pathPrefix: DB_PREFIX },
      upstream: `${urlOf(dbServer)}/mcp`,
      audience: DB_TOOL,
      protocol: 'mcp',
      // Every tool definition is pinned: a tool is callable once an operator approved what it looks like.
      tools: { pinning: 'approve' },
    },
    { match: { pathPrefix: CRM_PREFIX }, upstream: urlOf(crmServer), audience: CRM_TOOL, protocol: 'http' },
    {
      match: { pathPrefix: PAYMENTS_PREFIX },
      upstream: urlOf(payServer),
      audience: payments.agentId,
      protocol: 'a2a',
    },
  ];
  const others = gw.gateway.routes.filter(
    (r) => ![DB_PREFIX, CRM_PREFIX, PAYMENTS_PREFIX].includes(r.match.pathPrefix),
  );
  // The configured catalog's actions stay; the demo's are added (entries carry compiled parts: strip them).
  const configured = gw.gateway.catalog.actions
    .filter((a) => !DEMO_CATALOG.some((d) => d.name === a.name))
    .map(({ compiled: _c, readsBody: _r, compensationValues: _v, ...action }) => action as CatalogAction);
  gw.gateway.reload({
    routes: [...others, ...routes],
    catalog: new ActionCatalog([...configured, ...DEMO_CATALOG]),
  });

  return {
    agents: { orchestrator, research, payments },
    db,
    crm,
    pay,
    gatewayUrl: gw.url,
    aliceSignsIn: () => idToken(orchestratorClientId),
    aliceApproves: () => idToken(APPROVER_AUDIENCE),
    close: async () => {
      for (const server of servers) await close(server);
    },
  };
}
